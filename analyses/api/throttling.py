"""Per-user request rates from config.yaml (`api.throttle_user`, `api.throttle_upload`).

The rate is read when a throttle is made (each request), not when DRF's settings
load, so a LOGPLATFORM_CONFIG override and tests take effect. Counters live in
Django's default cache.
"""

from __future__ import annotations

from django.conf import settings
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
