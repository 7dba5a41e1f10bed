"""Every aggregate of an analysis in one Spark query over one read of the input.

The normalised rows are read once. Each row is copied into the *sets* it belongs
to (an `explode` over a constant array of set ids, chosen per row: every row
feeds the file/service set and the IP set, error rows also feed the four error
sets, unparsed rows the sample set, cut lines the truncated set), and one hash
aggregation counts every set
at once. This is a grouping-sets query that only emits the copies that can hold
a value: Spark's own GROUPING SETS would emit all eight sets for every row,
three times the rows for the aggregation to hash.

The grouped rows are small next to the input, except the distinct error
messages and the (hour, level, service, IP) rollup. A linear chain of window
functions then ranks and caps the high-cardinality keys; the first window drops
every message outside the top N (already within each aggregation task), so the
later ones see only the rollups. A last aggregation folds capped keys into
"(other)", counts the distinct IPs and splits the file/service rows into the
per-file summary and the service rollup.

The plan is deliberately linear: a branch (union or self-join of the aggregate)
would let the optimizer push each branch's filter below the aggregate and scan
the input once per branch. Only the final, bounded rows leave Spark (as Arrow).

That tail (the windows and the last aggregation) costs more than the reading for a
small input, so for one the engine runs only `grouped` and the worker ranks, caps
and folds its rows into the same result rows (engine.finish).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spark_client.engine.normalize import MESSAGE_KEY_CHARS
from spark_client.rows import OTHER, CountSet, Group
from spark_client.types import EngineOptions

# Bucket sizes for error_trends, smallest first.
BUCKET_LADDER = (60, 300, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800, 2592000)

ISO_SECONDS = "yyyy-MM-dd'T'HH:mm:ss"


def _sets(norm: DataFrame) -> DataFrame:
    """One row per (input row, set it belongs to), with the set's keys in generic columns.

    Generic columns keep the aggregation key narrow: `t` is the hour (or the error
    minute for ERROR_MINUTES), `key` the set's own key (IP, error type, message or sample).
    """
    status = F.col("status")
    is_error = F.col("is_error")

    def sets(*ids: int) -> Column:
        # A cut line (rare) also feeds the truncated set.
        return F.when(F.col("truncated"), F.array(*[F.lit(s) for s in (*ids, CountSet.TRUNCATED)])).otherwise(
            F.array(*[F.lit(s) for s in ids])
        )

    # Blank lines belong to no set. (An empty array rather than a filter: a filter
    # on the status would be pushed below the parse and run its regexes twice.)
    sid_list = (
        F.when(status == "blank", F.array().cast("array<int>"))
        .when(status == "unparsed", sets(CountSet.FILE_AND_SERVICE, CountSet.SAMPLES))
        .when(
            is_error,
            sets(
                CountSet.FILE_AND_SERVICE,
                CountSet.IPS,
                CountSet.ERROR_TYPES,
                CountSet.ERROR_IPS,
                CountSet.ERROR_MESSAGES,
                CountSet.ERROR_MINUTES,
            ),
        )
        .otherwise(sets(CountSet.FILE_AND_SERVICE, CountSet.IPS))
    )
    rows = norm.select(
        "file_id",
        "status",
        "level",
        "ts",
        "service",
        "ip",
        "error_type",
        F.substring(F.col("message"), 1, MESSAGE_KEY_CHARS).alias("message"),
        "sample",
        "year_assumed",
        F.explode(sid_list).alias("sid"),
    )
    sid = F.col("sid")
    rollup = sid.isin(CountSet.FILE_AND_SERVICE, CountSet.ERROR_TYPES, CountSet.ERROR_IPS)
    key = (
        F.when(sid.isin(CountSet.IPS, CountSet.ERROR_IPS), F.col("ip"))
        .when(sid == CountSet.ERROR_TYPES, F.col("error_type"))
        .when(sid == CountSet.ERROR_MESSAGES, F.col("message"))
        .when(sid == CountSet.SAMPLES, F.col("sample"))
    )
    t = F.when(rollup, F.date_trunc("hour", "ts")).when(
        sid == CountSet.ERROR_MINUTES, F.date_trunc("minute", "ts")
    )
    keyed = rows.select(
        sid,
        F.when(
            sid.isin(CountSet.FILE_AND_SERVICE, CountSet.SAMPLES, CountSet.TRUNCATED), F.col("file_id")
        ).alias("file_id"),
        F.when(sid == CountSet.FILE_AND_SERVICE, F.col("status")).alias("status"),
        F.when(rollup, F.col("level")).alias("level"),
        F.when(sid == CountSet.FILE_AND_SERVICE, F.col("ts").isNotNull()).alias("has_ts"),
        F.when(sid == CountSet.FILE_AND_SERVICE, F.col("year_assumed")).alias("year_assumed"),
        t.alias("t"),
        F.when(rollup, F.col("service")).alias("service"),
        key.alias("key"),
        F.when(sid == CountSet.FILE_AND_SERVICE, F.col("ts")).alias("ts"),
    )
    # A set with no value for its key holds nothing (no IP, no timestamp).
    keyless = (
        sid.isin(
            CountSet.IPS, CountSet.ERROR_TYPES, CountSet.ERROR_IPS, CountSet.ERROR_MESSAGES, CountSet.SAMPLES
        )
        & F.col("key").isNull()
    ) | ((sid == CountSet.ERROR_MINUTES) & F.col("t").isNull())
    return keyed.filter(~keyless)


def _bucket_seconds(span_seconds: Column, max_buckets: int) -> Column:
    expr = None
    for size in BUCKET_LADDER:
        cond = span_seconds / size + 1 <= max_buckets
        expr = F.when(cond, F.lit(size)) if expr is None else expr.when(cond, F.lit(size))
    return expr.otherwise(F.lit(BUCKET_LADDER[-1]))


def _capped(value: Column, rank: Column, cap: int) -> Column:
    return F.when(value.isNull(), None).when(rank <= cap, value).otherwise(F.lit(OTHER))


def _ranked(agg: DataFrame, options: EngineOptions) -> DataFrame:
    """Ranks and caps over the grouped rows.

    1. Distinct error messages are most of the grouped rows (a message with a
       number in it is seldom repeated). They are ranked first, alone in their
       window: every other row gets a window partition of its own (rank 1), so the
       filter is a plain `rank <= limit` and Spark keeps only the top of each
       aggregation task before the next shuffle (a WindowGroupLimit): 10^6 rows
       become a few hundred instead of being sorted in one task.
    2. Every later window is partitioned by `g` (rollup sets or not) plus its own
       keys, and the first one by `g` alone: hash partitioning on `g` then
       satisfies them all, so that chain runs in the tasks of one stage.
    """
    sid = F.col("sid")
    cnt = F.col("cnt")
    key = F.col("key")
    rollup = sid.isin(CountSet.FILE_AND_SERVICE, CountSet.ERROR_TYPES, CountSet.ERROR_IPS)
    is_error_level = F.col("level").isin(list(options.error_levels))

    limited = sid.isin(CountSet.ERROR_MESSAGES, CountSet.SAMPLES)
    own = [
        F.when(~limited, F.col(c))
        for c in ("status", "level", "has_ts", "year_assumed", "t", "service", "key")
    ]
    top = Window.partitionBy("g", "sid", "file_id", *own).orderBy(F.desc("cnt"), F.asc("key"))
    limit = max(options.top_n, options.unparsed_samples_per_file)
    # Window columns of one spec go in one select: Spark then runs them in one
    # Window operator (a chain of withColumn gives one operator, and a pass over
    # the rows, each).
    grouped = agg.withColumn("g", rollup)
    topped = grouped.select("*", F.row_number().over(top).alias("rn")).filter(F.col("rn") <= limit)

    # The span of error minutes, per partition of g. (Distinct IPs are counted by
    # the final aggregation: all IP rows fold into one group there.)
    by_g = Window.partitionBy("g")
    first = topped.select(
        "*",
        F.min(F.when(sid == CountSet.ERROR_MINUTES, F.col("t"))).over(by_g).alias("min_minute"),
        F.max(F.when(sid == CountSet.ERROR_MINUTES, F.col("t"))).over(by_g).alias("max_minute"),
    )
    kept = first.filter(
        (sid != CountSet.SAMPLES) | (F.col("rn") <= options.unparsed_samples_per_file)
    ).filter((sid != CountSet.ERROR_MESSAGES) | (F.col("rn") <= options.top_n))

    # Totals per service (from FILE_AND_SERVICE rows: errors, then all rows) and per
    # error type or IP (from ERROR_TYPES / ERROR_IPS rows), on every rollup row.
    per_service = Window.partitionBy("g", "service")
    per_key = Window.partitionBy("g", "sid", "key")
    totals = kept.select(
        "*",
        F.sum(F.when((sid == CountSet.FILE_AND_SERVICE) & is_error_level, cnt))
        .over(per_service)
        .alias("svc_err"),
        F.sum(F.when(sid == CountSet.FILE_AND_SERVICE, cnt)).over(per_service).alias("svc_all"),
    ).select("*", F.sum(cnt).over(per_key).alias("key_total"))
    # Ranks. Services are ranked by their errors, then by all their rows, so the
    # top of errors_per_service is exact and the same cap applies to all rollups.
    service_order = Window.partitionBy("g").orderBy(
        F.col("service").isNull(),
        F.desc_nulls_last("svc_err"),
        F.desc_nulls_last("svc_all"),
        F.col("service"),
    )
    key_order = Window.partitionBy("g", "sid").orderBy(key.isNull(), F.desc_nulls_last("key_total"), key)
    return totals.select("*", F.dense_rank().over(service_order).alias("svc_rank")).select(
        "*", F.dense_rank().over(key_order).alias("key_rank")
    )


def _grouped(norm: DataFrame) -> DataFrame:
    """The one hash aggregation: every set's rows counted at once."""
    return (
        _sets(norm)
        .groupBy("sid", "file_id", "status", "level", "has_ts", "year_assumed", "t", "service", "key")
        .agg(
            F.count(F.lit(1)).alias("cnt"),
            F.min("ts").alias("min_ts"),
            F.max("ts").alias("max_ts"),
        )
    )


def grouped(norm: DataFrame) -> DataFrame:
    """The query of a small analysis: the grouped rows, before any rank or cap.

    Ranking and capping them in Spark (the windows of `_ranked` and the last
    aggregation, three more stages, one of them a single task) costs more than the
    reading of a small input; `engine.finish` does the same to these rows in the
    worker for a fraction of that. Rollup hours and first/last
    timestamps are formatted here, as `aggregate` formats them; error minutes
    travel as epoch seconds, for the trend buckets.
    """
    sid = F.col("sid")
    return _grouped(norm).select(
        "sid",
        "file_id",
        "status",
        "level",
        "has_ts",
        "year_assumed",
        F.when(
            sid.isin(CountSet.FILE_AND_SERVICE, CountSet.ERROR_TYPES, CountSet.ERROR_IPS),
            F.date_format("t", "yyyy-MM-dd'T'HH:00:00"),
        ).alias("hour"),
        F.when(sid == CountSet.ERROR_MINUTES, F.unix_seconds("t")).alias("minute"),
        "service",
        "key",
        F.col("cnt").cast("long").alias("cnt"),
        F.date_format("min_ts", ISO_SECONDS).alias("min_ts"),
        F.date_format("max_ts", ISO_SECONDS).alias("max_ts"),
    )


def aggregate(norm: DataFrame, options: EngineOptions) -> DataFrame:
    """The single query of an analysis. Its rows are decoded by `results.assemble`."""
    ranked = _ranked(_grouped(norm), options)

    sid = F.col("sid")
    # FILE_AND_SERVICE rows become two result rows: one of the per-file summary, one of the
    # service rollup (rows without a level, i.e. unparsed lines, only the first).
    gid_list = (
        F.when(
            (sid == CountSet.FILE_AND_SERVICE) & F.col("level").isNotNull(),
            F.array(F.lit(Group.FILE), F.lit(Group.SERVICE_ROLLUP)),
        )
        .when(sid == CountSet.FILE_AND_SERVICE, F.array(F.lit(Group.FILE)))
        .otherwise(F.array(sid))
    )
    rows = ranked.withColumn("gid", F.explode(gid_list))
    gid = F.col("gid")
    cap = options.rollup_cap
    is_min = gid == Group.ERROR_TRENDS
    in_rollup = gid.isin(Group.SERVICE_ROLLUP, Group.ERROR_TYPE_ROLLUP, Group.IP_ROLLUP)
    is_file = gid == Group.FILE
    span = F.unix_seconds(F.col("max_minute")) - F.unix_seconds(F.col("min_minute"))
    bucket = _bucket_seconds(span, options.trend_max_buckets)
    minute = F.col("t")
    bucket_start = F.timestamp_seconds(F.floor(F.unix_seconds(minute) / bucket) * bucket)
    service = _capped(F.col("service"), F.col("svc_rank"), cap)
    capped_key = _capped(F.col("key"), F.col("key_rank"), cap)
    capped = rows.select(
        "gid",
        F.when(is_file | gid.isin(Group.SAMPLES, Group.TRUNCATED), F.col("file_id")).alias("file_id"),
        F.when(is_file, F.col("status")).alias("status"),
        F.when(is_file | in_rollup, F.col("level")).alias("level"),
        F.when(is_file, F.col("has_ts")).alias("has_ts"),
        F.when(is_file, F.col("year_assumed")).alias("year_assumed"),
        F.when(in_rollup, F.col("t")).alias("hour"),
        F.when(in_rollup, service).alias("service"),
        F.when(gid == Group.ERROR_TYPE_ROLLUP, capped_key).alias("error_type"),
        F.when(gid == Group.IP_ROLLUP, capped_key).alias("ip_err"),
        F.when(gid == Group.TOP_MESSAGES, F.col("key")).alias("err_msg"),
        F.when(is_min, bucket_start).alias("bucket_start"),
        F.when(is_min, bucket).alias("bucket_seconds"),
        F.when(gid == Group.SAMPLES, F.col("key")).alias("sample"),
        "cnt",
        F.when(is_file, F.col("min_ts")).alias("min_ts"),
        F.when(is_file, F.col("max_ts")).alias("max_ts"),
        F.when((gid == Group.SERVICE_ROLLUP) & F.col("service").isNotNull(), F.col("svc_rank")).alias(
            "svc_rank"
        ),
        F.when((gid == Group.ERROR_TYPE_ROLLUP) & F.col("key").isNotNull(), F.col("key_rank")).alias(
            "et_rank"
        ),
        F.when(gid == Group.DISTINCT_IPS, F.lit(1)).alias("ip_row"),
    )
    # Not grouped by g: the final aggregation gets a shuffle of its own and runs in
    # parallel, where the window chain before it could not.
    group_cols = [
        "gid",
        "file_id",
        "status",
        "level",
        "has_ts",
        "year_assumed",
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
        F.sum("ip_row").alias("distinct_ips"),
    )
    # Rows leave each partition in hour order (a sort per partition, no shuffle), so
    # COPY writes each analysis's rollups into the table in hour order and a page's
    # hour-range index scan reads neighbouring rows instead of one heap page per row
    # (docs/performance.md).
    return final.sortWithinPartitions("hour").select(
        "gid",
        "file_id",
        "status",
        "level",
        "has_ts",
        "year_assumed",
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
