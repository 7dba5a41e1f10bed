from django.http import HttpRequest


def teams(request: HttpRequest) -> dict:
    return {
        "current_membership": getattr(request, "membership", None),
        "current_team": getattr(request, "team", None),
        "user_memberships": getattr(request, "memberships", []),
    }
