"""Sign-in throttling (django-axes), on the sign-in form and every password check of the API.

Two limits, both for LOGIN_COOLOFF (15 minutes):
- 5 failures for one username from one client address lock that pair;
- 20 failures for one username from any addresses lock the username (a password
  guesser spreading over many addresses), from everywhere.

django-axes compares one number, the most failures of any of its lockout
parameter combinations, with one limit. With the combinations (username, address)
and (username) that number is the username's total; `failure_limit` answers 5
when this address alone has 5, else 20, which gives both limits.

The client address is the one DRF's throttles use (`client_ip`): REMOTE_ADDR, or,
behind TRUSTED_PROXIES reverse proxies (REST_FRAMEWORK["NUM_PROXIES"]), the
address the nearest of them appended to X-Forwarded-For. Anything the client puts
in that header itself is never trusted, so it cannot reset its counters.
"""

from __future__ import annotations

from datetime import datetime

from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from rest_framework.throttling import BaseThrottle


def client_ip(request: HttpRequest) -> str:
    # The same rule as DRF's throttles (NUM_PROXIES), so both count the same client.
    return BaseThrottle().get_ident(request) or ""


def _since(request: HttpRequest) -> datetime:
    now = getattr(request, "axes_attempt_time", None) or timezone.now()
    return now - settings.AXES_COOLOFF_TIME


def _failures_from_here(request: HttpRequest, credentials: dict | None) -> int:
    username = get_client_username(request, credentials)
    address = getattr(request, "axes_ip_address", None) or client_ip(request)
    failures = AccessAttempt.objects.filter(
        username=username, ip_address=address, attempt_time__gte=_since(request)
    ).aggregate(total=Sum("failures_since_start"))["total"]
    return failures or 0


def failure_limit(request: HttpRequest, credentials: dict | None) -> int:
    """AXES_FAILURE_LIMIT: see the module's docstring."""
    per_address = settings.LOGIN_FAILURES_PER_ADDRESS
    if _failures_from_here(request, credentials) >= per_address:
        return per_address
    return settings.LOGIN_FAILURES_PER_USERNAME


def _cooloff_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:  # noqa: ANN001
    minutes = _cooloff_minutes()
    where = (
        "from your address"
        if _failures_from_here(request, credentials) >= settings.LOGIN_FAILURES_PER_ADDRESS
        else "from many addresses"
    )
    message = (
        f"Too many failed sign-ins for this account {where}. "
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
