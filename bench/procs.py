"""Child processes of the bench (qcluster, gunicorn) and their resident memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from logplatform.processes import descendants, rss_kb

BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_answers(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


class Proc:
    """A child in its own process group, logging to a file; stopped group-wide."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str]) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log
        self.handle = log.open("ab")
        self.proc = subprocess.Popen(
            argv,
            cwd=BASE_DIR,
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

    def tail(self, lines: int = 30) -> str:
        self.handle.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 30) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.handle.close()


def tree(root: int) -> list[int]:
    """A process and all its descendants."""
    return [root, *descendants(root)]


class MemoryWatch:
    """Samples the resident memory of a process tree every `interval` seconds.

    `peak_process_mb` is the largest single process (a gunicorn or django-q2
    worker), `peak_tree_mb` the largest sum over the tree at one instant.
    """

    def __init__(self, root: int, interval: float = 0.05) -> None:
        self.root = root
        self.interval = interval
        self.peak_process_kb = 0
        self.peak_tree_kb = 0
        self.start_tree_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemoryWatch:
        self.start_tree_kb = sum(rss_kb(p) for p in tree(self.root))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        pids = tree(self.root)
        refreshed = time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() - refreshed > 1.0:  # workers come and go
                pids, refreshed = tree(self.root), time.monotonic()
            sizes = [rss_kb(p) for p in pids]
            self.peak_process_kb = max(self.peak_process_kb, max(sizes, default=0))
            self.peak_tree_kb = max(self.peak_tree_kb, sum(sizes))
            self._stop.wait(self.interval)

    def as_dict(self) -> dict[str, float]:
        return {
            "peak_process_mb": round(self.peak_process_kb / 1024, 1),
            "peak_tree_mb": round(self.peak_tree_kb / 1024, 1),
            "start_tree_mb": round(self.start_tree_kb / 1024, 1),
        }
