"""Reads for the Patterns view (page and API) and the "new error pattern" alert:
which earlier analysis an analysis is compared with, and its patterns marked
against that one's (analyses.patterns_compare holds the rules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.urls import reverse

from analyses import selectors
from analyses.models import Analysis, Status
from analyses.patterns_compare import (
    Comparison,
    GrowthRule,
    PatternRow,
    new_error_templates,
    patterns_compare,
    patterns_section,
    sparkline_points,
)

COMPARE_CHOICES_MAX = 200
NO_PREVIOUS = (
    "No earlier succeeded analysis of the team is named {name!r}, so nothing is marked new; "
    "pick one to compare with."
)


class PatternsProblem(Exception):
    """A request the Patterns view cannot answer: `status` 400 (a bad comparison) or
    409 (no results yet, or no patterns), with a message saying what to do."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PatternsReport:
    analysis: Analysis
    section: dict[str, Any]  # the document's `patterns`
    comparison: Comparison
    against: Analysis | None  # the analysis compared with
    chosen: bool  # `against` was picked by the user, not the previous of the same name
    has_lines: bool  # the analysis stored its lines: patterns link to them


def growth_rule() -> GrowthRule:
    return GrowthRule.from_config(settings.LOGPLATFORM["analytics"].get("patterns"))


def analysis_previous(*, analysis: Analysis) -> Analysis | None:
    """The team's latest succeeded analysis of the same name created before `analysis`."""
    earlier = Q(created_at__lt=analysis.created_at) | Q(created_at=analysis.created_at, pk__lt=analysis.pk)
    return (
        Analysis.objects.filter(
            earlier, team_id=analysis.team_id, name=analysis.name, status=Status.SUCCEEDED
        )
        .exclude(pk=analysis.pk)
        .order_by("-created_at", "-id")
        .first()
    )


def compare_choices(*, analysis: Analysis) -> list[Analysis]:
    """What the page's select offers: the team's other succeeded analyses, newest first."""
    return list(
        Analysis.objects.filter(team_id=analysis.team_id, status=Status.SUCCEEDED)
        .exclude(pk=analysis.pk)
        .only("pk", "name", "created_at")
        .order_by("-created_at", "-id")[:COMPARE_CHOICES_MAX]
    )


def _compare_target(*, user: AbstractBaseUser, analysis: Analysis, compare_id: int) -> Analysis:
    # Another team's analysis is 404 (analysis_get_for_user), as everywhere.
    other = selectors.analysis_get_for_user(user=user, analysis_id=compare_id)
    if other.pk == analysis.pk:
        raise PatternsProblem(400, "invalid_compare", "Compare with another analysis than this one.")
    if other.team_id != analysis.team_id:
        raise PatternsProblem(
            400,
            "invalid_compare",
            f"Analysis #{other.pk} belongs to another of your teams; compare with an analysis of "
            f"{analysis.team.name}.",
        )
    if other.status != Status.SUCCEEDED:
        raise PatternsProblem(
            400,
            "invalid_compare",
            f"Analysis #{other.pk} is {other.status} and has no patterns; compare with a succeeded analysis.",
        )
    return other


def patterns_report(
    *, user: AbstractBaseUser, analysis: Analysis, compare_id: int | None = None
) -> PatternsReport:
    """The analysis's patterns, marked against `compare_id` (an analysis of the same
    team) or else the previous analysis of the same name. Raises PatternsProblem, or
    Http404 for a `compare_id` the user cannot see."""
    document = selectors.analysis_document(analysis=analysis)
    if analysis.status != Status.SUCCEEDED or document is None:
        raise PatternsProblem(
            409,
            "not_ready",
            f"This analysis is {analysis.status}; its patterns exist once it succeeded.",
        )
    section = patterns_section(document)
    if section is None:
        raise PatternsProblem(
            409,
            "no_patterns",
            "This analysis was made before patterns were mined; re-run it to mine its patterns.",
        )
    if compare_id is not None:
        against = _compare_target(user=user, analysis=analysis, compare_id=compare_id)
    else:
        against = analysis_previous(analysis=analysis)
    previous = selectors.analysis_document(analysis=against) if against is not None else None
    comparison = patterns_compare(
        document=document,
        previous=previous,
        rule=growth_rule(),
        no_previous_reason=NO_PREVIOUS.format(name=analysis.name),
    )
    return PatternsReport(
        analysis=analysis,
        section=section,
        comparison=comparison,
        against=against,
        chosen=compare_id is not None,
        has_lines=bool(document.get("lines")),
    )


def pattern_lines_path(*, analysis_id: int, pattern_id: str, api: bool = False) -> str:
    """The Lines view (page, or the API with `api`) filtered to one pattern."""
    name = "api:analysis-lines" if api else "analyses:lines"
    return f"{reverse(name, args=[analysis_id])}?{urlencode({'pattern': pattern_id})}"


def bucket_label(seconds: int | None) -> str:
    if not seconds:
        return "bucket"
    for size, unit in ((86400, "day"), (3600, "h"), (60, "min")):
        if seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if unit == 'day' and n > 1 else ''}"
    return f"{seconds} s"


def rows_for_page(report: PatternsReport, rows: list[PatternRow]) -> list[dict[str, Any]]:
    """Each of `rows` with what the page draws: its lines link, sparkline points, labels."""
    spark = report.section.get("sparkline") or {}
    start = spark.get("start")
    per = bucket_label(spark.get("bucket_seconds"))
    out = []
    for row in rows:
        peak = max(row.sparkline, default=0)
        label = (
            f"Lines per {per}" + (f" from {start}" if start else "") + f": peak {peak}, {row.count} in all"
            if row.sparkline
            else "No timed lines"
        )
        out.append(
            {
                "row": row,
                "lines_url": (
                    pattern_lines_path(analysis_id=report.analysis.pk, pattern_id=row.id)
                    if report.has_lines
                    else None
                ),
                "spark_points": sparkline_points(row.sparkline),
                "spark_label": label,
                "levels_text": " · ".join(
                    f"{k} {v}" for k, v in sorted(row.levels.items(), key=_level_order)
                ),
                "first_seen": _moment(row.first_ts),
                "last_seen": _moment(row.last_ts),
            }
        )
    return out


def _moment(iso: str | None) -> str:
    """'2024-03-01T14:00:03+00:00' -> '2024-03-01 14:00:03' (the document's times are UTC)."""
    return iso.replace("T", " ")[:19] if iso else ""


_LEVEL_RANK = {"CRITICAL": 0, "ERROR": 1, "WARN": 2, "INFO": 3, "DEBUG": 4}


def _level_order(item: tuple[str, int]) -> tuple[int, str]:
    return (_LEVEL_RANK.get(item[0], 5), item[0])


def new_error_patterns(*, analysis: Analysis, document: dict[str, Any]) -> tuple[list[str], Analysis] | None:
    """For the alert: templates of the patterns with errors that are new against the
    previous analysis of the same name, and that analysis; None when there is nothing
    to compare (no patterns here, no previous analysis, or one without patterns)."""
    if patterns_section(document) is None:
        return None
    previous = analysis_previous(analysis=analysis)
    if previous is None:
        return None
    earlier = selectors.analysis_document(analysis=previous)
    if patterns_section(earlier) is None:
        return None
    comparison = patterns_compare(document=document, previous=earlier, rule=growth_rule())
    return new_error_templates(comparison), previous
