"""A web process loads, before its first request, what that request would otherwise
wait for: every URL module and view (and so their imports), then whatever the apps
warm on `web_process_ready` (analyses builds each chart once)."""

from __future__ import annotations

from django.dispatch import Signal
from django.urls import get_resolver

web_process_ready = Signal()


def warm_up() -> None:
    get_resolver().url_patterns  # noqa: B018 - imports every URL module and view
    web_process_ready.send(sender=__name__)
