"""Spark's side of the pattern step (docs/patterns.md, "In the engine").

1. While the lines are written (engine.lines, job 1) each line gets a
   `message_key`: xxhash64 of its message's first KEY_CHARS characters with the
   key masks (`analytics.patterns.key_masks`, default the number mask) applied,
   or of its loghub event template. Stored in the Parquet.
2. After the aggregation (job 2), `key_figures` (job 3) reads the stored lines'
   key, level, time and message, groups them by (key, sparkline bucket) and then
   by key, and sends the `max_distinct` most frequent keys with one example
   message each: bounded rows, whatever the input. Only when there are more keys
   does a fourth small query count the totals, so that the rest can be given the
   catch-all pattern.
3. The worker mines the examples (engine.pattern_mining) and writes the key ->
   pattern mapping next to the lines (`MAPPING_DIR`), which Lines queries join.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark_client.engine.pattern_mining import (
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
ISO_SECONDS = "yyyy-MM-dd'T'HH:mm:ss"
# The replacement of every key mask: any constant groups alike.
KEY_MASK_REPLACEMENT = "<*>"


def message_key(message: Column, template: Column, masks: Sequence[str]) -> Column:
    """A line's key: its event template's hash if it has one (a loghub row), else
    the hash of its masked message's head; null for a line without a message."""
    text = F.substring(message, 1, KEY_CHARS)
    for pattern in masks:
        text = F.regexp_replace(text, pattern, KEY_MASK_REPLACEMENT)
    return F.when(template.isNotNull(), F.xxhash64(F.lit(1), template)).when(
        message.isNotNull(), F.xxhash64(F.lit(0), text)
    )


def _source(spark, lines_dir: str) -> DataFrame:  # noqa: ANN001
    schema = "message_key bigint, event_template string, message string, level string, is_error boolean, ts timestamp"
    return spark.read.schema(schema).parquet(lines_dir).where(F.col("message_key").isNotNull())


def _figures() -> list[Column]:
    """Sums over rows already counted per (key, bucket)."""
    return [
        F.sum("cnt").alias("cnt"),
        F.sum("errors").alias("errors"),
        *[F.sum(f"lv_{lv}").alias(f"lv_{lv}") for lv in LEVELS],
        F.min("first").alias("first"),
        F.max("last").alias("last"),
    ]


def _per_bucket(src: DataFrame, spark_line: Sparkline, group: list[str]) -> DataFrame:
    ts = F.col("ts")
    if spark_line.start is None:
        bucket = F.lit(None).cast("long")
    else:
        index = F.floor((F.unix_seconds(ts) - F.lit(spark_line.start)) / F.lit(spark_line.bucket_seconds))
        bucket = F.when(ts.isNotNull(), F.least(F.greatest(index, F.lit(0)), F.lit(spark_line.buckets - 1)))
    level = F.col("level")
    aggs = [
        F.count(F.lit(1)).alias("cnt"),
        F.sum(F.col("is_error").cast("long")).alias("errors"),
        *[F.sum(F.when(level == lv, 1).otherwise(0)).alias(f"lv_{lv}") for lv in LEVELS],
        F.min("ts").alias("first"),
        F.max("ts").alias("last"),
    ]
    if "message_key" in group:
        aggs += [
            F.any_value(F.substring("message", 1, KEY_CHARS)).alias("example"),
            F.any_value("event_template").alias("template"),
        ]
    return src.groupBy(*group, bucket.cast("long").alias("b")).agg(*aggs)


def _row_figures(row, key: int | None) -> KeyFigures:  # noqa: ANN001 - Row
    row = row.asDict()
    return KeyFigures(
        key=key,
        count=int(row["cnt"]),
        errors=int(row["errors"] or 0),
        levels={lv: int(row[f"lv_{lv}"] or 0) for lv in LEVELS if row[f"lv_{lv}"]},
        first_ts=row["first"],
        last_ts=row["last"],
        example=row.get("example") or "",
        template=row.get("template"),
        buckets=[(int(b), int(n)) for b, n in (row.get("buckets") or [])],
    )


def key_figures(
    spark,  # noqa: ANN001
    lines_dir: str,
    spark_line: Sparkline,
    max_distinct: int,
    stats: dict,
) -> tuple[list[KeyFigures], KeyFigures | None]:
    """The `max_distinct` most frequent keys of the stored lines, and the rest past
    the cap (None when every key was collected)."""
    src = _source(spark, lines_dir)
    per = _per_bucket(src, spark_line, ["message_key"])
    pairs = F.collect_list(F.when(F.col("b").isNotNull(), F.array(F.col("b"), F.col("cnt"))))
    keys = per.groupBy("message_key").agg(
        *_figures(),
        F.any_value("example").alias("example"),
        F.any_value("template").alias("template"),
        pairs.alias("buckets"),
    )
    top = keys.orderBy(F.desc("cnt"), F.asc("message_key")).limit(max_distinct + 1)
    rows = top.select(
        "message_key",
        *[c for c in keys.columns if c not in ("message_key", "first", "last")],
        F.date_format("first", ISO_SECONDS).alias("first"),
        F.date_format("last", ISO_SECONDS).alias("last"),
    ).collect()
    stats["spark_queries"] += 1
    figures = [_row_figures(r, int(r["message_key"])) for r in rows]
    if len(figures) <= max_distinct:
        return figures, None
    beyond, figures = figures[max_distinct], figures[:max_distinct]
    totals = _per_bucket(src, spark_line, [])
    total_rows = totals.select(
        *[c for c in totals.columns if c not in ("first", "last")],
        F.date_format("first", ISO_SECONDS).alias("first"),
        F.date_format("last", ISO_SECONDS).alias("last"),
    ).collect()
    stats["spark_queries"] += 1
    total = KeyFigures(
        key=None,
        count=sum(int(r["cnt"]) for r in total_rows),
        errors=sum(int(r["errors"] or 0) for r in total_rows),
        levels={lv: sum(int(r[f"lv_{lv}"] or 0) for r in total_rows) for lv in LEVELS},
        first_ts=min((r["first"] for r in total_rows if r["first"]), default=None),
        last_ts=max((r["last"] for r in total_rows if r["last"]), default=None),
        example="",
        buckets=[(int(r["b"]), int(r["cnt"])) for r in total_rows if r["b"] is not None],
    )
    return figures, rest_of(total, figures, beyond.example)


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
        }
    )
    pq.write_table(table, folder / MAPPING_FILE, compression="zstd")


def mine_patterns(spark, lines_dir: str, summary: dict, options: EngineOptions, stats: dict) -> Mined:  # noqa: ANN001
    """Job 3 and the mining: the document's `patterns`, and the mapping written."""
    config = options.patterns
    spark_line = sparkline_for(summary.get("first_ts"), summary.get("last_ts"))
    keys, rest = key_figures(spark, lines_dir, spark_line, config.max_distinct, stats)
    mined = patterns_of(keys, rest, config, spark_line, max_listed=options.patterns_max_listed)
    write_mapping(lines_dir, mined.mapping)
    return mined
