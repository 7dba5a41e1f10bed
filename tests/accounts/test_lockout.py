"""Sign-in lockout across addresses, and an anonymous API client that forges X-Forwarded-For.

Real failed sign-ins through the sign-in form and the token endpoint; django-axes
counts them in the database.
"""

from __future__ import annotations

import copy

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(address: str, password: str, username: str = "alice") -> int:
    client = Client(REMOTE_ADDR=address)
    return client.post(reverse("accounts:login"), {"username": username, "password": password}).status_code


def test_failures_from_many_addresses_lock_the_username(alice, bob):
    # 4 failures from each of 5 addresses: no (username, address) pair reaches 5...
    statuses = [sign_in(f"198.51.100.{n}", "wrong") for n in range(5) for _ in range(4)]
    # ...but the 20th failure for one username locks it, from any address.
    assert statuses == [200] * 19 + [429]
    response = Client(REMOTE_ADDR="203.0.113.99").post(
        reverse("accounts:login"), {"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "Too many failed sign-ins for this account" in response.content.decode()
    token = APIClient(REMOTE_ADDR="203.0.113.98").post(
        "/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert token.status_code == 429
    # Another account from the same addresses is not locked.
    assert sign_in("198.51.100.0", PASSWORD, username="bob") == 302


def test_fewer_failures_across_addresses_do_not_lock(alice):
    for n in range(4):
        for _ in range(4):
            sign_in(f"198.51.100.{n}", "wrong")
    assert sign_in("203.0.113.99", PASSWORD) == 302


def test_five_failures_from_one_address_still_lock_that_pair(alice):
    for _ in range(5):
        sign_in("198.51.100.7", "wrong")
    assert sign_in("198.51.100.7", PASSWORD) == 429
    assert sign_in("198.51.100.8", PASSWORD) == 302


def test_an_anonymous_client_forging_x_forwarded_for_is_throttled_as_one(settings):
    config = copy.deepcopy(settings.LOGPLATFORM)
    config["api"]["throttle_user"] = "5/minute"
    settings.LOGPLATFORM = config
    client = APIClient(REMOTE_ADDR="203.0.113.5")
    statuses = [
        client.post("/api/v1/auth/token/", {}, format="json", HTTP_X_FORWARDED_FOR=f"10.9.8.{n}").status_code
        for n in range(7)
    ]
    assert statuses[:5] == [400] * 5
    assert statuses[5:] == [429, 429]
    # Another real address has its own allowance.
    other = APIClient(REMOTE_ADDR="203.0.113.6").post("/api/v1/auth/token/", {}, format="json")
    assert other.status_code == 400


def test_behind_a_trusted_proxy_the_address_it_appends_counts(settings):
    """With one proxy in front (TRUSTED_PROXIES=1), the last X-Forwarded-For entry is the client."""
    config = copy.deepcopy(settings.LOGPLATFORM)
    config["api"]["throttle_user"] = "2/minute"
    settings.LOGPLATFORM = config
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}  # DRF reloads on the signal
    proxy = APIClient(REMOTE_ADDR="10.0.0.2")
    statuses = [
        proxy.post(
            "/api/v1/auth/token/", {}, format="json", HTTP_X_FORWARDED_FOR=f"forged-{n}, 203.0.113.{n % 2}"
        ).status_code
        for n in range(6)
    ]
    # Two clients behind the proxy, two requests each; the forged part is ignored.
    assert statuses == [400, 400, 400, 400, 429, 429]


def test_behind_a_trusted_proxy_the_lockout_counts_the_client_address(alice, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for _ in range(5):
        Client(REMOTE_ADDR="10.0.0.2").post(
            reverse("accounts:login"),
            {"username": "alice", "password": "wrong"},
            HTTP_X_FORWARDED_FOR="forged, 203.0.113.1",
        )
    locked = Client(REMOTE_ADDR="10.0.0.2").post(
        reverse("accounts:login"),
        {"username": "alice", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="203.0.113.1",
    )
    assert locked.status_code == 429
    other = Client(REMOTE_ADDR="10.0.0.2").post(
        reverse("accounts:login"),
        {"username": "alice", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="203.0.113.2",
    )
    assert other.status_code == 302
