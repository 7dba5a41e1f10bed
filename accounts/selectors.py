"""Reads for accounts. Every team-scoped read in the project starts here."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Membership, Team

# An API request made with a token restricted to one team carries that team's id on
# its user object (accounts.authentication sets it on the user loaded for that
# request only). Every team-scoped read, pages and API, goes through
# memberships_for_user, so honouring it there restricts the whole request.
TOKEN_TEAM_ATTR = "_api_token_team_id"  # noqa: S105 - an attribute name, not a secret


def user_limit_to_team(*, user: AbstractBaseUser, team_id: int) -> None:
    setattr(user, TOKEN_TEAM_ATTR, team_id)


def user_team_limit(*, user: AbstractBaseUser) -> int | None:
    """The one team this request may see, when its token is restricted to one."""
    return getattr(user, TOKEN_TEAM_ATTR, None)


def memberships_for_user(*, user: AbstractBaseUser) -> QuerySet[Membership]:
    if not user.is_authenticated:
        return Membership.objects.none()
    memberships = Membership.objects.filter(user=user)
    team_id = user_team_limit(user=user)
    if team_id is not None:
        memberships = memberships.filter(team_id=team_id)
    return memberships.select_related("team").order_by("team__name")


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


def team_member_get(*, team: Team, membership_id: int) -> Membership:
    """A membership of this team, or 404 (another team's does not exist here)."""
    try:
        return team_members(team=team).get(pk=membership_id)
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise Http404("No such member") from None
