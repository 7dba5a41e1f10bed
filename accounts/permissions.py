"""Which team a request means, and what the user may do there; pages and API alike.

Objects are fetched through the team-scoped selectors (another team's object is
404); these helpers add the role check (a viewer's write is 403). Pages take the
team from the team switcher (`request.membership`, accounts.middleware); API
requests name it (`team_membership`).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from accounts.models import Membership
from accounts.selectors import membership_get, memberships_for_user
from logplatform.api.errors import ApiError

NO_TEAM = "You are not a member of any team yet; ask a team admin to invite you."


def require_upload_role(membership: Membership, action: str) -> None:
    if not membership.can_upload:
        raise PermissionDenied(f"Viewers cannot {action}; ask a team admin for the member role.")


def require_admin_role(membership: Membership, action: str) -> None:
    if not membership.can_admin:
        raise PermissionDenied(f"Only team owners and admins can {action}.")


# ---------------------------------------------------------------------------- pages


def current_membership(request: HttpRequest) -> Membership:
    """The membership of the team chosen in the team switcher."""
    if request.membership is None:
        raise PermissionDenied(NO_TEAM)
    return request.membership


def membership_of(request: HttpRequest, team_id: int) -> Membership:
    """The user's membership of the team that owns an object already fetched through
    a team-scoped selector (so it exists)."""
    return next(m for m in request.memberships if m.team_id == team_id)


# ---------------------------------------------------------------------------- API


def team_membership(*, user: AbstractBaseUser, team: str | None) -> Membership:
    """The user's membership of the team named by slug or id, for a write.

    Without a name: the user's only team. A user in several teams must name one
    (400 `team_required`): a default would route their writes to whichever team
    sorts first, a team someone else may have added them to."""
    memberships = memberships_for_user(user=user)
    if not team:
        mine = list(memberships[:2])
        if not mine:
            raise PermissionDenied(NO_TEAM)
        if len(mine) == 1:
            return mine[0]
        slugs = [m.team.slug for m in memberships]
        raise ApiError(
            status_code=400,
            code="team_required",
            message=f"You are in {len(slugs)} teams ({', '.join(slugs)}); say which one with `team` "
            "(its slug or id).",
            details={"teams": slugs},
        )
    found = memberships.filter(team__slug=team).first()
    # An id fits a 64-bit column; a longer number is nobody's team (and would overflow SQLite).
    if found is None and team.isdigit() and len(team) <= 18:
        found = memberships.filter(team_id=int(team)).first()
    if found is None:
        raise Http404(f"You are not in a team {team!r}; GET /api/v1/teams/ lists yours.")
    return found


def membership_for(*, user: AbstractBaseUser, team_id: int) -> Membership:
    """The membership behind an object already fetched through a team-scoped selector."""
    return membership_get(user=user, team_id=team_id)
