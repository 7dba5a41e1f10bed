"""The resident memory of the bench's child processes (qcluster, gunicorn: started
as logplatform.processes.Child), and a free port for them."""

from __future__ import annotations

import socket
import threading
import time

from logplatform.processes import descendants, rss_kb


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
