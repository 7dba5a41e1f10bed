"""A page of lines, the lines around one line, and an export, each through a Guard."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from django.http import HttpRequest, StreamingHttpResponse

from analyses.lines.guard import Guard, timeout
from analyses.lines.source import (
    LinesError,
    LinesSource,
    ShownLine,
    shown,
)
from analyses.models import Analysis, AnalysisFile
from spark_client import lines_layout
from spark_client.lines_filter import CONTEXT_LINES, LinesFilter, LinesFilterError

logger = logging.getLogger(__name__)

EXPORT_FORMATS = ("csv", "jsonl")


@dataclass(frozen=True)
class LinesPageResult:
    lines: list[ShownLine]
    next_cursor: str | None  # the `cursor` of the next page, when there is one


def lines_page(*, source: LinesSource, lines_filter: LinesFilter, request: HttpRequest) -> LinesPageResult:
    from spark_client.engine.lines_query import lines_page as query_page

    seconds = timeout("query_timeout_seconds")
    with Guard(analysis_id=source.analysis.pk, request=request, seconds=seconds) as guard:
        page = query_page(guard.spark, source.path, lines_filter, source.patterns, source.span)
    return LinesPageResult(
        lines=shown(source, page.lines), next_cursor=page.next.encode() if page.next else None
    )


@dataclass(frozen=True)
class LinesContext:
    file: AnalysisFile
    line: int
    lines: list[ShownLine]  # the file's lines around `line`, in order, `line` among them


def lines_context(*, source: LinesSource, file_id: int, line: int, request: HttpRequest) -> LinesContext:
    """Line `line` of one file of the analysis and the CONTEXT_LINES lines before and
    after it (fewer at the file's start and end)."""
    from spark_client.engine.lines_query import lines_by_row_ids

    position = source.position(file_id)
    if position is None:
        raise LinesFilterError({"file": [f"No file {file_id} in this analysis."]})
    if not lines_layout.row_id_ranges(source.blocks, position, line, line):
        name = source.files[position].original_name
        raise LinesFilterError({"line": [f"{name} has no stored line {line}."]})
    around = lines_layout.row_id_ranges(source.blocks, position, line - CONTEXT_LINES, line + CONTEXT_LINES)
    seconds = timeout("query_timeout_seconds")
    with Guard(analysis_id=source.analysis.pk, request=request, seconds=seconds) as guard:
        lines = lines_by_row_ids(guard.spark, source.path, position, around, source.patterns)
    return LinesContext(file=source.files[position], line=line, lines=shown(source, lines))


class LinesExport:
    """The chunks of an export, and `close()`, which Django calls when the response
    ends however it ends (complete, failed, the client gone, never iterated)."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self.chunks: Iterator[bytes] = iter(())
        self.sent = 0
        self.finished = False

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()
        if not self.finished:
            # Stopped before the end (the client went away while we wrote, or a
            # failure): nothing more will be read, so the query stops too.
            self.guard.interrupt("client")
        self.guard.stop()
        logger.info(
            "Lines export %s: %d line(s) sent%s",
            self.guard.tag,
            self.sent,
            "" if self.finished else ", stopped before the end",
        )


def lines_export(
    *, source: LinesSource, lines_filter: LinesFilter, request: HttpRequest, export_format: str
) -> LinesExport:
    """Every line `lines_filter` selects (its limit does not apply), as CSV (cells a
    spreadsheet would run as formulas neutralised) or JSON lines, in chunks of one
    Arrow batch each (spark_client.engine.lines_query.lines_export_tables).

    The query has started and its first batch arrived when this returns, so a bad
    filter, an unreachable server or a timeout before the first line are errors
    the caller can still answer with a status. Later, the stream can only stop: a
    failure then raises, and the server drops the connection without the last
    chunk, so the client sees a cut transfer, never a complete-looking file.
    """
    from analyses.lines import render
    from spark_client.engine.lines_query import lines_export_tables

    numbers = render.LineNumbers(source.blocks)
    chunk = render.csv_chunk if export_format == "csv" else render.jsonl_chunk
    files = [(f.pk, f.original_name) for f in source.files]
    guard = Guard(analysis_id=source.analysis.pk, request=request, seconds=timeout("export_timeout_seconds"))
    guard.start()
    try:
        batches = lines_export_tables(guard.spark, source.path, lines_filter, patterns=source.patterns)
        first = next(batches, None)
    except Exception as exc:
        guard.stop()
        if isinstance(exc, LinesError | LinesFilterError):
            raise
        raise guard.translate(exc) from exc
    # An export is several queries, one per piece, made as it streams (in this
    # thread): the tag stays on until close(), and so does the watcher.
    export = LinesExport(guard)

    def chunks() -> Iterator[bytes]:
        if export_format == "csv":
            yield (",".join(render.CSV_COLUMNS) + "\n").encode()
        batch = first
        try:
            while batch is not None:
                yield chunk(batch, files, numbers)
                export.sent += batch.num_rows
                batch = next(batches, None)
        except Exception as exc:
            if guard.reason == "client":
                return  # nobody reads on
            raise guard.translate(exc) from exc
        export.finished = True

    export.chunks = chunks()
    return export


def export_response(export: LinesExport, *, analysis: Analysis, export_format: str) -> StreamingHttpResponse:
    """The streamed answer of an export, for the API and the page."""
    content_type = "text/csv; charset=utf-8" if export_format == "csv" else "application/x-ndjson"
    response = StreamingHttpResponse(export, content_type=content_type)
    # Only digits in the name: nothing a user chose reaches the header.
    response["Content-Disposition"] = f'attachment; filename="analysis-{analysis.pk}-lines.{export_format}"'
    response["X-Accel-Buffering"] = "no"  # a proxy passes the stream on as it comes
    response["Cache-Control"] = "no-store"
    return response
