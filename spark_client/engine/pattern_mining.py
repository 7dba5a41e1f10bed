"""An analysis's patterns from its message keys: the worker's side of the pattern
step (engine.pattern_keys is Spark's). Pure Python: no pyspark, no Django.

Spark groups the stored lines by `message_key` (a hash of the message with the
cheap key masks applied, or of a loghub row's event template) and sends the
most frequent `max_distinct` keys, each with its counts, levels, first and last
time, sparkline buckets and one example message. Here the examples are mined
(spark_client.mining) — a loghub key's template is its event template, not
mined — and the keys' figures are summed per template into the result
document's `patterns` (docs/patterns.md), along with the key -> pattern mapping
the Lines queries join.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from spark_client.mining import WILDCARD, MinerConfig, mine, pattern_id
from spark_client.rows import LEVELS

# The pattern of every line whose key was past the cap (not collected, not mined).
CATCH_ALL = WILDCARD
CATCH_ALL_ID = pattern_id(CATCH_ALL)
EXAMPLE_CHARS = 500
HOUR = 3600
SPARKLINE_BUCKETS = 24


@dataclass
class KeyFigures:
    """One message key's lines, as Spark counted them (or the rest past the cap)."""

    key: int | None
    count: int
    errors: int
    levels: dict[str, int]
    first_ts: str | None  # ISO seconds, UTC, without a zone (as Spark formats it)
    last_ts: str | None
    example: str
    template: str | None = None  # a loghub row's event template
    buckets: list[tuple[int, int]] = field(default_factory=list)  # (bucket index, lines)


@dataclass(frozen=True)
class Sparkline:
    """Buckets over the analysis's time range: hours when it spans at most a day,
    else SPARKLINE_BUCKETS buckets of whole hours."""

    start: int | None  # epoch seconds, on the hour; None: no line has a time
    bucket_seconds: int
    buckets: int

    def as_document(self) -> dict:
        start = None if self.start is None else datetime.fromtimestamp(self.start, UTC).isoformat()
        return {"start": start, "bucket_seconds": self.bucket_seconds, "buckets": self.buckets}


def _epoch(iso: str) -> int:
    moment = datetime.fromisoformat(iso)
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def sparkline_for(first_ts: str | None, last_ts: str | None) -> Sparkline:
    """The buckets of an analysis whose timed lines run from `first_ts` to `last_ts`."""
    if first_ts is None or last_ts is None:
        return Sparkline(None, HOUR, 0)
    start = _epoch(first_ts) // HOUR * HOUR
    span = max(_epoch(last_ts) - start + 1, 1)
    hours = math.ceil(span / HOUR)
    if hours <= SPARKLINE_BUCKETS:
        return Sparkline(start, HOUR, hours)
    size = math.ceil(hours / SPARKLINE_BUCKETS) * HOUR
    return Sparkline(start, size, math.ceil(span / size))


def _iso(ts: str | None) -> str | None:
    return None if ts is None else datetime.fromisoformat(ts).replace(tzinfo=UTC).isoformat()


class _Pattern:
    __slots__ = (
        "count",
        "errors",
        "example",
        "example_count",
        "first",
        "id",
        "last",
        "levels",
        "spark",
        "template",
    )

    def __init__(self, template: str, buckets: int) -> None:
        self.template = template
        self.id = pattern_id(template)
        self.count = self.errors = self.example_count = 0
        self.levels: dict[str, int] = {}
        self.first: str | None = None
        self.last: str | None = None
        self.example = ""
        self.spark = [0] * buckets

    def add(self, k: KeyFigures) -> None:
        self.count += k.count
        self.errors += k.errors
        for level, n in k.levels.items():
            if n:
                self.levels[level] = self.levels.get(level, 0) + n
        if k.first_ts is not None and (self.first is None or k.first_ts < self.first):
            self.first = k.first_ts
        if k.last_ts is not None and (self.last is None or k.last_ts > self.last):
            self.last = k.last_ts
        if k.count > self.example_count or (k.count == self.example_count and k.example < self.example):
            self.example, self.example_count = k.example, k.count
        for b, n in k.buckets:
            if 0 <= b < len(self.spark):
                self.spark[b] += n

    def as_document(self) -> dict:
        return {
            "id": self.id,
            "template": self.template,
            "count": self.count,
            "errors": self.errors,
            "levels": {lv: self.levels[lv] for lv in LEVELS if lv in self.levels},
            "first_ts": _iso(self.first),
            "last_ts": _iso(self.last),
            "example": self.example[:EXAMPLE_CHARS],
            "sparkline": list(self.spark),
        }


@dataclass(frozen=True)
class Mined:
    document: dict  # the result document's `patterns`
    mapping: list[tuple[int, str, str]]  # (message_key, pattern id, template) of every collected key


def patterns_of(
    keys: Sequence[KeyFigures],
    rest: KeyFigures | None,
    config: MinerConfig,
    sparkline: Sparkline,
    *,
    max_listed: int,
) -> Mined:
    """The patterns of an analysis from its collected keys (`rest`: the lines of
    the keys past the cap, all given the catch-all pattern)."""
    mined_keys = [k for k in keys if k.template is None]
    mined = mine(((k.example, k.count) for k in mined_keys), config)
    template_by_id = {p.id: p.template for p in mined.patterns}
    by_template: dict[str, _Pattern] = {}
    mapping: list[tuple[int, str, str]] = []

    def add(template: str, figures: KeyFigures) -> None:
        pattern = by_template.get(template)
        if pattern is None:
            pattern = by_template[template] = _Pattern(template, sparkline.buckets)
        pattern.add(figures)
        if figures.key is not None:
            mapping.append((figures.key, pattern.id, template))

    for k in keys:
        template = k.template if k.template is not None else template_by_id[mined.pattern_of[k.example]]
        add(template, k)
    if rest is not None and rest.count > 0:
        add(CATCH_ALL, rest)
    ordered = sorted(by_template.values(), key=lambda p: (-p.count, p.template))
    document = {
        "items": [p.as_document() for p in ordered[:max_listed]],
        "sparkline": sparkline.as_document(),
        "total": len(ordered),
        "distinct_messages": len(keys),
        "capped": rest is not None,
    }
    return Mined(document=document, mapping=mapping)


def rest_of(total: KeyFigures, kept: Iterable[KeyFigures], example: str) -> KeyFigures:
    """The lines of the keys past the cap: the totals less the collected keys."""
    kept = list(kept)
    levels = dict(total.levels)
    buckets = dict(total.buckets)
    for k in kept:
        for level, n in k.levels.items():
            levels[level] = levels.get(level, 0) - n
        for b, n in k.buckets:
            buckets[b] = buckets.get(b, 0) - n
    return KeyFigures(
        key=None,
        count=total.count - sum(k.count for k in kept),
        errors=total.errors - sum(k.errors for k in kept),
        levels={lv: n for lv, n in levels.items() if n > 0},
        # The first and last time of the whole analysis: a bound, not exact.
        first_ts=total.first_ts,
        last_ts=total.last_ts,
        example=example,
        buckets=[(b, n) for b, n in sorted(buckets.items()) if n > 0],
    )
