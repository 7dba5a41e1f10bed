"""Spark's side of the pattern step (docs/patterns.md, "In the engine").

1. While the lines are written (engine.lines, job 1) each line gets a
   `message_key`: xxhash64 of its message's first KEY_CHARS characters with the
   key masks (`analytics.patterns.key_masks`, default the number mask) applied,
   or of its loghub event template. Stored in the Parquet.
2. Between the write and the aggregation, `key_figures` reads the stored lines' key,
   level, time and row id, groups them by (key, sparkline bucket, level) and
   then by key, and sends the `max_distinct` most frequent keys with the row id
   of one example line each: bounded rows, whatever the input. A second query
   fetches those lines' messages (Parquet statistics skip the row groups that
   cannot hold one). Only when there are more keys does a third small query
   count the totals, so that the rest can be given the catch-all pattern.
3. The worker mines the examples (engine.pattern_mining) and writes the key ->
   pattern mapping next to the lines (`MAPPING_DIR`), which Lines queries join.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark_client.engine.error_masks import ERROR_TYPE_CHARS, mask_message
from spark_client.engine.pattern_mining import (
    CATCH_ALL,
    CATCH_ALL_ID,
    KeyFigures,
    Mined,
    Sparkline,
    patterns_of,
    rest_of,
    sparkline_for,
)
from spark_client.rows import LEVELS
from spark_client.types import EngineOptions

# A message is keyed (and mined) by its first KEY_CHARS characters.
KEY_CHARS = 1000
# The mapping's directory inside the run directory: Spark skips names starting with
# `_` when it reads the lines, so the lines dataset stays the lines.
MAPPING_DIR = "_patterns"
MAPPING_FILE = "keys.parquet"
# `error_type`: the type of the key's error lines (its pattern, cut as error types
# are). A mapping written before error types were patterns has no such column:
# read with this schema it is null, and those lines keep their stored type.
MAPPING_SCHEMA = "message_key bigint, pattern_id string, pattern string, error_type string"
ISO_SECONDS = "yyyy-MM-dd'T'HH:mm:ss"
# The replacement of every key mask: any constant groups alike.
KEY_MASK_REPLACEMENT = "<*>"
# A mapping of at most this many keys reaches the aggregation as a map written into
# its query (with_error_types): a broadcast join first runs a job of its own that
# reads and ships the mapping's file, about 0.3 s of a 1M-line analysis. A larger
# one is joined (a query's plan holds every key of an inline map).
INLINE_KEYS = 2000


def key_regex(masks: Sequence[str]) -> str:
    """The key masks as one regex, alternatives in their order: each regexp_replace
    decodes and re-encodes the text, so one pass costs about a third of three."""
    return "|".join(f"(?:{pattern})" for pattern in masks)


def message_key(message: Column, template: Column, masks: Sequence[str]) -> Column:
    """A line's key: its event template's hash if it has one (a loghub row), else
    the hash of its masked message's head; null for a line without a message."""
    text = F.substring(message, 1, KEY_CHARS)
    if masks:
        text = F.regexp_replace(text, key_regex(masks), KEY_MASK_REPLACEMENT)
    return F.when(template.isNotNull(), F.xxhash64(F.lit(1), template)).when(
        message.isNotNull(), F.xxhash64(F.lit(0), text)
    )


def error_type_of(pattern: str) -> str:
    """The error type of a pattern's error lines: the pattern, cut as every error
    type is (error_masks.ERROR_TYPE_CHARS), in the mapping and in the inline map."""
    return pattern[:ERROR_TYPE_CHARS]


def _error_type(typed: Column) -> Column:
    """A stored line's error type, `typed` being its key's error type in the mapping
    (null when the key is not in it): see with_patterns."""
    is_error, stored = F.col("is_error"), F.col("error_type")
    return (
        F.when(~is_error, stored)
        .when(typed.isNotNull(), typed)
        .when(stored.isNull() & F.col("event_template").isNull(), mask_message(F.col("message")))
        .otherwise(stored)
    )


def inline_error_types(mapping: Sequence[tuple[int, str, str]]) -> dict[int, str] | None:
    """The mined mapping's key -> error type, for `with_error_types`, when it has at
    most INLINE_KEYS keys; None when it is larger (the aggregation joins the mapping)."""
    if len(mapping) > INLINE_KEYS:
        return None
    return {key: error_type_of(template) for key, _, template in mapping}


def with_error_types(lines: DataFrame, error_types: dict[int, str]) -> DataFrame:
    """The stored lines with each error line's `error_type` as with_patterns gives
    it, from the key -> error type map written into the query (inline_error_types)
    instead of a join with the mapping's file."""
    typed = F.lit(None).cast("string")
    if error_types:
        keys = list(error_types)
        lookup = F.map_from_arrays(
            F.array(*[F.lit(k).cast("bigint") for k in keys]), F.array(*[F.lit(error_types[k]) for k in keys])
        )
        typed = F.try_element_at(lookup, F.col("message_key"))
    return lines.select(*[_error_type(typed).alias(c) if c == "error_type" else c for c in lines.columns])


def with_patterns(lines: DataFrame, mapping: DataFrame) -> DataFrame:
    """The stored lines with their `pattern_id` and `pattern` (the mapping is small:
    broadcast), and each error line's `error_type` its pattern (the mapping's
    `error_type`). A line whose key is not in the mapping (past the miner's cap)
    has the catch-all pattern and its masked message as its error type (masked
    here: the write leaves it null when it mines). A mapping from before error
    types were patterns has no `error_type`: its lines keep their stored type."""
    key, mapped = F.col("message_key"), F.col("_pattern")
    error_type = _error_type(F.col("_error_type"))
    joined = lines.join(
        F.broadcast(
            mapping.select(
                "message_key",
                F.col("pattern_id").alias("_id"),
                F.col("pattern").alias("_pattern"),
                F.col("error_type").alias("_error_type"),
            )
        ),
        on="message_key",
        how="left",
    )
    return joined.select(
        *[error_type.alias(c) if c == "error_type" else c for c in lines.columns],
        F.when(key.isNotNull(), F.coalesce(F.col("_id"), F.lit(CATCH_ALL_ID))).alias("pattern_id"),
        F.when(key.isNotNull(), F.coalesce(mapped, F.lit(CATCH_ALL))).alias("pattern"),
    )


def _source(spark, lines_dir: str) -> DataFrame:  # noqa: ANN001
    schema = (
        "message_key bigint, event_template string, message string, level string, ts timestamp, row_id bigint"
    )
    return spark.read.schema(schema).parquet(lines_dir).where(F.col("message_key").isNotNull())


def _figures(
    src: DataFrame, by: list[str], spark_line: Sparkline, error_levels: Sequence[str], examples: bool
) -> DataFrame:
    """Per `by` (or over all lines): lines, error lines (those of the `error_levels`,
    counted from the per-level counts: an error line is one of an error level, so
    no line's `is_error` is read), lines per level, first and last time, lines per
    sparkline bucket (a column each: numbers only, so the figures need no sort), and
    with `examples` the row id of an example line.

    Two groupings: the lines by (`by`, bucket, level) first, with plain counts,
    then those rows - far fewer than the lines - into a column per level and
    per bucket. Thirty conditional sums over every line cost a third of the
    step at 1M lines (0.93 -> 0.66 s)."""
    ts, level = F.col("ts"), F.col("level")
    bucket = F.lit(None).cast("int")
    if spark_line.start is not None:
        seconds = F.unix_seconds(ts) - F.lit(spark_line.start)
        bucket = F.least(F.floor(seconds / F.lit(spark_line.bucket_seconds)), F.lit(spark_line.buckets - 1))
    first = [
        F.count(F.lit(1)).alias("n"),
        F.min(ts).alias("min_ts"),
        F.max(ts).alias("max_ts"),
    ]
    if examples:
        # The example is the key's line with the least row id, fetched afterwards
        # (_examples): the least, not any, so the same lines give the same example,
        # and so the same templates, in every analysis; a row id, not the message,
        # because a text in an aggregation buffer makes Spark sort every line
        # (SortAggregate) where a number keeps it a hash aggregation.
        first.append(F.min("row_id").alias("ex"))
    parts = src.groupBy(*by, bucket.alias("bucket"), level.alias("level")).agg(*first)
    n, part_bucket = F.col("n"), F.col("bucket")
    buckets = []
    if spark_line.start is not None:
        buckets = [
            F.sum(F.when(part_bucket == i, n).otherwise(0)).alias(f"b{i}") for i in range(spark_line.buckets)
        ]
    aggs = [
        F.sum(n).alias("cnt"),
        F.sum(F.when(F.col("level").isin(list(error_levels)), n).otherwise(0)).alias("errors"),
        *[F.sum(F.when(F.col("level") == lv, n).otherwise(0)).alias(f"lv_{lv}") for lv in LEVELS],
        F.date_format(F.min("min_ts"), ISO_SECONDS).alias("first"),
        F.date_format(F.max("max_ts"), ISO_SECONDS).alias("last"),
        *buckets,
    ]
    if examples:
        aggs.append(F.min("ex").alias("example_row"))
    return parts.groupBy(*by).agg(*aggs) if by else parts.agg(*aggs)


def _examples(src: DataFrame, rows: list) -> dict[tuple[int, int], tuple[str, str | None]]:  # list[Row]
    """(key, row id) -> (message head, event template) of the keys' example rows:
    one query that reads only the row groups whose row ids may hold one (Parquet
    statistics). Row ids are unique within a file, so a key may see more than one
    file's row with its id: the least message of those is its example."""
    ids = sorted({int(r["example_row"]) for r in rows})
    if not ids:
        return {}
    found = (
        src.where(F.col("row_id").isin(ids))
        .select("message_key", "row_id", F.substring("message", 1, KEY_CHARS).alias("ex"), "event_template")
        .collect()
    )
    examples: dict[tuple[int, int], tuple[str, str | None]] = {}
    for r in found:
        at = (int(r["message_key"]), int(r["row_id"]))
        candidate = (r["ex"] or "", r["event_template"])
        if at not in examples or candidate[0] < examples[at][0]:
            examples[at] = candidate
    return examples


def _row_figures(
    row, key: int | None, buckets: int, example: tuple[str, str | None] = ("", None)
) -> KeyFigures:  # noqa: ANN001 - Row
    row = row.asDict()
    return KeyFigures(
        key=key,
        count=int(row["cnt"]),
        errors=int(row["errors"] or 0),
        levels={lv: int(row[f"lv_{lv}"]) for lv in LEVELS if row[f"lv_{lv}"]},
        first_ts=row["first"],
        last_ts=row["last"],
        example=example[0],
        template=example[1],
        buckets=[(i, int(row[f"b{i}"])) for i in range(buckets) if row.get(f"b{i}")],
    )


def key_figures(
    spark,  # noqa: ANN001
    lines_dir: str,
    spark_line: Sparkline,
    max_distinct: int,
    error_levels: Sequence[str],
    stats: dict,
) -> tuple[list[KeyFigures], KeyFigures | None]:
    """The `max_distinct` most frequent keys of the stored lines (one aggregation,
    then a top-k), and the rest past the cap (None when every key was collected)."""
    src = _source(spark, lines_dir)
    n = spark_line.buckets if spark_line.start is not None else 0
    keys = _figures(src, ["message_key"], spark_line, error_levels, examples=True)
    rows = keys.orderBy(F.desc("cnt"), F.asc("message_key")).limit(max_distinct + 1).collect()
    examples = _examples(src, rows)
    stats["spark_queries"] += 2 if rows else 1
    figures = []
    for r in rows:
        key = int(r["message_key"])
        figures.append(_row_figures(r, key, n, examples.get((key, int(r["example_row"])), ("", None))))
    if len(figures) <= max_distinct:
        return figures, None
    beyond, figures = figures[max_distinct], figures[:max_distinct]
    total = _figures(src, [], spark_line, error_levels, examples=False).collect()[0]
    stats["spark_queries"] += 1
    return figures, rest_of(_row_figures(total, None, n), figures, beyond.example)


def write_mapping(lines_dir: str, mapping: list[tuple[int, str, str]]) -> None:
    """The key -> pattern mapping as one Parquet file in MAPPING_DIR."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(lines_dir) / MAPPING_DIR
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "message_key": pa.array([m[0] for m in mapping], pa.int64()),
            "pattern_id": pa.array([m[1] for m in mapping], pa.string()),
            "pattern": pa.array([m[2] for m in mapping], pa.string()),
            "error_type": pa.array([error_type_of(m[2]) for m in mapping], pa.string()),
        }
    )
    pq.write_table(table, folder / MAPPING_FILE, compression="zstd")


def mine_patterns(  # noqa: ANN001
    spark, lines_dir: str, span: tuple[str | None, str | None], options: EngineOptions, stats: dict
) -> Mined:
    """Job 3 and the mining: the document's `patterns`, and the mapping written.
    `span`: the first and last time of the lines (ISO seconds), for the sparklines."""
    config = options.patterns
    spark_line = sparkline_for(*span)
    keys, rest = key_figures(spark, lines_dir, spark_line, config.max_distinct, options.error_levels, stats)
    mined = patterns_of(keys, rest, config, spark_line, max_listed=options.patterns_max_listed)
    write_mapping(lines_dir, mined.mapping)
    return mined
