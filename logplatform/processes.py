"""The platform's processes: the web server's command line, and Linux process
trees read from /proc (the supervised qcluster, the bench and the load test
watch and stop their children with them)."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path


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
