"""The stored lines' directories on disk (spark_client.lines_layout): where an
execution attempt writes, and their removal. Exactly one run directory per
analysis survives: the one its result document names.

    lines/<analysis id>/<run>/     run = the attempt's claim token

An attempt writes a directory of its own (a retry never writes into a directory
a dead attempt's Spark job may still be writing), `results_store` names it in the
document in the transaction that stores the results, and then the attempt removes
the others. What a crash leaves behind, the reaper removes (`lines_orphans_remove`).
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from django.conf import settings

from analyses.models import Analysis, Status
from analyses.uploads import storage_root
from spark_client import lines_layout

logger = logging.getLogger(__name__)


def lines_enabled() -> bool:
    """Whether analyses store their lines (config analytics.store_lines)."""
    return bool(settings.LOGPLATFORM["analytics"]["store_lines"])


def _root() -> Path:
    return storage_root() / lines_layout.LINES_ROOT


def lines_run_path(*, analysis_id: int, run: str) -> str:
    """A run's directory relative to the storage root (the document's `lines.path`)."""
    return lines_layout.run_dir(analysis_id, run)


def lines_run_dir(*, analysis_id: int, run: str) -> Path:
    """A run's directory, for Spark to write (it must see the same storage root)."""
    return storage_root() / lines_run_path(analysis_id=analysis_id, run=run)


def _remove(path: Path) -> bool:
    """Remove a directory under the lines root; a symlink is removed, never followed."""
    root = _root().resolve()
    if path.is_symlink():
        path.unlink(missing_ok=True)
        return True
    if root not in path.resolve().parents:
        logger.warning("refused to remove %s: it is not under %s", path, root)
        return False
    shutil.rmtree(path, ignore_errors=True)
    return not path.exists()


def lines_run_remove(*, analysis_id: int, run: str) -> None:
    """Remove one run directory (an attempt that stored no results)."""
    path = lines_run_dir(analysis_id=analysis_id, run=run)
    if path.exists() or path.is_symlink():
        _remove(path)


def lines_runs_remove(*, analysis_id: int, keep: str | None = None) -> int:
    """Remove the analysis's run directories but `keep`; returns how many."""
    parent = _root() / str(analysis_id)
    if not parent.is_dir():
        return 0
    return sum(_remove(run) for run in parent.iterdir() if run.name != keep)


def lines_analysis_remove(*, analysis_id: int) -> None:
    """Remove every run of an analysis (it is being deleted)."""
    parent = _root() / str(analysis_id)
    if parent.exists() or parent.is_symlink():
        _remove(parent)


def _newest_change(path: Path) -> float:
    """When anything in the directory last changed (Spark writes its parts in
    subdirectories, and a part file grows while its task runs)."""
    newest = path.lstat().st_mtime
    for child in path.rglob("*"):
        try:
            newest = max(newest, child.lstat().st_mtime)
        except FileNotFoundError:
            pass
    return newest


def lines_orphans_remove(*, older_than_seconds: float) -> int:
    """Remove the run directories no analysis will read; returns how many.

    Those of an analysis that no longer exists, and those of an existing analysis
    that are neither the run its document names nor the one its running attempt
    writes, once nothing in them changed for `older_than_seconds` (the lease: an
    attempt whose lease ran out is no longer running; one that lost it may still
    be finishing a write).
    """
    root = _root()
    if not root.is_dir():
        return 0
    dirs = {int(p.name): p for p in root.iterdir() if p.name.isdigit()}
    # Per existing analysis: the runs to keep, its running attempt's and its document's.
    keep: dict[int, set[str]] = {}
    rows = Analysis.objects.filter(pk__in=dirs).values_list(
        "pk", "status", "claim_token", "result__document__lines"
    )
    for pk, status, token, lines in rows:
        named = (lines or {}).get("path", "")
        keep[pk] = {token if status == Status.RUNNING else "", named.rsplit("/", 1)[-1]} - {""}
    cutoff = time.time() - older_than_seconds
    removed = 0
    for analysis_id, parent in dirs.items():
        if analysis_id not in keep:  # the analysis is gone: all of it
            runs = list(parent.iterdir()) if parent.is_dir() and not parent.is_symlink() else [parent]
            if _remove(parent):
                removed += len(runs)
            continue
        for run in parent.iterdir():
            try:
                if run.name not in keep[analysis_id] and _newest_change(run) < cutoff and _remove(run):
                    removed += 1
            except FileNotFoundError:
                pass  # removed meanwhile
    return removed
