"""Drill-down: for each number on the analysis page, the Lines view that lists the
lines it counted (issue 20).

Each link is a Lines page (/analyses/<id>/lines/) with the filter that selects
exactly the counted lines, under the dashboard's filters in force (start and end
as whole hours, levels, services: the Lines view reads those names the way the
analysis page does). The numbers of the "whole analysis" tables (top error
messages, error trends) ignore the dashboard's filters, so their links do too.

What a number counted, and the filter that selects it:

- an error type: lines of that type (only error lines have one);
- errors per IP, errors per service: lines of that IP or service whose level is an
  error level (the analysis page's own definition of an error, intersected with
  the levels filter);
- a level (table row or pie slice): lines of that level;
- a bar of "Errors and warnings over time": lines of that level in that hour or
  day (a day cut to the dashboard's range);
- an error trend bucket: error lines in [bucket start, bucket start + size);
- a top error message: error lines whose message contains it (a search, so it
  may list more lines than the count: other messages that contain this one).

"(other)", the rollups' rest past their cap, gets no link: it is no one value.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from analyses.dashboard import NO_SERVICE, Filters, error_levels
from spark_client.rows import OTHER

MOMENT = "%Y-%m-%dT%H:%M:%S.%f"
TICK = timedelta(microseconds=1)


def _moment(text: str) -> datetime:
    """A bucket's start as the page keys it ("2024-03-01T14:00", "2024-03-01", or
    with seconds), naive UTC like the Lines view reads a moment without a zone."""
    parsed = datetime.fromisoformat(text)
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


class Links:
    """The Lines URLs of one analysis page (one analysis, one set of filters)."""

    def __init__(self, *, analysis_id: int, filters: Filters) -> None:
        self.base = reverse("analyses:lines", args=[analysis_id])
        self.filters = filters
        query = filters.as_query()
        self.range = {k: query[k] for k in ("start", "end") if query[k]}

    def url(self, params: dict[str, Any]) -> str:
        params = {k: v for k, v in params.items() if v not in ("", None, [])}
        return f"{self.base}?{urlencode(params, doseq=True)}" if params else self.base

    def _levels(self, wanted: list[str]) -> list[str]:
        """`wanted` within the dashboard's levels filter (all of them without one)."""
        return [lv for lv in wanted if not self.filters.levels or lv in self.filters.levels]

    def _errors(self) -> list[str] | None:
        """The error levels the page counts under its filter; None when there are none
        (the page then counts no errors, and a link without a level would list all)."""
        return self._levels(error_levels()) or None

    def browse(self) -> str:
        """Every line under the dashboard's filters."""
        return self.url({**self.range, "levels": self.filters.levels, "services": self.filters.services})

    def error_type(self, value: str) -> str:
        if value == OTHER:
            return ""
        levels = self.filters.levels
        if value == NO_SERVICE:
            # An error type with no text: the Lines filter's "(none)" also matches every
            # line without a type, so the error levels keep it to the counted lines.
            levels = self._errors()
            if levels is None:
                return ""
        return self.url(
            {**self.range, "levels": levels, "services": self.filters.services, "error_type": value}
        )

    def ip(self, value: str) -> str:
        levels = self._errors()
        if value == OTHER or levels is None:
            return ""
        return self.url({**self.range, "levels": levels, "services": self.filters.services, "ip": value})

    def service(self, value: str) -> str:
        levels = self._errors()
        if value == OTHER or levels is None:
            return ""
        return self.url({**self.range, "levels": levels, "service": value})

    def level(self, value: str) -> str:
        return self.url({**self.range, "level": value, "services": self.filters.services})

    def bucket(self, level: str, bucket: str, width: timedelta) -> str:
        """The lines of `level` in the chart's bucket starting at `bucket`, within the
        dashboard's range (a day bucket may reach past it)."""
        start = _moment(bucket)
        end = start + width - TICK
        if self.filters.start is not None:
            start = max(start, self.filters.start.replace(minute=0, second=0, microsecond=0, tzinfo=None))
        if self.filters.end is not None:
            last = self.filters.end.replace(minute=0, second=0, microsecond=0, tzinfo=None)
            end = min(end, last + timedelta(hours=1) - TICK)
        return self.url(
            {
                "from": start.strftime(MOMENT),
                "to": end.strftime(MOMENT),
                "level": level,
                "services": self.filters.services,
            }
        )

    def trend(self, bucket_start: str, seconds: int) -> str:
        start = _moment(bucket_start)
        end = start + timedelta(seconds=seconds) - TICK
        return self.url(
            {"from": start.strftime(MOMENT), "to": end.strftime(MOMENT), "levels": error_levels()}
        )

    def message(self, text: str) -> str:
        if not text.strip():
            return ""
        return self.url({"q": text[:1000], "levels": error_levels()})


def linked(rows: list[dict[str, Any]], link: Any, key: str) -> list[dict[str, Any]]:  # noqa: ANN401
    """`rows`, each with `lines_url`: link(row[key])."""
    return [{**row, "lines_url": link(row[key])} for row in rows]


def dashboard_links(*, analysis_id: int, filters: Filters, data: dict[str, Any]) -> dict[str, Any]:
    """`data` (analyses.dashboard.dashboard_data) with a Lines URL on every row it
    shows: `lines_url` on the ranked rows, `level_rows` for the levels, and
    `over_time_links` (level -> bucket -> URL) for the time chart."""
    links = Links(analysis_id=analysis_id, filters=filters)
    width = timedelta(days=1) if data["over_time_unit"] == "day" else timedelta(hours=1)
    return {
        **data,
        "errors_by_type": linked(data["errors_by_type"], links.error_type, "error_type"),
        "errors_per_ip": linked(data["errors_per_ip"], links.ip, "ip"),
        "errors_per_service": linked(data["errors_per_service"], links.service, "service"),
        "level_rows": [
            {"level": lv, "count": n, "lines_url": links.level(lv) if n else ""}
            for lv, n in data["levels"].items()
        ],
        "over_time_links": {
            lv: {bucket: links.bucket(lv, bucket, width) for bucket in series}
            for lv, series in data["over_time"].items()
        },
        "browse_url": links.browse(),
    }


def whole_analysis_links(*, analysis_id: int, tables: dict[str, Any], trend_seconds: int | None) -> dict:
    """The whole-analysis tables of the result document with a Lines URL per row."""
    links = Links(analysis_id=analysis_id, filters=Filters())
    trends = tables.get("error_trends") or []
    return {
        "top_errors": linked(tables.get("top_errors") or [], links.message, "message"),
        "error_trends": [
            {**row, "lines_url": links.trend(row["bucket_start"], trend_seconds) if trend_seconds else ""}
            for row in trends
        ],
    }
