"""Reads the API needs that the pages do not: alert and rule lists across all of a user's teams."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from accounts.models import Team
from accounts.selectors import team_ids_for_user
from analyses.models import Alert, AlertRule, Analysis


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
