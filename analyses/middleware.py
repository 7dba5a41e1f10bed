"""Refuse the body of a client that is not signed in, before anything reads it.

Django's CSRF check parses a page's POST body (and our upload handler streams its
file parts to STORAGE_ROOT/incoming) before `login_required` runs, so without this
an anonymous client holding a CSRF cookie could stream gigabytes to disk. This
middleware looks only at the headers: a declared body over
`ANONYMOUS_BODY_MAX_BYTES` from a client with no signed-in session (and, under
/api/, no `Authorization` header: DRF checks a token before it parses) is answered
at once. The sign-in form and the token endpoint are far below the limit.

A body sent without Content-Length (chunked) is never read by Django at all.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class AnonymousBodyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _declared_length(request) > settings.ANONYMOUS_BODY_MAX_BYTES and not self._may_send(request):
            return self._refuse(request)
        return self.get_response(request)

    @staticmethod
    def _may_send(request: HttpRequest) -> bool:
        if request.user.is_authenticated:
            return True
        return request.path_info.startswith(API_PREFIX) and "HTTP_AUTHORIZATION" in request.META

    @staticmethod
    def _refuse(request: HttpRequest) -> HttpResponse:
        api = request.path_info.startswith(API_PREFIX)
        if api or "application/json" in request.headers.get("Accept", ""):
            message = (
                "Send an API token (Authorization: Bearer …) with this request."
                if api
                else "You are not signed in (or your session ended); sign in again, then retry."
            )
            error = {"status": 401, "code": "not_authenticated", "message": message, "details": {}}
            if not api:
                error["messages"] = [message]  # what the upload page shows
            response = JsonResponse({"error": error}, status=401)
            if api:
                response["WWW-Authenticate"] = 'Bearer realm="api"'
            return response
        # A page: back to the sign-in form, as login_required would have done.
        return redirect_to_login(request.get_full_path())
