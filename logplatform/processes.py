"""The platform's processes: the web server's command line and a started web server,
children in their own process group, waiting for a condition, and Linux process
trees read from /proc (the supervised qcluster, the bench and the load test watch
and stop their children with them).

The tests, the bench and the load test start gunicorn through `web_start` and wait
through `wait_until`; nothing here imports Django or pytest.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

BASE_DIR = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def web_command(
    bind: str, *, workers: int = 1, threads: int = 4, timeout: int = 900, extra: tuple[str, ...] = ()
) -> list[str]:
    """gunicorn serving the platform, as `make run`, `make web`, the bench, the
    load test and the end-to-end tests start it."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "logplatform.wsgi:application",
        "--bind",
        bind,
        "--worker-class",
        "gthread",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        str(timeout),
        # Longer than a reader's pause between pages: gunicorn's 2 s default closes
        # idle connections just as clients reuse them (connection-reset errors).
        "--keep-alive",
        "5",
        *extra,
    ]


def wait_until(
    probe: Callable[[], T],
    *,
    timeout: float,
    message: str | Callable[[], str],
    interval: float = 0.2,
    ignore: tuple[type[Exception], ...] = (),
) -> T:
    """Call `probe` until it returns a truthy value, and return that value.

    A fixed sleep is either too short on a loaded machine or wasted time on an idle
    one; this waits exactly as long as needed. On timeout it raises TimeoutError
    naming what it waited for (`message`, or its result when callable: e.g. a log
    tail) and the last value seen. Exceptions of the types in `ignore` count as
    "not yet" (a server that is starting refuses connections).
    """
    deadline = time.monotonic() + timeout
    while True:
        last: object
        try:
            value = probe()
        except ignore as exc:
            last = exc
        else:
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise TimeoutError(
                f"timed out after {timeout:g} s waiting for {text} (last seen: {repr(last)[:500]})"
            )
        time.sleep(interval)


class Child:
    """A command in its own process group, writing stdout and stderr to `log`.

    Stopped group-wide: the workers it forked (gunicorn's, django-q2's) go with it,
    also when the leader is already gone.
    """

    def __init__(self, argv: list[str], *, log: Path, env: dict[str, str], cwd: Path = BASE_DIR) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log
        self.handle = log.open("ab")
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        """Everything the process wrote so far."""
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        """Send `sig` to the group, wait up to `timeout` s, then SIGKILL what is left."""
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.handle.close()


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """Whether a GET of `url` answers 200 (never through a proxy from the environment:
    the servers waited for are on loopback)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status == 200
    except (OSError, http.client.HTTPException):  # refused, reset, 4xx/5xx, half an answer
        return False


def web_start(
    *,
    port: int,
    env: dict[str, str],
    log: Path,
    workers: int = 1,
    threads: int = 4,
    timeout: int = 900,
    extra: tuple[str, ...] = (),
    wait: float = 60,
) -> Child:
    """gunicorn (`web_command`) on 127.0.0.1:`port`, returned once its sign-in page
    answers 200. Raises RuntimeError with the log's tail if it exits first, and
    TimeoutError (after stopping it) if it does not answer within `wait` s."""
    child = Child(
        web_command(f"127.0.0.1:{port}", workers=workers, threads=threads, timeout=timeout, extra=extra),
        log=log,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/accounts/login/"

    def ready() -> bool:
        if not child.alive():
            raise RuntimeError(f"gunicorn exited with status {child.proc.returncode}:\n{child.tail()}")
        return http_ok(url)

    try:
        wait_until(
            ready,
            timeout=wait,
            message=lambda: f"gunicorn to answer {url} (is the port taken?); its log:\n{child.tail()}",
        )
    except BaseException:
        child.stop()
        raise
    return child


def parents() -> dict[int, int]:
    """pid -> parent pid of every process (empty where there is no /proc)."""
    found: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            found[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return found


def descendants(pid: int) -> set[int]:
    """Every process below `pid`."""
    children: dict[int, list[int]] = defaultdict(list)
    for child, parent in parents().items():
        children[parent].append(child)
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def rss_kb(pid: int) -> int:
    """Resident memory of one process in KB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    return sum(rss_kb(pid) for pid in {root, *descendants(root)}) / 1024
