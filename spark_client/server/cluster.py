"""A real Spark standalone cluster on this machine, from the pip-installed pyspark:
a master, workers, and a Spark Connect server whose executors run on them.

    python manage.py spark_cluster start|stop|status     (make cluster / cluster-stop)

Everything binds to 127.0.0.1 (SPARK_LOCAL_IP also moves the web UIs off
0.0.0.0), the master's REST submission port (6066, unauthenticated) is closed,
and logs and pid files live under the run directory (data/cluster/). The Spark
Connect server is the one of spark_client.server.local_server, started with
`--master spark://host:port` on its own port, so clients use the cluster exactly
as they use the local server: `SPARK_CONNECT_URL=sc://127.0.0.1:15003`.

Executors read input files by the path the client gives, so every worker must
see the uploads at the same path; on one machine that holds by construction.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from spark_client.errors import SparkServerError
from spark_client.server import local_server
from spark_client.server.session import port_answers
from spark_client.types import EngineOptions

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


@dataclass(frozen=True)
class ClusterConfig:
    run_dir: Path
    host: str = "127.0.0.1"
    master_port: int = 7077
    master_ui_port: int = 8090
    workers: int = 2
    worker_cores: int = 1
    worker_memory: str = "1g"
    worker_ui_port: int = 8091  # worker i listens on worker_ui_port + i - 1; 0: any free port
    connect_port: int = 15003
    driver_memory: str = "1g"
    executor_memory: str = "768m"
    startup_timeout: float = 120.0
    # The options analyses run with, for the Connect server's warm-up (see
    # LocalServerConfig.warm_up_options); None: no warm-up.
    warm_up_options: EngineOptions | None = None
    conf: dict[str, str] = field(default_factory=dict)

    @property
    def master_url(self) -> str:
        return f"spark://{self.host}:{self.master_port}"

    @property
    def connect_url(self) -> str:
        return f"sc://{self.host}:{self.connect_port}"

    def connect_server(self) -> local_server.LocalServerConfig:
        conf = {
            "spark.executor.memory": self.executor_memory,
            "spark.executor.cores": str(self.worker_cores),
            "spark.cores.max": str(self.workers * self.worker_cores),
            **self.conf,
        }
        return local_server.LocalServerConfig(
            run_dir=self.run_dir,
            host=self.host,
            port=self.connect_port,
            master=self.master_url,
            driver_memory=self.driver_memory,
            startup_timeout=self.startup_timeout,
            conf=conf,
            name="cluster-connect-server",
            warm_up_options=self.warm_up_options,
        )


def _env(cfg: ClusterConfig) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SPARK_HOME=str(local_server.spark_home()),
        SPARK_LOG_DIR=str(cfg.run_dir),
        SPARK_LOCAL_IP=cfg.host,
        # The standalone master's REST submission server accepts jobs without auth.
        SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=false",
        SPARK_WORKER_OPTS="-Dspark.worker.cleanup.enabled=true",
    )
    env.pop("PYSPARK_PYTHON", None)
    return env


def _spawn(cfg: ClusterConfig, name: str, argv: list[str]) -> int:
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    with (cfg.run_dir / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(
            [str(local_server.spark_home() / "bin" / "spark-class"), *argv],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_env(cfg),
            cwd=cfg.run_dir,
            start_new_session=True,
        )
    (cfg.run_dir / f"{name}.pid").write_text(str(proc.pid))
    return proc.pid


def _names(cfg: ClusterConfig) -> list[str]:
    return ["master", *[f"worker-{i}" for i in range(1, cfg.workers + 1)]]


def master_state(cfg: ClusterConfig) -> dict | None:
    """The master's JSON status (workers and their state), or None if it does not answer."""
    try:
        with urllib.request.urlopen(f"http://{cfg.host}:{cfg.master_ui_port}/json/", timeout=2) as r:  # noqa: S310
            return json.loads(r.read())
    except (OSError, ValueError):
        return None


def alive_workers(cfg: ClusterConfig) -> int:
    state = master_state(cfg) or {}
    return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")


def start(cfg: ClusterConfig) -> str:
    """Start the master, the workers and the Spark Connect server (each only if not
    running yet); wait until the workers registered and the server answers."""
    local_server.require_java()
    deadline = time.monotonic() + cfg.startup_timeout
    if local_server.pid_read(cfg.run_dir / "master.pid") is None:
        if port_answers(cfg.host, cfg.master_port, timeout=1.0):
            raise SparkServerError(
                f"Port {cfg.master_port} is taken by another process; stop it or choose another master port."
            )
        _spawn(
            cfg,
            "master",
            [
                MASTER_CLASS,
                "--host",
                cfg.host,
                "--port",
                str(cfg.master_port),
                "--webui-port",
                str(cfg.master_ui_port),
            ],
        )
    _wait(cfg, deadline, lambda: master_state(cfg) is not None, "the master to answer")
    for i in range(1, cfg.workers + 1):
        if local_server.pid_read(cfg.run_dir / f"worker-{i}.pid") is None:
            work = cfg.run_dir / f"worker-{i}"
            work.mkdir(parents=True, exist_ok=True)
            _spawn(
                cfg,
                f"worker-{i}",
                [
                    WORKER_CLASS,
                    cfg.master_url,
                    "--host",
                    cfg.host,
                    "--webui-port",
                    str(cfg.worker_ui_port + i - 1 if cfg.worker_ui_port else 0),
                    "--cores",
                    str(cfg.worker_cores),
                    "--memory",
                    cfg.worker_memory,
                    "--work-dir",
                    str(work),
                ],
            )
    _wait(cfg, deadline, lambda: alive_workers(cfg) >= cfg.workers, f"{cfg.workers} workers to register")
    local_server.start(cfg.connect_server())
    return describe(cfg)


def _wait(cfg: ClusterConfig, deadline: float, ready, what: str) -> None:  # noqa: ANN001
    while time.monotonic() < deadline:
        if ready():
            return
        for name in _names(cfg):
            pid_file = cfg.run_dir / f"{name}.pid"
            if pid_file.exists() and local_server.pid_read(pid_file) is None:
                log = cfg.run_dir / f"{name}.log"
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:]) if log.exists() else ""
                raise SparkServerError(f"The Spark {name} exited while waiting for {what}:\n{tail}")
        time.sleep(0.5)
    raise SparkServerError(
        f"Timed out after {cfg.startup_timeout:.0f}s waiting for {what}; logs in {cfg.run_dir}"
    )


def stop(cfg: ClusterConfig) -> list[str]:
    """Stop the Spark Connect server, then the workers, then the master."""
    stopped = []
    if local_server.stop(cfg.connect_server()):
        stopped.append("connect server")
    for name in reversed(_names(cfg)):
        if local_server.process_stop(cfg.run_dir / f"{name}.pid"):
            stopped.append(name)
    return stopped


def describe(cfg: ClusterConfig) -> str:
    state = master_state(cfg)
    if state is None:
        master = "master stopped"
    else:
        master = f"master {cfg.master_url} ({alive_workers(cfg)} of {cfg.workers} workers alive, UI http://{cfg.host}:{cfg.master_ui_port})"
    connect = local_server.status(cfg.connect_server()).describe()
    return f"{master}; Spark Connect server: {connect}"
