"""Reads for accounts. Every team-scoped read in the project starts here."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Membership, Team


def memberships_for_user(*, user: AbstractBaseUser) -> QuerySet[Membership]:
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user=user).select_related("team").order_by("team__name")


def team_ids_for_user(*, user: AbstractBaseUser) -> QuerySet:
    return memberships_for_user(user=user).values("team_id")


def membership_get(*, user: AbstractBaseUser, team_id: int) -> Membership:
    """The user's membership of a team, or 404 (a foreign team does not exist for them)."""
    try:
        return memberships_for_user(user=user).get(team_id=team_id)
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise Http404("No such team") from None


def team_members(*, team: Team) -> QuerySet[Membership]:
    return team.memberships.select_related("user").order_by("user__username")
