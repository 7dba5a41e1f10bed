"""Lines queries: a page of an analysis's stored lines under a filter, the lines
around one line, and every matching line for an export (spark_client.lines_layout
describes the dataset, spark_client.lines_filter the question).

Each function reads the run directory afresh with the layout's schema (no footer
is read to infer it). `level` is the partition column, so a level filter reads
only those directories; each part is sorted by `ts`, so a time range skips row
groups by their min/max statistics.

With `patterns` (the analysis's key -> pattern mapping, engine.pattern_keys) each
line is joined to its pattern (the mapping is small: broadcast); a line whose key
is not in it (past the miner's cap) has the catch-all pattern. An error line's
type is its pattern, as in the analysis's results.

Order is a unique key, (ts, file, row_id), lines without a time last in both
orders; a page is the first `limit` rows after the cursor in that order, which
Spark answers with a top-k per task rather than a sort of every match, and a
page read later is the same page (the dataset never changes once written).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark_client.engine.pattern_keys import MAPPING_SCHEMA, with_patterns
from spark_client.engine.query import stream_arrow
from spark_client.lines_filter import (
    NEWEST,
    NONE_VALUE,
    Cursor,
    Line,
    LinesFilter,
    LinesPage,
    micros,
)
from spark_client.lines_layout import COLUMN_NAMES, COLUMNS

SCHEMA = ", ".join(f"`{name}` {kind}" for name, kind in COLUMNS)
# An export is sent as queries of about this many bytes of lines each (export_pieces).
EXPORT_PIECE_BYTES = 64 * 1024 * 1024
BUCKETS_PER_PIECE = 20
LINE_OVERHEAD = 64  # a line's bytes but its message: time, level, service, ip, ...
UNTIMED_BLOCK_ROWS = 10_000  # lines without a time are cut at multiples of this row id
# Text searches (search_windows): the first window is 1/SEARCH_FIRST_WINDOW of the
# span, each next one SEARCH_WINDOW_GROWTH times as far; SEARCH_WINDOWS in all,
# the rest included. A span under a minute is searched in one query.
SEARCH_FIRST_WINDOW = 16
SEARCH_WINDOW_GROWTH = 4
SEARCH_WINDOWS = 4
SEARCH_MIN_SPAN_MICROS = 60_000_000


def _output() -> list[Column | str]:
    """The select of every query, in Line's field order. A function, not a constant:
    pyspark builds a column for Spark Connect only once a Connect session exists, and
    a web process imports this module before its first session."""
    return [
        F.unix_micros("ts").alias("ts_micros"),
        "level",
        "service",
        "ip",
        "error_type",
        "file",
        "row_id",
        "status",
        "message",
        "truncated",
        "endpoint",
        "pattern_id",
        "pattern",
    ]


def lines_frame(spark, path: str, patterns: str | None = None) -> DataFrame:  # noqa: ANN001 - SparkSession
    """The stored lines at `path` (an absolute directory, or a URI Spark reads), each
    with its `pattern_id` and `pattern` from the mapping at `patterns` (null without),
    an error line's `error_type` its pattern (pattern_keys.with_patterns)."""
    if patterns is None:
        none = F.lit(None).cast("string")
        return (
            spark.read.schema(SCHEMA)
            .parquet(path)
            .select("*", none.alias("pattern_id"), none.alias("pattern"))
        )
    lines = spark.read.schema(SCHEMA + ", message_key bigint, event_template string").parquet(path)
    mapping = spark.read.schema(MAPPING_SCHEMA).parquet(patterns)
    return with_patterns(lines, mapping).select(*COLUMN_NAMES, "pattern_id", "pattern")


def _moment(value: int) -> Column:
    return F.timestamp_micros(F.lit(value))


def _any_of(name: str, values: tuple[str, ...]) -> Column:
    """`name` is one of `values`; NONE_VALUE stands for no value (null or empty)."""
    column = F.col(name)
    wanted = [v for v in values if v != NONE_VALUE]
    match = column.isin(wanted) if wanted else F.lit(False)
    if NONE_VALUE in values:
        match = match | column.isNull() | (column == F.lit(""))
    return match


def _after(cursor: Cursor, newest: bool) -> Column:
    """Rows after `cursor` in the order: (ts, file, row_id) descending for newest,
    ascending for oldest, rows without a time last either way."""
    ts, file, row_id = F.col("ts"), F.col("file"), F.col("row_id")

    def beyond(column: Column, value: int) -> Column:
        return column < F.lit(value) if newest else column > F.lit(value)

    same_ts_later = (file == F.lit(cursor.file)) & beyond(row_id, cursor.row_id) | beyond(file, cursor.file)
    if cursor.ts_micros is None:
        return ts.isNull() & same_ts_later
    moment = _moment(cursor.ts_micros)
    later_ts = ts < moment if newest else ts > moment
    return ts.isNull() | later_ts | ((ts == moment) & same_ts_later)


def _order(newest: bool) -> list[Column]:
    if newest:
        return [F.col("ts").desc_nulls_last(), F.col("file").desc(), F.col("row_id").desc()]
    return [F.col("ts").asc_nulls_last(), F.col("file").asc(), F.col("row_id").asc()]


def matching(lines: DataFrame, f: LinesFilter) -> DataFrame:
    """The lines that pass `f` (without its cursor, order or limit)."""
    conditions: list[Column] = []
    if f.levels:
        conditions.append(F.col("level").isin(list(f.levels)))
    if f.start is not None:
        conditions.append(F.col("ts") >= _moment(micros(f.start)))
    if f.end is not None:
        conditions.append(F.col("ts") <= _moment(micros(f.end)))
    if f.files:
        conditions.append(F.col("file").isin(list(f.files)))
    if f.patterns:
        conditions.append(F.col("pattern_id").isin(list(f.patterns)))
    if f.statuses:
        conditions.append(F.col("status").isin(list(f.statuses)))
    for name, values in (("service", f.services), ("ip", f.ips), ("error_type", f.error_types)):
        if values:
            conditions.append(_any_of(name, values))
    if f.q and f.regex:
        # Case-insensitive like the plain search; `(?-i)` in the pattern turns it off.
        conditions.append(F.col("message").rlike("(?i)" + f.q))
    elif f.q:
        # Both sides lowered by the JVM, so the two agree on every character.
        conditions.append(F.lower(F.col("message")).contains(F.lower(F.lit(f.q))))
    for condition in conditions:
        lines = lines.where(condition)
    return lines


def _lines(rows: list) -> list[Line]:  # list[Row]
    return [Line(*row) for row in rows]


def _selected(spark, path: str, f: LinesFilter, patterns: str | None = None) -> DataFrame:  # noqa: ANN001
    """The lines `f` selects: its filters, and after its cursor if it has one."""
    query = matching(lines_frame(spark, path, patterns), f)
    if f.cursor is not None:
        query = query.where(_after(f.cursor, f.order == NEWEST))
    return query


def search_windows(f: LinesFilter, span: tuple[int, int] | None) -> list[Column | None]:
    """Conditions that cut the lines a search may find into time windows, in the
    page's order: the first window is the newest (or oldest) 1/16 of the analysis's
    span from where the page starts, each next one reaches 4 times as far, and
    the last is the rest, lines without a time included. Together they hold every
    line exactly once, whatever `span` is; `span` (the analysis's first and last
    time, microseconds) only decides where the cuts fall. [None] (one window) for
    a query that is not a text search or that has no span."""
    if not f.q or span is None or (f.cursor is not None and f.cursor.ts_micros is None):
        return [None]  # past a cursor without a time only lines without one are left
    newest = f.order == NEWEST
    first, last = span
    if f.start is not None:
        first = max(first, micros(f.start))
    if f.end is not None:
        last = min(last, micros(f.end))
    if f.cursor is not None and f.cursor.ts_micros is not None:
        if newest:
            last = min(last, f.cursor.ts_micros)
        else:
            first = max(first, f.cursor.ts_micros)
    width = last - first
    if width < SEARCH_MIN_SPAN_MICROS:
        return [None]
    ts = F.col("ts")
    cuts = [width // SEARCH_FIRST_WINDOW * SEARCH_WINDOW_GROWTH**i for i in range(SEARCH_WINDOWS - 1)]
    bounds = [_moment(last - c if newest else first + c) for c in cuts]
    windows: list[Column | None] = []
    for i, bound in enumerate(bounds):
        inside = ts >= bound if newest else ts < bound
        if i:
            inside = inside & (ts < bounds[i - 1] if newest else ts >= bounds[i - 1])
        windows.append(inside)
    rest = ts < bounds[-1] if newest else ts >= bounds[-1]
    windows.append(ts.isNull() | rest)
    return windows


def lines_page(  # noqa: ANN001
    spark, path: str, f: LinesFilter, patterns: str | None = None, span: tuple[int, int] | None = None
) -> LinesPage:
    """The page `f` asks for: `f.limit` lines after `f.cursor`, and the cursor of
    the next page when there is one (one extra row is read to know).

    A text search reads every message it reaches, so it goes window by window
    (search_windows) and stops as soon as the page is full: a common word is
    found in the newest slice of the lines, whose row groups alone are read (each
    part is sorted by time); a rare one reads them all, in a few queries."""
    selected = _selected(spark, path, f, patterns)
    rows: list[Line] = []
    for window in search_windows(f, span):
        query = selected if window is None else selected.where(window)
        query = query.orderBy(*_order(f.order == NEWEST)).limit(f.limit + 1 - len(rows))
        rows += _lines(query.select(*_output()).collect())
        if len(rows) > f.limit:
            break
    more = len(rows) > f.limit
    rows = rows[: f.limit]
    return LinesPage(lines=rows, next=rows[-1].cursor if more and rows else None)


def lines_by_row_ids(  # noqa: ANN001
    spark, path: str, file: int, ranges: list[tuple[int, int]], patterns: str | None = None
) -> list[Line]:
    """Every stored line of the file at position `file` whose row id is in one of
    `ranges` ([start, end)), blank lines included, in the file's order."""
    if not ranges:
        return []
    wanted = F.lit(False)
    for start, end in ranges:
        wanted = wanted | F.col("row_id").between(start, end - 1)
    query = lines_frame(spark, path, patterns).where((F.col("file") == F.lit(file)) & wanted)
    return _lines(query.orderBy("row_id").select(*_output()).collect())


def _runs(counts: list[tuple[int, int]], most: int) -> list[list[int]]:
    """Consecutive keys grouped so that each group weighs at most `most` (a key that
    alone weighs more is a group of its own)."""
    runs: list[list[int]] = []
    total = most + 1
    for key, n in counts:
        if total + n > most:
            runs.append([])
            total = 0
        runs[-1].append(key)
        total += n
    return runs


def _multiple(value: Column, step: int) -> Column:
    """`value` rounded down to a multiple of `step`, in whole numbers (a division
    in doubles would misplace ids past 2**53)."""
    return value - value % F.lit(step)


def export_pieces(query: DataFrame, newest: bool, piece_bytes: int = EXPORT_PIECE_BYTES) -> list[Column]:
    """Conditions that cut the lines of `query` into pieces, in the order's sequence,
    of about `piece_bytes` each (the lines without a time last).

    Spark Connect sends a query's result task by task, and the server holds a
    task's whole result (counted against spark.driver.maxResultSize) until it is
    sent: one sorted query of millions of lines would sit in the server's memory,
    or fail it, however slowly the client reads. Each piece is a query of its own
    instead: a range of time (which the parts' ts statistics prune) or, for lines
    without a time, a range of row ids of one file. Two small queries find the
    cuts: the size and time span, then the size per time bucket (about
    BUCKETS_PER_PIECE buckets a piece when the lines are spread evenly). A line
    weighs its message's length plus LINE_OVERHEAD.
    """
    ts, micros_ = F.col("ts"), F.unix_micros("ts")
    weight = F.coalesce(F.length("message"), F.lit(0)) + F.lit(LINE_OVERHEAD)
    timed_weight = F.sum(F.when(ts.isNotNull(), weight))
    total, timed, first, last = query.agg(F.sum(weight), timed_weight, F.min(micros_), F.max(micros_)).first()
    if not total or total <= piece_bytes:
        return [F.lit(True)]
    pieces: list[Column] = []
    if timed:
        width = max(1, -(-(last - first + 1) * piece_bytes // (timed * BUCKETS_PER_PIECE)))
        sizes = query.where(ts.isNotNull()).groupBy(_multiple(micros_ - F.lit(first), width).alias("b"))
        sizes = sizes.agg(F.sum(weight).alias("n")).collect()
        for run in _runs(sorted(((r["b"], r["n"]) for r in sizes), reverse=newest), piece_bytes):
            start, end = first + min(run), first + max(run) + width
            pieces.append((ts >= _moment(start)) & (ts < _moment(end)))
    if total > (timed or 0):
        block = _multiple(F.col("row_id"), UNTIMED_BLOCK_ROWS).alias("b")
        sizes = query.where(ts.isNull()).groupBy("file", block).agg(F.sum(weight).alias("n")).collect()
        by_file: dict[int, list[tuple[int, int]]] = {}
        for r in sizes:
            by_file.setdefault(r["file"], []).append((r["b"], r["n"]))
        for file in sorted(by_file, reverse=newest):
            for run in _runs(sorted(by_file[file], reverse=newest), piece_bytes):
                row_ids = F.col("row_id").between(min(run), max(run) + UNTIMED_BLOCK_ROWS - 1)
                pieces.append(ts.isNull() & (F.col("file") == F.lit(file)) & row_ids)
    return pieces


def lines_export_tables(  # noqa: ANN201
    spark,  # noqa: ANN001
    path: str,
    f: LinesFilter,
    *,
    piece_bytes: int = EXPORT_PIECE_BYTES,
    patterns: str | None = None,
) -> Iterator[Any]:
    """Every line that passes `f` (no limit; after its cursor if it has one), in its
    order, as Arrow tables of the output columns, one per batch the server sends,
    piece by piece (export_pieces): neither side ever holds the whole result."""
    newest = f.order == NEWEST
    query = _selected(spark, path, f, patterns)
    for piece in export_pieces(query, newest, piece_bytes):
        yield from stream_arrow(query.where(piece).orderBy(*_order(newest)).select(*_output()))
