"""The one validation of a Lines query, shared by the pages and the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from analyses.lines.source import LinesSource
from spark_client.lines_filter import (
    DEFAULT_STATUSES,
    LIMIT_DEFAULT,
    NEWEST,
    Cursor,
    CursorError,
    LinesFilter,
    LinesFilterError,
)

TRUE = ("1", "true", "on", "yes")
FALSE = ("", "0", "false", "off", "no")
Q_MAX_CHARS = 1000


def _moment(value: str, name: str, errors: dict[str, list[str]]) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):  # OverflowError: within a day of year 1 or 9999
        errors.setdefault(name, []).append(
            f"{value[:40]!r} is not a date and time like 2024-03-01T14:00:00 (UTC unless it has a zone)."
        )
        return None


def _values(query: Any, *names: str, split: bool = False) -> list[str]:
    """Every non-blank value of the parameters `names`, repeated, and comma-separated
    with `split` (for values that hold no comma: levels, statuses, file ids)."""
    out: list[str] = []
    for name in names:
        for value in query.getlist(name):
            out += [v.strip() for v in value.split(",")] if split else [value.strip()]
    return [v for v in dict.fromkeys(out) if v]


def _hour_range(query: Any, errors: dict[str, list[str]]) -> tuple[datetime | None, datetime | None]:
    """The analysis page's `start` and `end`, read as it reads them: whole hours,
    `end=14:00` up to 14:59:59.999999."""
    start = _moment(query.get("start", ""), "start", errors)
    end = _moment(query.get("end", ""), "end", errors)
    if start:
        start = start.replace(minute=0, second=0, microsecond=0)
    if end and end.year < 9999:
        end = end.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1, microseconds=-1)
    return start, end


def lines_filter_from_query(query: Any, *, source: LinesSource) -> LinesFilter:
    """A LinesFilter from a query string (a QueryDict), or LinesFilterError mapping
    each wrong parameter to what to do.

    `from` and `to` are moments, both included. The analysis page's own names are
    read too, the way that page reads them, so its filters carry over to the lines
    it counted: `start` and `end` (whole hours), `levels` and `services`.
    """
    errors: dict[str, list[str]] = {}
    start = _moment(query.get("from", ""), "from", errors)
    end = _moment(query.get("to", ""), "to", errors)
    hour_start, hour_end = _hour_range(query, errors)
    files: list[int] = []
    for value in _values(query, "file", split=True):
        position = source.position(int(value)) if value.isdigit() and len(value) < 19 else None
        if position is None:
            errors.setdefault("file", []).append(f"No file {value[:20]!r} in this analysis.")
        else:
            files.append(position)
    limit = LIMIT_DEFAULT
    raw_limit = query.get("limit", "").strip()
    if raw_limit:
        if raw_limit.isdigit() and len(raw_limit) < 6:
            limit = int(raw_limit)
        else:
            errors.setdefault("limit", []).append("The limit is a whole number of lines per page.")
    cursor = None
    if query.get("cursor", "").strip():
        try:
            cursor = Cursor.decode(query.get("cursor").strip())
        except CursorError:
            errors.setdefault("cursor", []).append(
                "This cursor is not one this server gave out; start again without it."
            )
    regex = query.get("regex", "").strip().lower()
    if regex not in TRUE + FALSE:
        errors.setdefault("regex", []).append("regex is true or false.")
    q = query.get("q", "")
    if len(q) > Q_MAX_CHARS:
        errors.setdefault("q", []).append(f"The search text is at most {Q_MAX_CHARS} characters.")
    patterns = tuple(v.lower() for v in _values(query, "pattern", split=True))
    if patterns and source.patterns is None:
        errors.setdefault("pattern", []).append(
            "This analysis was made before patterns were mined; re-run it to filter by pattern."
        )
    if errors:
        raise LinesFilterError(errors)
    return LinesFilter(
        start=start or hour_start,
        end=end or hour_end,
        levels=tuple(v.upper() for v in _values(query, "level", "levels", split=True)),
        services=tuple(_values(query, "service", "services")),
        ips=tuple(_values(query, "ip")),
        error_types=tuple(_values(query, "error_type")),
        files=tuple(files),
        patterns=patterns,
        statuses=tuple(_values(query, "status", split=True)) or DEFAULT_STATUSES,
        q=q if q.strip() else "",
        regex=regex in TRUE and bool(q.strip()),
        order=query.get("order", "").strip() or NEWEST,
        limit=limit,
        cursor=cursor,
    )
