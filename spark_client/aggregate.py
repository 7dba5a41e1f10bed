"""Every aggregate of an analysis in one Spark query over one read of the input.

One `GROUPING SETS` aggregation computes all the group counts at once; a linear
chain of window functions on those (already small) groups ranks and caps the
high-cardinality keys; a last aggregation folds capped keys into "(other)". The
plan is deliberately linear: a branch (union or self-join of the aggregate)
would let the optimizer push each branch's filter below the aggregate and scan
the input once per branch.

Only the final, bounded result rows leave Spark (as Arrow).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spark_client.types import EngineOptions

OTHER = "(other)"

# Grouping columns; the order fixes the bits of grouping_id().
KEYS = (
    "file_id",
    "status",
    "level",
    "has_ts",
    "hour",
    "service",
    "error_type",
    "ip_err",
    "ip",
    "err_msg",
    "err_minute",
    "sample",
)

SETS: dict[str, tuple[str, ...]] = {
    "file": ("file_id", "status", "level", "has_ts"),  # summary and per-file counts
    "svc": ("hour", "level", "service"),  # rollup 1: every row
    "et": ("hour", "level", "service", "error_type"),  # rollup 2: error rows
    "ipe": ("hour", "level", "service", "ip_err"),  # rollup 3: error rows with an IP
    "ip": ("ip",),  # distinct IPs over every row
    "msg": ("err_msg",),  # top error messages
    "min": ("err_minute",),  # error trends, re-bucketed below
    "sample": ("file_id", "sample"),  # unparsed line samples
}

# Bucket sizes for error_trends, smallest first.
BUCKET_LADDER = (60, 300, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800, 2592000)

ISO_SECONDS = "yyyy-MM-dd'T'HH:mm:ss"


def grouping_id(keys_in_set: tuple[str, ...]) -> int:
    """Spark sets a bit for each grouping column *absent* from the set, first column highest."""
    n = len(KEYS)
    return sum(1 << (n - 1 - i) for i, key in enumerate(KEYS) if key not in keys_in_set)


GID = {name: grouping_id(cols) for name, cols in SETS.items()}


def _base(norm: DataFrame) -> DataFrame:
    is_error = F.col("is_error")
    return norm.filter(F.col("status") != "blank").select(
        "file_id",
        "status",
        "level",
        F.col("ts").isNotNull().alias("has_ts"),
        F.date_trunc("hour", "ts").alias("hour"),
        "service",
        "error_type",
        F.when(is_error, F.col("ip")).alias("ip_err"),
        "ip",
        F.when(is_error, F.substring(F.col("message"), 1, 1000)).alias("err_msg"),
        F.when(is_error, F.date_trunc("minute", "ts")).alias("err_minute"),
        "sample",
        "ts",
    )


def _bucket_seconds(span_seconds: Column, max_buckets: int) -> Column:
    expr = None
    for size in BUCKET_LADDER:
        cond = span_seconds / size + 1 <= max_buckets
        expr = F.when(cond, F.lit(size)) if expr is None else expr.when(cond, F.lit(size))
    return expr.otherwise(F.lit(BUCKET_LADDER[-1]))


def _capped(value: Column, rank: Column, cap: int) -> Column:
    return F.when(value.isNull(), None).when(rank <= cap, value).otherwise(F.lit(OTHER))


def aggregate(norm: DataFrame, options: EngineOptions) -> DataFrame:
    """The single query of an analysis. Its rows are decoded by `results.assemble`."""
    base = _base(norm)
    agg = base.groupingSets([list(cols) for cols in SETS.values()], *KEYS).agg(
        F.count(F.lit(1)).alias("cnt"),
        F.min("ts").alias("min_ts"),
        F.max("ts").alias("max_ts"),
        F.grouping_id().alias("gid"),
    )

    gid = F.col("gid")
    is_error_level = F.col("level").isin(list(options.error_levels))
    rollup_gids = [GID["svc"], GID["et"], GID["ipe"]]
    in_rollup = gid.isin(rollup_gids)
    # Rows of the three rollups share a window partition; every other set gets its own.
    grp = F.when(in_rollup, F.lit(-1)).otherwise(gid)
    by_grp = Window.partitionBy("grp")

    # Every window below is partitioned by grp (or grp plus a column), and the final
    # groupBy includes grp: one shuffle serves them all. The first window fixes it.
    ranked = (
        agg.withColumn("grp", grp)
        .withColumn("min_minute", F.min("err_minute").over(by_grp))
        .withColumn("max_minute", F.max("err_minute").over(by_grp))
        # Services are ranked by their errors, then by all their rows, so the top
        # of errors_per_service is exact and the same cap applies to all rollups.
        .withColumn(
            "svc_err",
            F.sum(F.when((gid == GID["svc"]) & is_error_level, F.col("cnt"))).over(
                Window.partitionBy("grp", "service")
            ),
        )
        .withColumn(
            "svc_all",
            F.sum(F.when(gid == GID["svc"], F.col("cnt"))).over(Window.partitionBy("grp", "service")),
        )
        .withColumn(
            "et_total",
            F.sum(F.when(gid == GID["et"], F.col("cnt"))).over(Window.partitionBy("grp", "error_type")),
        )
        .withColumn(
            "ipe_total",
            F.sum(F.when(gid == GID["ipe"], F.col("cnt"))).over(Window.partitionBy("grp", "ip_err")),
        )
        .withColumn(
            "svc_rank",
            F.dense_rank().over(
                Window.partitionBy("grp").orderBy(
                    F.col("service").isNull(),
                    F.desc_nulls_last("svc_err"),
                    F.desc_nulls_last("svc_all"),
                    F.col("service"),
                )
            ),
        )
        .withColumn(
            "et_rank",
            F.dense_rank().over(
                Window.partitionBy("grp").orderBy(
                    F.col("error_type").isNull(), F.desc_nulls_last("et_total"), F.col("error_type")
                )
            ),
        )
        .withColumn(
            "ipe_rank",
            F.dense_rank().over(
                Window.partitionBy("grp").orderBy(
                    F.col("ip_err").isNull(), F.desc_nulls_last("ipe_total"), F.col("ip_err")
                )
            ),
        )
        .withColumn(
            "msg_rank",
            F.row_number().over(
                Window.partitionBy("grp").orderBy(F.col("err_msg").isNull(), F.desc("cnt"), F.col("err_msg"))
            ),
        )
        .withColumn(
            "sample_rank",
            F.row_number().over(
                Window.partitionBy("grp", "file_id").orderBy(
                    F.col("sample").isNull(), F.desc("cnt"), F.col("sample")
                )
            ),
        )
    )

    span = F.unix_seconds(F.col("max_minute")) - F.unix_seconds(F.col("min_minute"))
    bucket = _bucket_seconds(span, options.trend_max_buckets)
    bucket_start = F.timestamp_seconds(F.floor(F.unix_seconds(F.col("err_minute")) / bucket) * bucket)

    keep = (
        (gid == GID["file"])
        | (
            in_rollup
            & F.col("level").isNotNull()
            & ((gid != GID["et"]) | F.col("error_type").isNotNull())
            & ((gid != GID["ipe"]) | F.col("ip_err").isNotNull())
        )
        | (gid == GID["ip"])
        | ((gid == GID["msg"]) & F.col("err_msg").isNotNull() & (F.col("msg_rank") <= options.top_n))
        | ((gid == GID["min"]) & F.col("err_minute").isNotNull())
        | (
            (gid == GID["sample"])
            & F.col("sample").isNotNull()
            & (F.col("sample_rank") <= options.unparsed_samples_per_file)
        )
    )
    cap = options.rollup_cap
    is_min = gid == GID["min"]
    capped = ranked.filter(keep).select(
        "grp",
        "gid",
        "file_id",
        "status",
        "level",
        "has_ts",
        "hour",
        _capped(F.col("service"), F.col("svc_rank"), cap).alias("service"),
        _capped(F.col("error_type"), F.col("et_rank"), cap).alias("error_type"),
        _capped(F.col("ip_err"), F.col("ipe_rank"), cap).alias("ip_err"),
        "err_msg",
        F.when(is_min, bucket_start).alias("bucket_start"),
        F.when(is_min, bucket).alias("bucket_seconds"),
        "sample",
        "cnt",
        "min_ts",
        "max_ts",
        F.when((gid == GID["svc"]) & F.col("service").isNotNull(), F.col("svc_rank")).alias("svc_rank"),
        F.when((gid == GID["et"]) & F.col("error_type").isNotNull(), F.col("et_rank")).alias("et_rank"),
        F.when((gid == GID["ip"]) & F.col("ip").isNotNull(), F.lit(1)).alias("ip_group"),
    )
    group_cols = [
        "grp",
        "gid",
        "file_id",
        "status",
        "level",
        "has_ts",
        "hour",
        "service",
        "error_type",
        "ip_err",
        "err_msg",
        "bucket_start",
        "bucket_seconds",
        "sample",
    ]
    final = capped.groupBy(*group_cols).agg(
        F.sum("cnt").alias("cnt"),
        F.min("min_ts").alias("min_ts"),
        F.max("max_ts").alias("max_ts"),
        F.max("svc_rank").alias("distinct_services"),
        F.max("et_rank").alias("distinct_error_types"),
        F.sum("ip_group").alias("distinct_ips"),
    )
    return final.select(
        "gid",
        "file_id",
        "status",
        "level",
        "has_ts",
        F.date_format("hour", "yyyy-MM-dd'T'HH:00:00").alias("hour"),
        "service",
        "error_type",
        F.col("ip_err").alias("ip"),
        F.col("err_msg").alias("message"),
        F.date_format("bucket_start", ISO_SECONDS).alias("bucket_start"),
        "bucket_seconds",
        "sample",
        F.col("cnt").cast("long").alias("cnt"),
        F.date_format("min_ts", ISO_SECONDS).alias("min_ts"),
        F.date_format("max_ts", ISO_SECONDS).alias("max_ts"),
        "distinct_services",
        "distinct_error_types",
        F.col("distinct_ips").cast("long").alias("distinct_ips"),
    )
