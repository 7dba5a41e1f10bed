"""Per-user request rates from config.yaml (`api.throttle_user`, `api.throttle_upload`,
`api.throttle_lines`).

The rate is read when a throttle is made (each request), not when DRF's settings
load, so a LOGPLATFORM_CONFIG override and tests take effect. Counters live in
Django's default cache. The upload pages count against the same upload counter.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from rest_framework.throttling import UserRateThrottle


class ApiUserThrottle(UserRateThrottle):
    """Every API request of a user (anonymous requests count per address)."""

    scope = "user"

    def get_rate(self) -> str:
        return settings.LOGPLATFORM["api"]["throttle_user"]


class ApiUploadThrottle(UserRateThrottle):
    """Requests that queue Spark work: uploads and re-runs."""

    scope = "upload"

    def get_rate(self) -> str:
        return settings.LOGPLATFORM["api"]["throttle_upload"]


class ApiLinesThrottle(UserRateThrottle):
    """Requests that query Spark from the web request: the Lines view's pages,
    contexts and exports, pages and API together."""

    scope = "lines"

    def get_rate(self) -> str:
        return settings.LOGPLATFORM["api"]["throttle_lines"]


def lines_throttle_wait(request: HttpRequest) -> int | None:
    """For the Lines pages: None when the user may go on (the request is counted),
    else the seconds to wait; the API's counter, as for uploads."""
    throttle = ApiLinesThrottle()
    if throttle.allow_request(request, None):
        return None
    return int(throttle.wait() or 0) + 1


def upload_throttle_wait(request: HttpRequest) -> int | None:
    """For the pages' uploads and re-runs: None when the user may go on (the request
    is counted), else the seconds to wait. The counter is the API's upload counter,
    so the pages are no way around the API's rate, nor the API around the pages'."""
    throttle = ApiUploadThrottle()
    if throttle.allow_request(request, None):
        return None
    return int(throttle.wait() or 0) + 1
