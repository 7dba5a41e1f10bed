"""Lines queries: a page of an analysis's stored lines under a filter, the lines
around one line, and every matching line for an export (spark_client.lines_layout
describes the dataset, spark_client.lines_filter the question).

Each function reads the run directory afresh with the layout's schema (no footer
is read to infer it). `level` is the partition column, so a level filter reads
only those directories; each part is sorted by `ts`, so a time range skips row
groups by their min/max statistics.

Order is a unique key, (ts, file, row_id), lines without a time last in both
orders; a page is the first `limit` rows after the cursor in that order, which
Spark answers with a top-k per task rather than a sort of every match, and a
page read later is the same page (the dataset never changes once written).
"""

from __future__ import annotations

from collections.abc import Iterator

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

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
from spark_client.lines_layout import COLUMNS

SCHEMA = ", ".join(f"`{name}` {kind}" for name, kind in COLUMNS)
# The select of every query, in Line's field order.
OUTPUT = [
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
]


def lines_frame(spark, path: str) -> DataFrame:  # noqa: ANN001 - SparkSession
    """The stored lines at `path` (an absolute directory, or a URI Spark reads)."""
    return spark.read.schema(SCHEMA).parquet(path)


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


def lines_page(spark, path: str, f: LinesFilter) -> LinesPage:  # noqa: ANN001
    """The page `f` asks for: `f.limit` lines after `f.cursor`, and the cursor of
    the next page when there is one (one extra row is read to know)."""
    newest = f.order == NEWEST
    query = matching(lines_frame(spark, path), f)
    if f.cursor is not None:
        query = query.where(_after(f.cursor, newest))
    rows = _lines(query.orderBy(*_order(newest)).limit(f.limit + 1).select(*OUTPUT).collect())
    more = len(rows) > f.limit
    rows = rows[: f.limit]
    return LinesPage(lines=rows, next=rows[-1].cursor if more and rows else None)


def lines_by_row_ids(spark, path: str, file: int, ranges: list[tuple[int, int]]) -> list[Line]:  # noqa: ANN001
    """Every stored line of the file at position `file` whose row id is in one of
    `ranges` ([start, end)), blank lines included, in the file's order."""
    if not ranges:
        return []
    wanted = F.lit(False)
    for start, end in ranges:
        wanted = wanted | F.col("row_id").between(start, end - 1)
    query = lines_frame(spark, path).where((F.col("file") == F.lit(file)) & wanted)
    return _lines(query.orderBy("row_id").select(*OUTPUT).collect())


def lines_export(spark, path: str, f: LinesFilter) -> Iterator[list[Line]]:  # noqa: ANN001
    """Every line that passes `f` (no limit; after its cursor if it has one), in its
    order, as lists of lines, one per Arrow batch the server sends: the caller
    holds one batch at a time, never the whole result."""
    newest = f.order == NEWEST
    query = matching(lines_frame(spark, path), f)
    if f.cursor is not None:
        query = query.where(_after(f.cursor, newest))
    for table in stream_arrow(query.orderBy(*_order(newest)).select(*OUTPUT)):
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        yield [Line._make(values) for values in zip(*columns, strict=True)]
