"""Decode the rows of the one aggregate query into the result document parts.

Pure Python over bounded aggregate rows: no Spark here, so it is unit-testable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from spark_client.aggregate import GID, OTHER
from spark_client.types import LEVELS, AnalysisOutput, EngineOptions, FileReport

Row = dict[str, Any]


def ranked(counts: dict[Any, int], key_name: str, limit: int | None = None) -> list[Row]:
    """Descending by count, ties by key ascending."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    if limit is not None:
        items = items[:limit]
    return [{key_name: k, "count": c} for k, c in items]


def by_time(counts: dict[str, int], key_name: str) -> list[Row]:
    return [{key_name: k, "count": counts[k]} for k in sorted(counts)]


def assemble(
    rows: Iterable[Row],
    reports: dict[int, FileReport],
    options: EngineOptions,
    stats: dict[str, Any],
) -> AnalysisOutput:
    by_gid: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        by_gid[row["gid"]].append(row)
    errors = set(options.error_levels)

    # --- summary and files (set "file") ----------------------------------
    levels = dict.fromkeys(LEVELS, 0)
    total = without_ts = unparsed = 0
    first_ts: str | None = None
    last_ts: str | None = None
    for row in by_gid[GID["file"]]:
        report = reports[row["file_id"]]
        cnt = row["cnt"]
        if row["status"] == "unparsed":
            report.unparsed_lines += cnt
            unparsed += cnt
            continue
        if row["status"] == "continuation":
            report.continuation_lines += cnt
            continue
        total += cnt
        report.rows += cnt
        levels[row["level"]] += cnt
        if row["level"] in errors:
            report.error_count += cnt
        if not row["has_ts"]:
            without_ts += cnt
            report.rows_without_timestamp += cnt
        low, high = row["min_ts"], row["max_ts"]
        if low is not None:
            report.first_ts = _earliest(report.first_ts, low)
            first_ts = _earliest(first_ts, low)
        if high is not None:
            report.last_ts = _latest(report.last_ts, high)
            last_ts = _latest(last_ts, high)

    for row in sorted(by_gid[GID["sample"]], key=lambda r: (-r["cnt"], r["sample"])):
        reports[row["file_id"]].samples.append(row["sample"])

    # --- rollup 1: (hour, level, service) ---------------------------------
    rollup_service: list[Row] = []
    by_hour: dict[str, int] = defaultdict(int)
    by_day: dict[str, int] = defaultdict(int)
    per_service: dict[str, int] = defaultdict(int)
    by_severity: dict[str, int] = defaultdict(int)
    distinct_services = 0
    for row in by_gid[GID["svc"]]:
        rollup_service.append(
            {"hour": row["hour"], "level": row["level"], "service": row["service"], "count": row["cnt"]}
        )
        distinct_services = max(distinct_services, row["distinct_services"] or 0)
        if row["level"] not in errors:
            continue
        by_severity[row["level"]] += row["cnt"]
        if row["hour"] is not None:
            by_hour[row["hour"]] += row["cnt"]
            by_day[row["hour"][:10]] += row["cnt"]
        if row["service"] is not None and row["service"] != OTHER:
            per_service[row["service"]] += row["cnt"]

    # --- rollup 2: (hour, level, service, error_type) ---------------------
    rollup_error_type: list[Row] = []
    per_type: dict[str, int] = defaultdict(int)
    distinct_types = 0
    for row in by_gid[GID["et"]]:
        rollup_error_type.append(
            {
                "hour": row["hour"],
                "level": row["level"],
                "service": row["service"],
                "error_type": row["error_type"],
                "count": row["cnt"],
            }
        )
        distinct_types = max(distinct_types, row["distinct_error_types"] or 0)
        if row["error_type"] != OTHER:
            per_type[row["error_type"]] += row["cnt"]

    # --- rollup 3: (hour, level, service, ip) ------------------------------
    rollup_ip: list[Row] = []
    per_ip: dict[str, int] = defaultdict(int)
    for row in by_gid[GID["ipe"]]:
        rollup_ip.append(
            {
                "hour": row["hour"],
                "level": row["level"],
                "service": row["service"],
                "ip": row["ip"],
                "count": row["cnt"],
            }
        )
        if row["ip"] != OTHER:
            per_ip[row["ip"]] += row["cnt"]

    distinct_ips = sum(row["distinct_ips"] or 0 for row in by_gid[GID["ip"]])
    top_messages = {row["message"]: row["cnt"] for row in by_gid[GID["msg"]]}
    trends = {row["bucket_start"]: row["cnt"] for row in by_gid[GID["min"]]}
    bucket_seconds = next((row["bucket_seconds"] for row in by_gid[GID["min"]]), None)

    error_count = sum(levels[lv] for lv in errors)
    n = options.top_n
    summary = {
        "total_logs": total,
        "error_count": error_count,
        "critical_count": levels["CRITICAL"],
        "warn_count": levels["WARN"],
        "error_rate": (error_count / total) if total else 0.0,
        "levels": levels,
        "rows_without_timestamp": without_ts,
        "unparsed_lines": unparsed,
        "first_ts": first_ts,
        "last_ts": last_ts,
        "distinct_ips": distinct_ips,
        "distinct_services": distinct_services,
        "distinct_error_types": distinct_types,
    }
    tables = {
        "errors_by_hour": by_time(by_hour, "hour"),
        "errors_by_day": by_time(by_day, "day"),
        "error_trends": by_time(trends, "bucket_start"),
        "errors_by_type": ranked(per_type, "error_type", n),
        "top_errors": ranked(top_messages, "message", n),
        "errors_per_ip": ranked(per_ip, "ip", n),
        "errors_per_service": ranked(per_service, "service", n),
        "errors_by_severity": ranked(by_severity, "level"),
    }
    _warn_files(reports)
    return AnalysisOutput(
        summary=summary,
        files=[reports[k] for k in sorted(reports)],
        tables=tables,
        rollup_service=rollup_service,
        rollup_error_type=rollup_error_type,
        rollup_ip=rollup_ip,
        trend_bucket_seconds=bucket_seconds,
        stats=stats,
    )


def _earliest(a: str | None, b: str) -> str:
    return b if a is None or b < a else a


def _latest(a: str | None, b: str) -> str:
    return b if a is None or b > a else a


def _warn(report: FileReport, text: str) -> None:
    report.warning = f"{report.warning}; {text}" if report.warning else text


def _warn_files(reports: dict[int, FileReport]) -> None:
    for report in reports.values():
        if report.error:
            continue
        if report.rows == 0 and report.unparsed_lines:
            _warn(
                report,
                f"none of the {report.unparsed_lines} lines could be read as {report.format}; "
                "check the samples below, or choose the right format for this file",
            )
        elif report.rows == 0:
            _warn(report, "the file holds no log rows")
        elif report.rows_without_timestamp == report.rows:
            _warn(
                report,
                "no timestamp could be read in any row, so the file is missing from every "
                "time chart; supported forms include ISO-8601, yyyy-MM-dd HH:mm:ss,SSS, "
                "yy/MM/dd HH:mm:ss, syslog 'Jun 14 15:16:01', Apache and access-log times, "
                "and epoch seconds or milliseconds",
            )
