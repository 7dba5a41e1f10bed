"""Lifecycle of a local Spark Connect server run from the pip-installed pyspark.

The pyspark wheel ships the Spark Connect jar but not `sbin/start-connect-server.sh`.
We run `spark-submit spark_client/server/driver/connect_main.py`: a driver with Spark's
Connect plugin, whose sessions share generated code (see that module), in its own
process group, with logs and a pid file under the data directory. Once it answers,
`warm` runs a few analyses on it (spark_client.server.warm_up).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from spark_client.errors import SparkServerError
from spark_client.server.session import port_answers
from spark_client.types import EngineOptions

logger = logging.getLogger(__name__)

# In a directory of its own: run as a script, its directory comes first on sys.path,
# where a module of ours (say a `types.py`) would shadow the standard library's.
CONNECT_MAIN = Path(__file__).with_name("driver") / "connect_main.py"
# Spark compiles a whole stage of the query into one Java method; with the
# normalisation rules of every format those methods pass HotSpot's 8000-byte
# limit, and HotSpot then leaves them interpreted, several times slower per row.
# Letting it compile them costs a little warm-up time and nothing after.
JAVA_OPTIONS = "-Duser.timezone=UTC -Duser.language=en -Duser.country=US -XX:-DontCompileHugeMethods"
TOKEN_ENV = "SPARK_CONNECT_AUTHENTICATE_TOKEN"  # noqa: S105 - a variable name, not a secret


@dataclass(frozen=True)
class LocalServerConfig:
    run_dir: Path
    host: str = "127.0.0.1"
    port: int = 15002
    master: str = "local[*]"
    driver_memory: str = "4g"
    ui_enabled: bool = False
    ui_port: int = 4040
    startup_timeout: float = 120.0
    conf: dict[str, str] = field(default_factory=dict)
    # What the analyses' sessions set (see session.connect); the warm-up uses the
    # same, so it compiles the plans the analyses will run.
    session_conf: dict[str, str] = field(default_factory=lambda: {"spark.sql.session.timeZone": "UTC"})
    partitions_per_core: int = 0
    token: str | None = None
    name: str = "connect-server"
    # Once the server answers, a few small analyses run with these options, then
    # (if warm_up_lines > 0) a CSV and a log4j file of that many lines, so the JIT
    # has optimised the per-row code before the first user's analysis (see
    # server.warm_up). They must be the options analyses run with, built from
    # config.yaml (analyses.engine_config). None: no warm-up.
    warm_up_options: EngineOptions | None = None
    warm_up_lines: int = 0
    warm_up_store_lines: bool = False  # as analyses do (config analytics.store_lines)

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.run_dir / f"{self.name}.log"


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    answering: bool
    address: str
    log_file: Path

    def describe(self) -> str:
        if self.answering and self.pid:
            return f"running (pid {self.pid}) at sc://{self.address}, log {self.log_file}"
        if self.answering:
            return f"something answers at {self.address} (not started by us)"
        if self.pid:
            return f"process {self.pid} alive but {self.address} does not answer yet; log {self.log_file}"
        return "stopped"


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def java_major_version() -> int | None:
    java = shutil.which("java", path=_java_path())
    if not java:
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


def _java_path() -> str:
    java_home = os.environ.get("JAVA_HOME")
    path = os.environ.get("PATH", "")
    return f"{java_home}/bin:{path}" if java_home else path


def require_java() -> None:
    major = java_major_version()
    if major is None:
        raise SparkServerError(
            "Java was not found. Spark needs Java 17 or 21: install it with "
            "`sudo apt-get install -y openjdk-17-jre-headless` (Debian/Ubuntu) or set JAVA_HOME."
        )
    if major < 17:
        raise SparkServerError(
            f"Java {major} found, but Spark 4 needs Java 17 or 21: "
            "`sudo apt-get install -y openjdk-17-jre-headless`, or set JAVA_HOME to a newer JDK."
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def pid_read(pid_file: Path) -> int | None:
    """The pid in `pid_file` if that process is alive (a zombie counts as gone)."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    # A zombie child of ours counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        if state == "Z":
            return None
    except OSError:
        pass
    return pid


def _read_pid(cfg: LocalServerConfig) -> int | None:
    return pid_read(cfg.pid_file)


def status(cfg: LocalServerConfig) -> ServerStatus:
    pid = _read_pid(cfg)
    answering = port_answers(cfg.host, cfg.port, timeout=1.0)
    return ServerStatus(
        running=bool(pid) or answering,
        pid=pid,
        answering=answering,
        address=f"{cfg.host}:{cfg.port}",
        log_file=cfg.log_file,
    )


def command(cfg: LocalServerConfig) -> list[str]:
    home = spark_home()
    conf = {
        "spark.connect.grpc.binding.address": cfg.host,
        "spark.connect.grpc.binding.port": str(cfg.port),
        "spark.driver.host": "127.0.0.1" if _is_loopback(cfg.host) else cfg.host,
        # Off loopback the driver must be reachable by cluster executors.
        "spark.driver.bindAddress": "127.0.0.1" if _is_loopback(cfg.host) else "0.0.0.0",  # noqa: S104
        "spark.ui.enabled": "true" if cfg.ui_enabled else "false",
        "spark.ui.port": str(cfg.ui_port),
        "spark.local.dir": str(cfg.run_dir / "tmp"),
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": JAVA_OPTIONS,
        "spark.executor.extraJavaOptions": JAVA_OPTIONS,
        # The standalone master's REST submission port is unauthenticated.
        "spark.master.rest.enabled": "false",
        # Static, read by the Python client: without it pyspark inspects the Python
        # stack on every DataFrame and Column call of an analysis plan to decorate
        # error messages with user code locations; ours are the engine's.
        "spark.python.sql.dataFrameDebugging.enabled": "false",
        # Compiled query code is cached by its source; an analysis' query is dozens
        # of classes, different per input format and per option set. Spark's 100
        # entries held one query's code: any other query in between (another
        # format, a report) evicted it, and the next analysis compiled and
        # JIT-warmed it again.
        "spark.sql.codegen.cache.maxEntries": "2000",
    }
    conf.update({k: str(v) for k, v in cfg.conf.items()})
    args = [
        str(home / "bin" / "spark-submit"),
        "--name",
        "logplatform Spark Connect server",
        "--master",
        cfg.master,
        "--driver-memory",
        cfg.driver_memory,
    ]
    for key, value in conf.items():
        args += ["--conf", f"{key}={value}"]
    args.append(str(CONNECT_MAIN))
    return args


def start(cfg: LocalServerConfig) -> ServerStatus:
    """Start the server unless it already answers; wait until its port answers."""
    # Before anything else: a server off loopback without a token must not be
    # started, nor adopted because something already answers on that address.
    if not _is_loopback(cfg.host) and not cfg.token:
        raise SparkServerError(
            f"Refusing to bind the Spark Connect server to {cfg.host} without a token: "
            f"set SPARK_CONNECT_TOKEN, or bind it to 127.0.0.1."
        )
    current = status(cfg)
    if current.answering:
        return current
    if current.pid:
        # Started earlier and still coming up: just wait for it.
        return _wait_until_answering(cfg, current.pid, None)
    require_java()
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    (cfg.run_dir / "tmp").mkdir(exist_ok=True)
    env = dict(os.environ)
    env["SPARK_HOME"] = str(spark_home())
    env["SPARK_LOG_DIR"] = str(cfg.run_dir)
    env["SPARK_LOCAL_IP"] = "127.0.0.1" if _is_loopback(cfg.host) else cfg.host
    # The driver program is Python: this interpreter, which has pyspark.
    env["PYSPARK_PYTHON"] = env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    env.pop(TOKEN_ENV, None)
    if cfg.token:
        env[TOKEN_ENV] = cfg.token
    log = cfg.log_file.open("ab")
    try:
        proc = subprocess.Popen(
            command(cfg),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cfg.run_dir,
            start_new_session=True,
        )
    finally:
        log.close()
    cfg.pid_file.write_text(str(proc.pid))
    answering = _wait_until_answering(cfg, proc.pid, proc)
    if cfg.warm_up_options is not None:
        warm(cfg)
    return answering


def warm(cfg: LocalServerConfig) -> float | None:
    """Warm a server we just started with `cfg.warm_up_options`; returns seconds.
    A failure here only costs the first user time."""
    if cfg.warm_up_options is None:
        raise ValueError("warming a server needs the options analyses run with (warm_up_options)")
    # pyspark and the engine: only a process that warms a server loads them.
    from spark_client.server.session import connect
    from spark_client.server.warm_up import warm_up

    url = f"sc://{'localhost' if cfg.token else cfg.host}:{cfg.port}" + (
        f"/;token={cfg.token}" if cfg.token else ""
    )
    try:
        spark = connect(url, conf=cfg.session_conf, partitions_per_core=cfg.partitions_per_core)
        try:
            seconds = warm_up(
                spark,
                cfg.run_dir / "warm-up",
                options=cfg.warm_up_options,
                volume_lines=cfg.warm_up_lines,
                store_lines=cfg.warm_up_store_lines,
            )
        finally:
            spark.stop()
    except Exception as exc:  # the server is up; warming it is best effort
        logger.warning("warming up the Spark Connect server failed: %s", exc)
        return None
    logger.info("Spark Connect server warmed up in %.1fs", seconds)
    return seconds


def _wait_until_answering(cfg: LocalServerConfig, pid: int, proc: subprocess.Popen | None) -> ServerStatus:
    deadline = time.monotonic() + cfg.startup_timeout
    while time.monotonic() < deadline:
        if port_answers(cfg.host, cfg.port, timeout=1.0):
            return status(cfg)
        exited = proc.poll() is not None if proc else _read_pid(cfg) is None
        if exited:
            cfg.pid_file.unlink(missing_ok=True)
            raise SparkServerError(
                f"The Spark Connect server exited during start-up. Last log lines "
                f"({cfg.log_file}):\n{_tail(cfg.log_file)}"
            )
        time.sleep(0.5)
    raise SparkServerError(
        f"The Spark Connect server did not answer on {cfg.host}:{cfg.port} within "
        f"{cfg.startup_timeout:.0f}s. Last log lines ({cfg.log_file}):\n{_tail(cfg.log_file)}"
    )


def stop(cfg: LocalServerConfig, timeout: float = 30.0) -> bool:
    """Stop the server we started (process group). Returns True if one was stopped."""
    return process_stop(cfg.pid_file, timeout)


def process_stop(pid_file: Path, timeout: float = 30.0) -> bool:
    """SIGTERM the process group of the pid in `pid_file`, SIGKILL it after `timeout`."""
    pid = pid_read(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_read(pid_file) is not None:
        _reap(pid)
        time.sleep(0.2)
    if pid_read(pid_file) is not None:
        _signal_group(pid, signal.SIGKILL)
        time.sleep(0.5)
        _reap(pid)
    pid_file.unlink(missing_ok=True)
    return True


def kill(cfg: LocalServerConfig) -> bool:
    """SIGKILL the server (fault tests)."""
    pid = _read_pid(cfg)
    if pid is None:
        return False
    _signal_group(pid, signal.SIGKILL)
    for _ in range(50):
        _reap(pid)
        if _read_pid(cfg) is None and not port_answers(cfg.host, cfg.port, timeout=0.2):
            break
        time.sleep(0.1)
    cfg.pid_file.unlink(missing_ok=True)
    return True


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(os.getpgid(pid), sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])
