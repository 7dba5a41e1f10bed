"""The analysis dashboard's numbers under filters, answered from stored rollups.

No Spark here: date range (hour resolution), levels and services select rows of
the three rollup tables and the database sums them. Without filters the stored
result document is exact; with filters these sums are exact too, except that keys
past the rollup cap are grouped as "(other)".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Max, Min, QuerySet, Sum
from django.http import QueryDict

from analyses.charts import time_clusters
from analyses.models import Analysis, RollupErrorType, RollupIp, RollupService
from spark_client.rows import LEVELS, OTHER

NO_SERVICE = "(none)"  # how rows without a service are shown and filtered
CHART_TOP = 15


def error_levels() -> list[str]:
    return list(settings.LOGPLATFORM["analytics"]["error_levels"])


@dataclass
class Filters:
    start: datetime | None = None
    end: datetime | None = None
    levels: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return bool(self.start or self.end or self.levels or self.services)

    def as_query(self) -> dict[str, Any]:
        return {
            "start": self.start.strftime("%Y-%m-%dT%H:%M") if self.start else "",
            "end": self.end.strftime("%Y-%m-%dT%H:%M") if self.end else "",
            "levels": self.levels,
            "services": self.services,
        }


def _parse_time(value: str, name: str, problems: list[str]) -> datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        problems.append(f"{name} {value!r} is not a date and time like 2024-03-01T14:00; it was ignored.")
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def filters_from_query(query: QueryDict) -> Filters:
    problems: list[str] = []
    filters = Filters(
        start=_parse_time(query.get("start", ""), "Start", problems),
        end=_parse_time(query.get("end", ""), "End", problems),
        levels=[lv for lv in query.getlist("levels") if lv in LEVELS],
        services=[s[:200] for s in query.getlist("services") if s][:200],
        problems=problems,
    )
    unknown = [lv for lv in query.getlist("levels") if lv not in LEVELS]
    if unknown:
        problems.append(f"Unknown level(s) {', '.join(unknown)} ignored; levels are {', '.join(LEVELS)}.")
    if filters.start and filters.end and filters.start > filters.end:
        problems.append("The start is after the end; the two were swapped.")
        filters.start, filters.end = filters.end, filters.start
    return filters


def _filtered(qs: QuerySet, filters: Filters) -> QuerySet:
    if filters.start:
        qs = qs.filter(hour__gte=filters.start.replace(minute=0, second=0, microsecond=0))
    if filters.end:
        qs = qs.filter(hour__lte=filters.end)
    if filters.levels:
        qs = qs.filter(level__in=filters.levels)
    if filters.services:
        qs = qs.filter(service__in=["" if s == NO_SERVICE else s for s in filters.services])
    return qs


def _ranked(qs: QuerySet, key: str, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The top `limit` values of `key` by count, and the count of the capped rest
    (OTHER). One query: its groups are bounded by the rollup cap, so all of them
    are read and the rest's count comes from the same rows."""
    rows = qs.values(key).annotate(n=Sum("count")).order_by("-n", key)
    out = []
    other = 0
    for row in rows:
        if row[key] == OTHER:
            other += row["n"]
        elif len(out) < limit:
            out.append({key: row[key] or NO_SERVICE, "count": row["n"]})
    return out, other


def dashboard_data(*, analysis: Analysis, filters: Filters, limit: int = 100) -> dict[str, Any]:
    """Metrics, chart series and tables for the analysis page under `filters`."""
    errors = error_levels()
    svc = _filtered(RollupService.objects.filter(analysis=analysis), filters)
    by_level = {row["level"]: row["n"] for row in svc.values("level").annotate(n=Sum("count"))}
    levels = {lv: by_level.get(lv, 0) for lv in LEVELS}
    total = sum(levels.values())
    error_count = sum(levels[lv] for lv in errors)

    err_svc = svc.filter(level__in=errors)
    et = _filtered(RollupErrorType.objects.filter(analysis=analysis), filters)
    ips = _filtered(RollupIp.objects.filter(analysis=analysis), filters)

    over_time: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    hours = (
        svc.filter(level__in=["WARN", *errors], hour__isnull=False)
        .values("hour", "level")
        .annotate(n=Sum("count"))
    )
    rows = list(hours)
    # Days when a run of data is longer than a week; runs far apart are drawn as
    # panels of their own (charts.time_clusters), so they do not make it days.
    clusters = time_clusters([r["hour"] for r in rows], timedelta(hours=1))
    by_day = any(last - first > timedelta(days=7) for first, last in clusters)
    for row in rows:
        bucket = row["hour"].strftime("%Y-%m-%d" if by_day else "%Y-%m-%dT%H:00")
        over_time[row["level"]][bucket] += row["n"]

    by_type, other_types = _ranked(et, "error_type", limit)
    per_ip, other_ips = _ranked(ips, "ip", limit)
    per_service, other_services = _ranked(err_svc, "service", limit)
    return {
        "metrics": {
            "total_logs": total,
            "error_count": error_count,
            "error_rate": error_count / total if total else 0.0,
            "critical_count": levels["CRITICAL"],
            "warn_count": levels["WARN"],
        },
        "levels": levels,
        "over_time": {lv: dict(sorted(series.items())) for lv, series in over_time.items()},
        "over_time_unit": "day" if by_day else "hour",
        "errors_by_type": by_type,
        "errors_per_ip": per_ip,
        "errors_per_service": per_service,
        "errors_by_severity": [
            {"level": lv, "count": levels[lv]}
            for lv in sorted(errors, key=lambda lv: (-levels[lv], lv))
            if levels[lv]
        ],
        "other": {"error_types": other_types, "ips": other_ips, "services": other_services},
    }


def filter_choices(*, analysis: Analysis) -> dict[str, Any]:
    """What the filter form offers: the services present and the time range."""
    qs = RollupService.objects.filter(analysis=analysis)
    services = (
        qs.values("service")
        .annotate(n=Sum("count"))
        .order_by("-n", "service")
        .values_list("service", flat=True)
    )
    bounds = qs.aggregate(first=Min("hour"), last=Max("hour"))
    return {
        "services": [s or NO_SERVICE for s in services[:500]],
        "first_hour": bounds["first"],
        "last_hour": bounds["last"],
        "levels": LEVELS,
    }
