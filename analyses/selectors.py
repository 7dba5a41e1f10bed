"""Reads for analyses. Every read is scoped to the teams of the asking user;
another team's object answers 404, exactly like one that does not exist."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from accounts.models import Team
from accounts.selectors import team_ids_for_user
from analyses.models import Alert, AlertRule, Analysis, AnalysisFile, AnalysisResult, Delivery


def analyses_for_user(*, user: AbstractBaseUser) -> QuerySet[Analysis]:
    return Analysis.objects.filter(team_id__in=team_ids_for_user(user=user))


def analysis_get_for_user(*, user: AbstractBaseUser, analysis_id: int) -> Analysis:
    try:
        return analyses_for_user(user=user).select_related("team", "created_by").get(pk=analysis_id)
    except (Analysis.DoesNotExist, ValueError, TypeError):
        raise Http404("No such analysis") from None


def analysis_file_get_for_user(*, user: AbstractBaseUser, analysis_id: int, file_id: int) -> AnalysisFile:
    try:
        return AnalysisFile.objects.select_related("analysis").get(
            pk=file_id,
            analysis_id=analysis_id,
            analysis__team_id__in=team_ids_for_user(user=user),
        )
    except (AnalysisFile.DoesNotExist, ValueError, TypeError):
        raise Http404("No such file") from None


def analyses_for_team(*, team: Team) -> QuerySet[Analysis]:
    return Analysis.objects.filter(team=team).select_related("created_by").prefetch_related("files")


def analyses_search(
    *,
    user: AbstractBaseUser,
    team: Team | None = None,
    q: str = "",
    status: str = "",
    created_from: dt.date | None = None,
    created_to: dt.date | None = None,
) -> QuerySet[Analysis]:
    """The history page's and the API list's search: one team of the user's, or all of
    them, newest first, with file and alert counts."""
    qs = analyses_for_user(user=user)
    if team is not None:
        qs = qs.filter(team=team)
    if q:
        # A subquery rather than a join, so that a name matching several files
        # neither repeats the analysis nor inflates the counts.
        matching = Analysis.objects.filter(Q(name__icontains=q) | Q(files__original_name__icontains=q))
        qs = qs.filter(pk__in=matching.values("pk"))
    if status:
        qs = qs.filter(status=status)
    if created_from:
        qs = qs.filter(created_at__date__gte=created_from)
    if created_to:
        qs = qs.filter(created_at__date__lte=created_to)
    return (
        qs.select_related("team", "created_by")
        .annotate(file_count=Count("files", distinct=True), alert_count=Count("alerts", distinct=True))
        .order_by("-created_at", "-id")
    )


def alerts_for_team(*, team: Team, open_only: bool = False) -> QuerySet[Alert]:
    qs = Alert.objects.filter(team=team).select_related("analysis", "rule", "acknowledged_by")
    if open_only:
        qs = qs.filter(acknowledged_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def alert_get_for_user(*, user: AbstractBaseUser, alert_id: int) -> Alert:
    try:
        return Alert.objects.select_related("analysis").get(
            pk=alert_id, team_id__in=team_ids_for_user(user=user)
        )
    except (Alert.DoesNotExist, ValueError, TypeError):
        raise Http404("No such alert") from None


def deliveries_for_team(*, team: Team) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(alert__team=team)
        .select_related("alert")
        .prefetch_related("attempt_log")
        .order_by("-created_at", "-id")
    )


def alert_rules_for_team(*, team: Team) -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(team=team).order_by("kind", "threshold", "pk")


def alert_rule_get_for_user(*, user: AbstractBaseUser, rule_id: int) -> AlertRule:
    try:
        return AlertRule.objects.get(pk=rule_id, team_id__in=team_ids_for_user(user=user))
    except (AlertRule.DoesNotExist, ValueError, TypeError):
        raise Http404("No such alert rule") from None


def analysis_document(*, analysis: Analysis) -> dict | None:
    """The stored result document parts (summary, files, tables), or None."""
    return AnalysisResult.objects.filter(analysis_id=analysis.pk).values_list("document", flat=True).first()


def result_document(*, analysis: Analysis) -> dict:
    """The result document of the engine issue: analysis, summary, files, tables, alerts."""
    stored = analysis_document(analysis=analysis) or {}
    return {
        "analysis": {
            "id": analysis.pk,
            "name": analysis.name,
            "status": analysis.status,
            "error": analysis.error or None,
            "created_at": _iso(analysis.created_at),
            "started_at": _iso(analysis.started_at),
            "finished_at": _iso(analysis.finished_at),
        },
        "summary": stored.get("summary"),
        "files": stored.get("files") or _files_without_results(analysis),
        "tables": stored.get("tables"),
        "alerts": [alert_as_dict(a) for a in analysis.alerts.order_by("pk")],
    }


def alert_as_dict(alert: Alert) -> dict:
    return {
        "id": alert.pk,
        "rule_id": alert.rule_id,
        "kind": alert.kind,
        "severity": alert.severity,
        "value": alert.value,
        "threshold": alert.threshold,
        "message": alert.message,
        "created_at": _iso(alert.created_at),
        "notified": alert.notified,
        "acknowledged_at": _iso(alert.acknowledged_at),
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def files_for_page(*, analysis: Analysis, files: list[dict]) -> list[dict]:
    """The result document's files with what the page's notes and re-run form need:
    each file's own options (`format_override`, `assume_year_override`), whether
    its year for year-less timestamps was given (by the file or the analysis)
    rather than the default, and `needs_year`: lines were dated in a default year."""
    rows = {f.pk: f for f in analysis.files.all()}
    analysis_year = (analysis.options or {}).get("assume_year")
    out = []
    for f in files:
        row = rows.get(f["file_id"])
        own_year = row.assume_year_override if row is not None else None
        year_given = own_year is not None or analysis_year is not None
        out.append(
            {
                **f,
                "format_override": row.format_override if row is not None else "",
                "assume_year_override": own_year,
                "year_given": year_given,
                "needs_year": bool(f.get("rows_without_year")) and not year_given,
            }
        )
    return out


def _files_without_results(analysis: Analysis) -> list[dict]:
    return [
        {
            "file_id": f.pk,
            "name": f.original_name,
            "format": f.detected_format or None,
            "rows": f.rows,
            "unparsed_lines": f.unparsed_lines,
            "error": f.error or None,
        }
        for f in analysis.files.all()
    ]


def queue_health() -> dict:
    """What the admin shows about the worker queue (the Analysis rows are the truth)."""
    from django.utils import timezone
    from django_q.models import OrmQ

    now = timezone.now()
    queued = Analysis.objects.filter(status="queued")
    oldest = queued.order_by("created_at").values_list("created_at", flat=True).first()
    running = Analysis.objects.filter(status="running")
    return {
        "queued": queued.count(),
        "oldest_queued_seconds": int((now - oldest).total_seconds()) if oldest else None,
        "running": running.count(),
        "expired_leases": running.filter(lease_expires_at__lt=now).count(),
        "failed_last_24h": Analysis.objects.filter(
            status="failed", finished_at__gte=now - dt.timedelta(days=1)
        ).count(),
        "broker_tasks": OrmQ.objects.count(),
    }
