from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.invitations import invitation_count_for_user


def teams(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    return {
        "current_membership": getattr(request, "membership", None),
        "current_team": getattr(request, "team", None),
        "user_memberships": getattr(request, "memberships", []),
        # Lazy: one COUNT, only on pages that render the nav.
        "pending_invitations": SimpleLazyObject(
            lambda: invitation_count_for_user(user=user) if user is not None else 0
        ),
    }
