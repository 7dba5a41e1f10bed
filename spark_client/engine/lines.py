"""The stored lines (spark_client.lines_layout): the analysis's normalised rows
written as Parquet, then read back by the aggregation, so the files are parsed once.

    normalised rows -> write (job 1: sorted by level and time, partitioned by level)
    Parquet -> the normalised columns again -> aggregate (job 2)

The blocks that number the rows come from two places: the write observes where
each Spark partition of a file starts (its first row), and the Parquet footers
count the rows each partition wrote.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F

from spark_client.engine.detect import Detected
from spark_client.engine.files import csv_skipped_lines
from spark_client.engine.normalize import SAMPLE_CHARS
from spark_client.engine.parsers import csv_multiline
from spark_client.engine.pattern_keys import (
    ISO_SECONDS,
    MAPPING_SCHEMA,
    message_key,
    with_error_types,
    with_patterns,
)
from spark_client.lines_layout import COLUMNS, PARTITION_COLUMN, LinesManifest, number_blocks
from spark_client.rows import NORMALISED_COLUMNS

logger = logging.getLogger(__name__)

# Stored beside the contract's columns because the aggregation or the pattern step
# reads them and nothing else holds them: whether the timestamp got the assumed
# year, a loghub row's event template, and the line's message key
# (engine.pattern_keys; null when patterns are off).
EXTRA_COLUMNS = (("year_assumed", "boolean"), ("event_template", "string"), ("message_key", "bigint"))
STORED = COLUMNS + EXTRA_COLUMNS
SCHEMA = ", ".join(f"{name} {kind}" for name, kind in STORED)

# Row groups small enough that the min/max of `ts` in each prune a time range
# within one part file; zstd: the lines are text that compresses well.
ROW_GROUP_BYTES = 16 * 1024 * 1024
COMPRESSION = "zstd"
# Messages are mostly distinct: the writer's attempt at a dictionary for them is
# work thrown away (1M CSV lines: 2.42 -> 2.29 s for the write, same bytes).
NO_DICTIONARY = ("parquet.enable.dictionary#message", "false")
# Parquet's default timestamp type (INT96) has no min/max statistics.
TIMESTAMP_CONF = ("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
# A CSV file with more skipped lines than this (say, double-spaced) is numbered
# by its records: the blocks are kept in the result document.
MAX_SKIPPED_LINES = 1000

PARTITION_BITS = 33  # monotonically_increasing_id: partition << 33 | index in partition


def stored(norm: DataFrame, key_masks: Sequence[str] | None = None) -> DataFrame:
    """The normalised rows as they are stored: a row without a message (unparsed,
    continuation) shows its raw line. With `key_masks` (patterns on) each row gets
    its message key."""
    message = F.coalesce(F.col("message"), F.col("line"))
    key = F.lit(None).cast("bigint")
    if key_masks is not None:
        key = message_key(message, F.col("event_template"), key_masks)
    exprs = {
        "file": F.col("file_id"),
        "message": message,
        "message_key": key,
    }
    return norm.select(*[exprs.get(name, F.col(name)).alias(name) for name, _ in STORED])


@dataclass(frozen=True)
class Written:
    """What job 1 saw while it wrote: (file, block_start, base_row_id) of every
    Spark partition that read rows (its first row has index 0 in the partition),
    and the first and last time of any line (ISO seconds, as the summary's)."""

    starts: list[tuple[int, int, int]]
    first_ts: str | None
    last_ts: str | None


def write(  # noqa: ANN001
    spark, norm: DataFrame, lines_dir: str, key_masks: Sequence[str] | None = None
) -> Written:
    """Job 1: write the rows."""
    first = F.col("row_id").bitwiseAND((1 << PARTITION_BITS) - 1) == 0
    starts = Observation(f"lines_blocks_{uuid.uuid4().hex}")
    observed = norm.observe(
        starts,
        F.collect_list(F.when(first, F.struct("file_id", "block_start", "row_id"))).alias("starts"),
        F.date_format(F.min("ts"), ISO_SECONDS).alias("first_ts"),
        F.date_format(F.max("ts"), ISO_SECONDS).alias("last_ts"),
    )
    spark.conf.set(*TIMESTAMP_CONF)
    (
        # Level first: the writer needs each task's rows by partition directory
        # and would otherwise sort them again, by level alone.
        stored(observed, key_masks)
        .sortWithinPartitions(PARTITION_COLUMN, "ts")
        .write.mode("overwrite")
        .partitionBy(PARTITION_COLUMN)
        .option("compression", COMPRESSION)
        .option("parquet.block.size", ROW_GROUP_BYTES)
        .option(*NO_DICTIONARY)
        .parquet(lines_dir)
    )
    seen = starts.get
    return Written(
        starts=sorted({(int(r["file_id"]), int(r["block_start"]), int(r["row_id"])) for r in seen["starts"]}),
        first_ts=seen["first_ts"],
        last_ts=seen["last_ts"],
    )


def read(  # noqa: ANN001
    spark,
    lines_dir: str,
    mapping: str | None = None,
    error_levels: Sequence[str] = (),
    error_types: dict[int, str] | None = None,
) -> DataFrame:
    """Job 2's input: the stored rows as the normalised columns the aggregation
    reads. With the key -> pattern `mapping` an error line's type is its pattern
    (pattern_keys.with_patterns): only the lines of the `error_levels`' partition
    directories are joined to it, the others are read as they are. With
    `error_types` (pattern_keys.inline_error_types, a small mapping) the error
    lines' types come from that map in the query instead of a join."""
    df = spark.read.schema(SCHEMA).parquet(lines_dir)
    if error_types is not None:
        df = with_error_types(df, error_types)
    elif mapping is not None:
        errors = F.col(PARTITION_COLUMN).isin(list(error_levels))
        typed = with_patterns(df.where(errors), spark.read.schema(MAPPING_SCHEMA).parquet(mapping))
        others = df.where(~errors | F.col(PARTITION_COLUMN).isNull())
        df = others.unionByName(typed.select(*df.columns))
    status = F.col("status")
    raw = status.isin("unparsed", "continuation")
    exprs = {
        "file_id": F.col("file"),
        "message": F.when(~raw, F.col("message")),
        "sample": F.when(status == "unparsed", F.substring(F.col("message"), 1, SAMPLE_CHARS)),
        "line": F.when(raw, F.col("message")),
        "block_start": F.lit(None).cast("long"),
    }
    return df.select(*[exprs.get(name, F.col(name)).alias(name) for name in NORMALISED_COLUMNS])


class SkippedLines:
    """The lines of each file that have no row (`number_blocks`' `skipped`),
    found in a background thread while the lines are written: a CSV file's
    header, and its blank lines when it is read line by line (Spark's CSV reader
    drops them before the ids are taken). Keyed by the file's position."""

    def __init__(self, paths: dict[int, str], detected: dict[int, Detected], multiline_max: int) -> None:
        self.skipped: dict[int, list[int]] = {}
        scan = {}
        for position, (fid, det) in enumerate(detected.items()):
            if det.csv is None:
                continue
            self.skipped[position] = [1]
            if not csv_multiline(det, multiline_max):
                scan[position] = paths[fid]
        self.thread = None
        if scan:
            self.thread = threading.Thread(
                target=self._run, args=(scan,), name="csv-blank-lines", daemon=True
            )
            self.thread.start()

    def _run(self, paths: dict[int, str]) -> None:
        for position, path in paths.items():
            try:
                found = csv_skipped_lines(Path(path), MAX_SKIPPED_LINES)
            except OSError:
                logger.warning("the blank lines of %s could not be read: its records are numbered", path)
                continue
            if found is not None:
                self.skipped[position] = found

    def result(self) -> dict[int, list[int]]:
        if self.thread is not None:
            self.thread.join()
        return self.skipped


def _footer_counts(lines_dir: Path) -> dict[tuple[int, int], int] | None:
    """Rows per (file, Spark partition), from the part files' footers.

    A write task writes one Spark partition of one file (no shuffle comes before
    the write), so each row group has one `file` and one partition in its
    `row_id`s; None if the statistics do not show that.
    """
    import pyarrow.parquet as pq

    counts: dict[tuple[int, int], int] = {}
    for path in lines_dir.glob(f"{PARTITION_COLUMN}=*/*.parquet"):  # not the patterns mapping
        meta = pq.read_metadata(path)
        names = [meta.schema.column(i).name for i in range(meta.num_columns)]
        file_col, id_col = names.index("file"), names.index("row_id")
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            files, ids = group.column(file_col).statistics, group.column(id_col).statistics
            if files is None or ids is None or not files.has_min_max or not ids.has_min_max:
                return None
            partition = ids.min >> PARTITION_BITS
            if files.min != files.max or ids.max >> PARTITION_BITS != partition:
                return None
            key = (files.min, partition)
            counts[key] = counts.get(key, 0) + group.num_rows
    return counts


def _spark_counts(spark, lines_dir: str) -> dict[tuple[int, int], int]:  # noqa: ANN001
    rows = (
        spark.read.schema(SCHEMA)
        .parquet(lines_dir)
        .groupBy("file", F.shiftright("row_id", PARTITION_BITS).alias("partition"))
        .count()
        .collect()
    )
    return {(r["file"], r["partition"]): r["count"] for r in rows}


def manifest(
    spark,  # noqa: ANN001
    lines_dir: str,
    starts: Iterable[tuple[int, int, int]],
    files: list[int],
    skipped: dict[int, list[int]],
) -> LinesManifest:
    """What was written: blocks (lines_layout), rows and bytes on disk."""
    root = Path(lines_dir)
    counts = _footer_counts(root)
    if counts is None:
        logger.info("Parquet statistics do not separate the partitions: counting rows in Spark")
        counts = _spark_counts(spark, lines_dir)
    parts = []
    for file, block_start, base in starts:
        count = counts.pop((file, base >> PARTITION_BITS), 0)
        parts.append((file, block_start, base, count))
    if counts:  # every partition that wrote rows has a first row
        raise RuntimeError(f"rows stored without a block: {sorted(counts)}")
    blocks = number_blocks(parts, skipped=skipped)
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return LinesManifest(files=files, blocks=blocks, rows=sum(b[3] for b in blocks), bytes=size)
