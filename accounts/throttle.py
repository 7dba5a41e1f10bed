"""Sign-in throttling (django-axes): 5 failures per (username, client address) lock
that pair out for 15 minutes, on the sign-in form and the API token endpoint.

The client address is REMOTE_ADDR only. X-Forwarded-For is whatever the client
wants it to be, so trusting it would let anyone reset their own counter; behind a
reverse proxy, have the proxy set REMOTE_ADDR (gunicorn --forwarded-allow-ips).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _cooloff_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:  # noqa: ANN001
    minutes = _cooloff_minutes()
    message = (
        f"Too many failed sign-ins for this account from your address. "
        f"Try again in {minutes} minutes, or ask an administrator to reset the lock."
    )
    headers = {"Retry-After": str(minutes * 60)}
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        body = {"error": {"status": 429, "code": "locked_out", "message": message, "details": {}}}
        return JsonResponse(body, status=429, headers=headers)
    response = render(
        request,
        "accounts/login.html",
        {"form": AuthenticationForm(request), "locked_out": message},
        status=429,
    )
    response["Retry-After"] = headers["Retry-After"]
    return response
