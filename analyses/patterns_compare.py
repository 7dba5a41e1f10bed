"""What is new: an analysis's patterns against those of an earlier analysis.

Pure functions over result documents (the `patterns` section of issue 21's
contract); no Django, no database. The selection of the earlier analysis is
analyses.patterns_selectors'.

Rules (docs/patterns.md, "Patterns view"):

* a pattern is **new** when its id is absent from the earlier analysis's patterns;
* a pattern **grew** when its share of the analysis's lines is at least
  `grown_factor` (3) times its earlier share and at least `grown_min_points` (1)
  percentage points more;
* an earlier analysis without `patterns` marks nothing (`reason` says why);
* an earlier analysis that listed only its most frequent patterns (`total` above
  the listed items) cannot tell a pattern it did not list from an absent one: such
  a pattern is not marked new, and its earlier share is unknown, so not grown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

GROWN_FACTOR = 3.0
GROWN_MIN_POINTS = 1.0
SPARK_WIDTH = 100
SPARK_HEIGHT = 24


@dataclass(frozen=True)
class GrowthRule:
    factor: float = GROWN_FACTOR
    min_points: float = GROWN_MIN_POINTS  # percentage points

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> GrowthRule:
        section = section or {}
        return cls(
            factor=float(section.get("grown_factor", GROWN_FACTOR)),
            min_points=float(section.get("grown_min_points", GROWN_MIN_POINTS)),
        )

    def grew(self, *, share: float, previous_share: float) -> bool:
        return (
            previous_share > 0
            and share >= self.factor * previous_share
            and (share - previous_share) * 100 >= self.min_points - 1e-9
        )


@dataclass(frozen=True)
class PatternRow:
    """One pattern of the analysis, as the page and the API show it."""

    id: str
    template: str
    count: int
    errors: int
    levels: dict[str, int]
    first_ts: str | None
    last_ts: str | None
    example: str
    sparkline: list[int]
    share: float  # of the analysis's lines, 0–1
    new: bool = False
    grown: bool = False
    previous_count: int | None = None  # null: not compared, or not listed before
    previous_share: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "template": self.template,
            "count": self.count,
            "errors": self.errors,
            "levels": self.levels,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "example": self.example,
            "sparkline": self.sparkline,
            "share": self.share,
            "new": self.new,
            "grown": self.grown,
            "previous_count": self.previous_count,
        }


@dataclass(frozen=True)
class Comparison:
    rows: list[PatternRow]
    compared: bool  # marks were computed against an earlier analysis
    reason: str = ""  # when not compared: why nothing is marked
    previous_listed_all: bool = True
    counts: dict[str, int] = field(default_factory=dict)  # new, grown


def patterns_section(document: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The document's `patterns`, or None for an analysis stored before patterns existed."""
    if not document:
        return None
    section = document.get("patterns")
    return section if isinstance(section, dict) else None


def lines_total(document: Mapping[str, Any], section: Mapping[str, Any]) -> int:
    """The lines shares are taken of: the analysis's lines, else the listed patterns' lines."""
    total = ((document.get("summary") or {}).get("total_logs")) or 0
    return int(total) or sum(int(p.get("count") or 0) for p in section.get("items") or [])


def _rows(document: Mapping[str, Any], section: Mapping[str, Any]) -> list[PatternRow]:
    total = lines_total(document, section)
    return [
        PatternRow(
            id=str(p["id"]),
            template=str(p.get("template") or ""),
            count=int(p.get("count") or 0),
            errors=int(p.get("errors") or 0),
            levels={str(k): int(v) for k, v in (p.get("levels") or {}).items()},
            first_ts=p.get("first_ts"),
            last_ts=p.get("last_ts"),
            example=str(p.get("example") or ""),
            sparkline=[int(v or 0) for v in (p.get("sparkline") or [])],
            share=(int(p.get("count") or 0) / total) if total else 0.0,
        )
        for p in section.get("items") or []
    ]


def listed_all(section: Mapping[str, Any]) -> bool:
    items = section.get("items") or []
    return int(section.get("total", len(items)) or 0) <= len(items)


def patterns_compare(
    *,
    document: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    rule: GrowthRule | None = None,
    no_previous_reason: str = "",
) -> Comparison:
    """The analysis's patterns (`document` must have `patterns`) marked against
    `previous`'s document; `previous` None: nothing marked, `no_previous_reason` says why."""
    rule = rule or GrowthRule()
    section = patterns_section(document)
    if section is None:
        raise ValueError("the document has no patterns")
    rows = _rows(document, section)
    if previous is None:
        return Comparison(rows=rows, compared=False, reason=no_previous_reason)
    earlier = patterns_section(previous)
    if earlier is None:
        return Comparison(
            rows=rows,
            compared=False,
            reason="The analysis compared with was made before patterns existed, so nothing is "
            "marked; re-run it to mine its patterns.",
        )
    earlier_total = lines_total(previous, earlier)
    complete = listed_all(earlier)
    before = {str(p["id"]): int(p.get("count") or 0) for p in earlier.get("items") or []}
    marked = []
    for row in rows:
        count = before.get(row.id)
        if count is None:
            marked.append(_replace(row, new=complete))
            continue
        share = count / earlier_total if earlier_total else 0.0
        marked.append(
            _replace(
                row,
                previous_count=count,
                previous_share=share,
                grown=rule.grew(share=row.share, previous_share=share),
            )
        )
    return Comparison(
        rows=marked,
        compared=True,
        previous_listed_all=complete,
        counts={"new": sum(r.new for r in marked), "grown": sum(r.grown for r in marked)},
    )


def _replace(row: PatternRow, **changes: Any) -> PatternRow:
    return PatternRow(**{**row.__dict__, **changes})


def rows_filter(
    rows: Iterable[PatternRow], *, q: str = "", new: bool = False, grown: bool = False
) -> list[PatternRow]:
    """`q`: text in the template, any case. `new` and `grown` together: either."""
    needle = q.casefold()
    out = []
    for row in rows:
        if needle and needle not in row.template.casefold():
            continue
        if (new or grown) and not ((new and row.new) or (grown and row.grown)):
            continue
        out.append(row)
    return out


def new_error_templates(comparison: Comparison) -> list[str]:
    """Templates of the new patterns that hold error lines, most lines first."""
    return [r.template for r in comparison.rows if r.new and r.errors > 0]


def sparkline_points(values: list[int], *, width: int = SPARK_WIDTH, height: int = SPARK_HEIGHT) -> str:
    """An SVG polyline's `points` for counts per bucket: the peak touches the top,
    zero the bottom (1 px of margin each side)."""
    if not values:
        return ""
    peak = max(values) or 1
    step = (width - 2) / max(len(values) - 1, 1)
    usable = height - 2
    return " ".join(
        f"{1 + i * step:.1f},{1 + usable - (v / peak) * usable:.1f}" for i, v in enumerate(values)
    )
