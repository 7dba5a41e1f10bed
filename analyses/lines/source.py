"""Where an analysis's stored lines are, its files by position, the line number of
a stored row, and what can go wrong answering a Lines request."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analyses.models import Analysis, AnalysisFile, AnalysisResult, Status
from analyses.uploads import StoredPathError, stored_path_resolve
from spark_client import lines_layout
from spark_client.lines_filter import Line, micros


class LinesError(Exception):
    """A Lines request that cannot be answered; `status` and `code` as the API gives them."""

    status = 503
    code = "spark_unavailable"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LinesNotAvailable(LinesError):
    status = 409
    code = "no_lines"


class LinesTimeout(LinesError):
    status = 504
    code = "timeout"


class LinesUnavailable(LinesError):
    status = 503
    code = "spark_unavailable"


class ClientGone(Exception):
    """The client closed its connection; nobody reads the answer."""


@dataclass(frozen=True)
class LinesSource:
    """Where an analysis's lines are and how to name their files and number them."""

    analysis: Analysis
    path: str  # absolute, for Spark
    files: list[AnalysisFile]  # by position in the stored lines
    blocks: list[list[int]]
    patterns: str | None = None  # absolute path of the key -> pattern mapping; None before patterns
    # The analysis's first and last time in microseconds (its summary, to the second),
    # where a text search starts (spark_client.engine.lines_query.search_windows).
    span: tuple[int, int] | None = None

    def position(self, file_id: int) -> int | None:
        return next((i for i, f in enumerate(self.files) if f.pk == file_id), None)


@dataclass(frozen=True)
class ShownLine:
    ts: datetime | None
    level: str | None
    service: str | None
    ip: str | None
    error_type: str | None
    file: AnalysisFile
    line: int | None
    status: str
    message: str
    truncated: bool
    endpoint: str | None
    pattern_id: str | None = None
    pattern: str | None = None


def lines_source(*, analysis: Analysis) -> LinesSource:
    """The stored lines of `analysis`, or LinesNotAvailable saying why there are none."""
    if analysis.status != Status.SUCCEEDED:
        raise LinesNotAvailable(
            "This analysis failed, so it has no lines; see its error."
            if analysis.status == Status.FAILED
            else f"This analysis is {analysis.status}; its lines can be browsed once it succeeded."
        )
    stored, first_ts, last_ts = (
        AnalysisResult.objects.filter(analysis_id=analysis.pk)
        .values_list("document__lines", "document__summary__first_ts", "document__summary__last_ts")
        .first()
    ) or (None, None, None)
    if not stored:
        raise LinesNotAvailable(
            "This analysis was made before lines were stored; re-run it to browse its lines."
        )
    try:
        path = stored_path_resolve(stored["path"])
        patterns = stored_path_resolve(stored["patterns"]) if stored.get("patterns") else None
    except StoredPathError as exc:
        raise LinesNotAvailable(str(exc)) from None
    by_id = {f.pk: f for f in analysis.files.all()}
    return LinesSource(
        analysis=analysis,
        path=str(path),
        files=[by_id[file_id] for file_id in stored["files"]],
        blocks=stored["blocks"],
        patterns=None if patterns is None else str(patterns),
        span=_span(first_ts, last_ts),
    )


def _span(first_ts: str | None, last_ts: str | None) -> tuple[int, int] | None:
    """(first, last + 1 s) in microseconds: the summary's times are cut to the second."""
    try:
        first, last = (datetime.fromisoformat(t.removesuffix("Z")) for t in (first_ts, last_ts))
    except (TypeError, AttributeError, ValueError):
        return None
    return micros(first), micros(last) + 1_000_000


def numberer(blocks: list[list[int]]) -> Callable[[int, int], int | None]:
    """number(file, row_id) -> the row's line number, as lines_layout.line_number
    gives it (None where it has none), for many rows: each file's blocks are
    sorted once, then each row is one bisection."""
    by_file: dict[int, list[list[int]]] = {}
    for block in sorted(blocks, key=lambda b: (b[lines_layout.FILE], b[lines_layout.BASE])):
        by_file.setdefault(block[lines_layout.FILE], []).append(block)
    bases = {f: [b[lines_layout.BASE] for b in own] for f, own in by_file.items()}

    def number(file: int, row_id: int) -> int | None:
        own = by_file.get(file, [])
        i = bisect_right(bases.get(file, []), row_id) - 1
        if i >= 0 and row_id < own[i][lines_layout.BASE] + own[i][lines_layout.COUNT]:
            return own[i][lines_layout.FIRST_LINE] + row_id - own[i][lines_layout.BASE]
        return None

    return number


def shown(source: LinesSource, lines: list[Line]) -> list[ShownLine]:
    number = numberer(source.blocks)
    return [
        ShownLine(
            ts=x.ts,
            level=x.level,
            service=x.service,
            ip=x.ip,
            error_type=x.error_type,
            file=source.files[x.file],
            line=number(x.file, x.row_id),
            status=x.status,
            message=x.message or "",
            truncated=bool(x.truncated),
            endpoint=x.endpoint,
            pattern_id=x.pattern_id,
            pattern=x.pattern,
        )
        for x in lines
    ]


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def line_as_dict(line: ShownLine) -> dict[str, Any]:
    return {
        "ts": iso(line.ts),
        "level": line.level,
        "service": line.service,
        "ip": line.ip,
        "error_type": line.error_type,
        "file": {"id": line.file.pk, "name": line.file.original_name},
        "line": line.line,
        "message": line.message,
        "status": line.status,
        "truncated": line.truncated,
        "pattern_id": line.pattern_id,
        "pattern": line.pattern,
    }
