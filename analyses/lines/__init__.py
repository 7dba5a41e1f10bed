"""The Lines view's service: an analysis's stored lines, filtered, paged, around one
line, or exported, queried on Spark Connect from the web request.

This is the one place a web request waits on Spark (README, "How it fits together"), so every
query is bounded: a row limit (a page is at most 500 lines; an export streams
Arrow batches and never holds more than one), a tag of its own
(`lines-<analysis>-<uuid>`), a timeout (`lines.query_timeout_seconds`,
`lines.export_timeout_seconds`) after which the tag is interrupted, and a watcher
that interrupts it as soon as the client goes away.

    source.py    where an analysis's lines are, its files, line numbers; the errors
    filters.py   the one validation of a Lines query (pages and API)
    guard.py     a query's session, tag, timeout and client watcher
    service.py   a page, a line's context, an export

pyspark is imported inside the functions that query (guard.py, service.py), so a
web process that serves no Lines request loads none (tests/logplatform/test_layers.py).
"""

from analyses.lines.filters import lines_filter_from_query
from analyses.lines.service import (
    EXPORT_FORMATS,
    LinesContext,
    LinesExport,
    LinesPageResult,
    export_response,
    lines_context,
    lines_export,
    lines_page,
)
from analyses.lines.source import (
    ClientGone,
    LinesError,
    LinesNotAvailable,
    LinesSource,
    LinesTimeout,
    LinesUnavailable,
    ShownLine,
    line_as_dict,
    lines_source,
)

__all__ = [
    "EXPORT_FORMATS",
    "ClientGone",
    "LinesContext",
    "LinesError",
    "LinesExport",
    "LinesNotAvailable",
    "LinesPageResult",
    "LinesSource",
    "LinesTimeout",
    "LinesUnavailable",
    "ShownLine",
    "export_response",
    "line_as_dict",
    "lines_context",
    "lines_export",
    "lines_filter_from_query",
    "lines_page",
    "lines_source",
]
