from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts.models import Membership


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def current_membership(request: HttpRequest) -> Membership:
    if request.membership is None:
        raise PermissionDenied("You are not a member of any team yet; ask a team admin to add you.")
    return request.membership


def membership_of(request: HttpRequest, team_id: int) -> Membership:
    """The user's membership of the team that owns an object already fetched through
    a team-scoped selector (so it exists)."""
    return next(m for m in request.memberships if m.team_id == team_id)


def require_upload_role(membership: Membership, action: str) -> None:
    if not membership.can_upload:
        raise PermissionDenied(f"Viewers cannot {action}; ask a team admin for the member role.")


def require_admin_role(membership: Membership, action: str) -> None:
    if not membership.can_admin:
        raise PermissionDenied(f"Only team owners and admins can {action}.")
