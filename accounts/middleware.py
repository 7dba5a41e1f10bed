"""Resolve the current team of a signed-in user once per request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts.selectors import memberships_for_user

SESSION_KEY = "current_team_id"


class CurrentTeamMiddleware:
    """Sets request.membership (or None) and request.team from the session's choice,
    falling back to the user's first team."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]
        request.team = None  # type: ignore[attr-defined]
        if request.user.is_authenticated:
            memberships = list(memberships_for_user(user=request.user))
            wanted = request.session.get(SESSION_KEY)
            chosen = next((m for m in memberships if m.team_id == wanted), None)
            chosen = chosen or (memberships[0] if memberships else None)
            request.memberships = memberships  # type: ignore[attr-defined]
            request.membership = chosen  # type: ignore[attr-defined]
            request.team = chosen.team if chosen else None  # type: ignore[attr-defined]
        return self.get_response(request)
