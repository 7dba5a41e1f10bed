"""Create, queue, re-run and delete analyses: the writes of the pages, the API and
`manage.py analyze`. Nothing here talks to Spark."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts.models import Team
from analyses import quota
from analyses.models import Analysis, AnalysisFile
from analyses.options import AnalysisOptions
from analyses.services.lines_files import lines_analysis_remove
from analyses.uploads import (
    StoredUpload,
    copy_into_storage,
    move_into_storage,
    remove_stored,
    store_path_for,
)

logger = logging.getLogger(__name__)

# Stored in queued rows and schedules: keep this dotted path stable.
TASK = "analyses.tasks.run_analysis"


@dataclass(frozen=True)
class LocalFile:
    """A file on this machine (the `analyze` command), copied into storage."""

    path: Path
    name: str
    format: str = ""


@transaction.atomic
def analysis_create(
    *,
    team: Team,
    user: AbstractBaseUser | None,
    files: list[StoredUpload | LocalFile],
    name: str = "",
    options: AnalysisOptions | None = None,
    file_formats: list[str] | None = None,
    enqueue: bool = True,
) -> Analysis:
    """Record an analysis and its files, move the files into storage, queue it on commit.

    `options` come from `analyses.options.analysis_options_clean`. Raises
    quota.QuotaExceeded when the files would take the team over its quota."""
    if not files:
        raise ValueError("An analysis needs at least one file.")
    quota.team_quota_check(
        team=team,
        adding_bytes=sum(f.size if isinstance(f, StoredUpload) else f.path.stat().st_size for f in files),
    )
    names = [f.name for f in files]
    analysis = Analysis.objects.create(
        team=team,
        created_by=user if user is not None and user.is_authenticated else None,
        name=(name.strip() or _default_name(names))[:200],
        options=(options or AnalysisOptions()).as_dict(),
    )
    rows = []
    for position, f in enumerate(files):
        override = (file_formats[position] if file_formats and position < len(file_formats) else "") or ""
        if isinstance(f, StoredUpload):
            relative = store_path_for(team_id=team.pk, gzip=f.gzip)
            move_into_storage(f.path, relative)
            size, digest = f.size, f.sha256
        else:
            with f.path.open("rb") as fh:
                gzip = fh.read(2) == b"\x1f\x8b"
            relative = store_path_for(team_id=team.pk, gzip=gzip)
            size, digest = copy_into_storage(f.path, relative)
            override = override or f.format
        rows.append(
            AnalysisFile(
                analysis=analysis,
                position=position,
                original_name=f.name[:255],
                stored_path=str(relative),
                size=size,
                sha256=digest,
                format_override=override,
            )
        )
    AnalysisFile.objects.bulk_create(rows)
    if enqueue:
        analysis_enqueue(analysis=analysis)
    logger.info("analysis %s created for team %s with %d file(s)", analysis.pk, team.slug, len(rows))
    return analysis


def _default_name(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return f"{names[0]} and {len(names) - 1} more"


def analysis_enqueue(*, analysis: Analysis) -> None:
    """Queue the worker task once the surrounding transaction has committed."""
    analysis_id = analysis.pk

    def send() -> None:
        from django_q.tasks import async_task

        Analysis.objects.filter(pk=analysis_id).update(dispatched_at=timezone.now())
        async_task(TASK, analysis_id, task_name=f"analysis-{analysis_id}", group="analyses")

    transaction.on_commit(send)


@transaction.atomic
def analysis_rerun(
    *,
    analysis: Analysis,
    user: AbstractBaseUser | None,
    file_options: Mapping[int, AnalysisOptions] | None = None,
) -> Analysis:
    """A new analysis over the same stored files (they are shared, not copied).

    `file_options` (from `analyses.options.rerun_file_options_clean`, by file id)
    sets a file's format and year for year-less timestamps; a file not in it keeps
    the ones it had."""
    file_options = file_options or {}
    clone = Analysis.objects.create(
        team=analysis.team,
        created_by=user if user is not None and user.is_authenticated else None,
        name=f"{analysis.name} (re-run)"[:200],
        options=analysis.options,
    )
    rows = []
    for f in analysis.files.all():
        given = file_options.get(f.pk)
        rows.append(
            AnalysisFile(
                analysis=clone,
                position=f.position,
                original_name=f.original_name,
                stored_path=f.stored_path,
                size=f.size,
                sha256=f.sha256,
                format_override=(given.format or "") if given else f.format_override,
                assume_year_override=given.assume_year if given else f.assume_year_override,
            )
        )
    AnalysisFile.objects.bulk_create(rows)
    analysis_enqueue(analysis=clone)
    return clone


@transaction.atomic
def analysis_delete(*, analysis: Analysis) -> None:
    """Delete the analysis and, after commit, its stored files that no re-run shares
    and its stored lines."""
    paths = list(analysis.files.values_list("stored_path", flat=True))
    analysis_id = analysis.pk
    analysis.delete()

    def remove_files() -> None:
        still_used = set(
            AnalysisFile.objects.filter(stored_path__in=paths).values_list("stored_path", flat=True)
        )
        for path in paths:
            if path not in still_used:
                remove_stored(path)
        lines_analysis_remove(analysis_id=analysis_id)

    transaction.on_commit(remove_files)
    logger.info("analysis %s deleted with %d file(s)", analysis_id, len(paths))
