from __future__ import annotations

from django.http import HttpRequest


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")
