"""Reads the API needs that the pages do not: lists across all of a user's teams."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet

from accounts.models import Team
from accounts.selectors import team_ids_for_user
from analyses.models import Alert, AlertRule, Analysis


def analyses_list(
    *,
    user: AbstractBaseUser,
    team: Team | None = None,
    status: str = "",
    created_from: dt.date | None = None,
    created_to: dt.date | None = None,
    q: str = "",
) -> QuerySet[Analysis]:
    """Like `analyses_search`, over one team or all the user's teams."""
    qs = (
        Analysis.objects.filter(team=team)
        if team
        else Analysis.objects.filter(team_id__in=team_ids_for_user(user=user))
    )
    if q:
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
        .annotate(file_count=Count("files", distinct=True))
        .order_by("-created_at", "-id")
    )


def alerts_list(
    *,
    user: AbstractBaseUser,
    team: Team | None = None,
    state: str = "all",
    analysis: Analysis | None = None,
    severity: str = "",
) -> QuerySet[Alert]:
    qs = (
        Alert.objects.filter(team=team)
        if team
        else Alert.objects.filter(team_id__in=team_ids_for_user(user=user))
    )
    if state == "open":
        qs = qs.filter(acknowledged_at__isnull=True)
    elif state == "acknowledged":
        qs = qs.filter(acknowledged_at__isnull=False)
    if analysis is not None:
        qs = qs.filter(analysis=analysis)
    if severity:
        qs = qs.filter(severity=severity)
    return qs.select_related("team", "analysis", "acknowledged_by").order_by("-created_at", "-id")


def alert_rules_list(*, user: AbstractBaseUser, team: Team | None = None) -> QuerySet[AlertRule]:
    qs = (
        AlertRule.objects.filter(team=team)
        if team
        else AlertRule.objects.filter(team_id__in=team_ids_for_user(user=user))
    )
    return qs.select_related("team").order_by("team__name", "kind", "threshold", "pk")
