"""The two Spark baselines the platform is measured against, on the same server.

(b) `minimal_job`: a hand-written reader for the bench's known formats (explicit
    schema, the timestamp parsed by the CSV reader, levels already canonical, one
    regex for the log4j line) feeding the engine's one-pass aggregation. It has
    none of the platform's generality (no detection, no timestamp ladder, no level
    aliases, no unparsed-line accounting), so it is the lower bound for this
    engine; its result document must equal the platform's, number for number.
(c) `naive_job`: the original project's approach: one Spark query per report,
    each re-reading the file and pulled into pandas, caps and top N in pandas.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_client.engine.normalize import MESSAGE_KEY_CHARS, mask_message
from spark_client.engine.patterns import IPV4
from spark_client.engine.query import result_rows
from spark_client.engine.results import assemble
from spark_client.types import AnalysisOutput, EngineOptions, FileReport

CSV_SCHEMA = "ts timestamp, level string, message string, ip string, service string, endpoint string"
# The bench's log4j line: `2024-03-04 00:00:05,494 INFO  [thread] com.example.api.Handler: message`
LOG4J = r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) (\w+)\s+\[[^\]]*\]\s+([^\s:]+):?\s?(.*)$"
ERRORS = ("ERROR", "CRITICAL")


@dataclass
class JobResult:
    seconds: float
    output: AnalysisOutput | None = None
    queries: int = 1
    detail: dict[str, Any] | None = None


def _ip_from_message(message) -> Any:  # noqa: ANN001 - a Column
    found = F.regexp_extract(message, IPV4, 1)
    return F.when(found != "", found)


def minimal_rows(spark, path: str, fmt: str) -> DataFrame:
    """The bench file as (ts, level, message, ip, service) rows, written for its format."""
    if fmt == "csv":
        df = spark.read.csv(
            path, schema=CSV_SCHEMA, header=True, escape='"', timestampFormat="yyyy-MM-dd HH:mm:ss"
        )
        ip = F.when(F.col("ip").isNotNull() & (F.col("ip") != ""), F.col("ip"))
        return df.select(
            "ts",
            "level",
            "message",
            F.coalesce(ip, _ip_from_message(F.col("message"))).alias("ip"),
            "service",
        )
    # One regex per line: the match rewritten to its four groups, then split.
    line = F.col("value")
    parts = F.split(F.regexp_replace(line, LOG4J, "$1\u0001$2\u0001$3\u0001$4"), "\u0001")
    parsed = spark.read.text(path).select(parts.alias("p"))
    part = F.col("p")
    # Stack-trace lines do not match (one part): they are no rows.
    return parsed.filter(F.size(part) == 4).select(
        F.overlay(part[0], F.lit("."), 20, 1).cast("timestamp").alias("ts"),
        part[1].alias("level"),
        F.trim(part[3]).alias("message"),
        _ip_from_message(F.trim(part[3])).alias("ip"),
        part[2].alias("service"),
    )


def _as_normalised(rows: DataFrame) -> DataFrame:
    is_error = F.col("level").isin(*ERRORS)
    return rows.select(
        F.lit(1).alias("file_id"),
        F.lit("ok").alias("status"),
        "ts",
        "level",
        "message",
        "ip",
        "service",
        F.lit(None).cast("string").alias("endpoint"),
        F.when(is_error, mask_message(F.col("message"))).alias("error_type"),
        is_error.alias("is_error"),
        F.lit(None).cast("string").alias("sample"),
        F.lit(False).alias("truncated"),
        F.lit(False).alias("year_assumed"),
    )


def minimal_job(spark, path: str, fmt: str, options: EngineOptions) -> JobResult:
    """Timed up to the result document, like a and c: the caps, "(other)" and the
    tables computed from the rollups are made by `assemble`, so without it the
    job would not have computed the same aggregates."""
    started = time.perf_counter()
    # The same result path as the platform's: a small input is finished in this
    # process (spark_client.engine.finish), a large one by Spark.
    stats = {"spark_queries": 1, "result_rows": 0, "bytes_in": os.path.getsize(path)}
    rows = result_rows(_as_normalised(minimal_rows(spark, path, fmt)), options, stats)
    reports = {1: FileReport(file_id=1, name=path.rsplit("/", 1)[-1], format=fmt)}
    output = assemble(rows, reports, options, stats)
    seconds = time.perf_counter() - started
    return JobResult(seconds=seconds, output=output)


def naive_job(spark, path: str, fmt: str, options: EngineOptions) -> JobResult:
    """One query per report, each result pulled to pandas (the pre-platform way)."""
    started = time.perf_counter()
    df = minimal_rows(spark, path, fmt)
    is_error = F.col("level").isin(*ERRORS)
    errors = df.filter(is_error)
    hour = F.date_trunc("hour", "ts").alias("hour")
    n = options.top_n
    reports = {
        "summary": df.agg(
            F.count(F.lit(1)).alias("total"),
            F.sum(is_error.cast("int")).alias("errors"),
            F.min("ts").alias("first"),
            F.max("ts").alias("last"),
            F.countDistinct("ip").alias("ips"),
            F.countDistinct("service").alias("services"),
        ),
        "levels": df.groupBy("level").count(),
        "errors_by_hour": errors.groupBy(hour).count(),
        "errors_by_day": errors.groupBy(F.to_date("ts").alias("day")).count(),
        "error_trends": errors.groupBy(F.date_trunc("hour", "ts").alias("bucket")).count(),
        "errors_by_type": errors.groupBy(mask_message(F.col("message")).alias("error_type")).count(),
        "top_errors": errors.groupBy(F.substring("message", 1, MESSAGE_KEY_CHARS).alias("message"))
        .count()
        .orderBy(F.desc("count"), "message")
        .limit(n),
        "errors_per_ip": errors.groupBy("ip").count(),
        "errors_per_service": errors.groupBy("service").count(),
        "errors_by_severity": errors.groupBy("level").count(),
        "rollup_service": df.groupBy(hour, "level", "service").count(),
        "rollup_error_type": errors.groupBy(
            hour, "level", "service", mask_message(F.col("message")).alias("error_type")
        ).count(),
        "rollup_ip": errors.groupBy(hour, "level", "service", "ip").count(),
    }
    frames = {name: query.toPandas() for name, query in reports.items()}
    # Top N and caps in pandas, as the original code did.
    for name in ("errors_by_type", "errors_per_ip", "errors_per_service"):
        frames[name] = frames[name].sort_values("count", ascending=False).head(n)
    seconds = time.perf_counter() - started
    summary = frames["summary"].iloc[0]
    return JobResult(
        seconds=seconds,
        queries=len(reports),
        detail={"total_logs": int(summary["total"]), "error_count": int(summary["errors"])},
    )
