"""Deployment checks, headers, CSRF and sign-in throttling."""

from __future__ import annotations

import secrets
import subprocess
import sys

import pytest
from django.test import Client
from django.urls import reverse

from tests.analyses.helpers import make_analysis
from tests.conftest import BASE_DIR, PASSWORD

pytestmark = pytest.mark.django_db


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    import os

    full_env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SECRET_KEY", "DEBUG")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="logs.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_without_a_secret_fails_loudly():
    result = manage("check", DJANGO_ENV="production")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_pages_send_security_headers(client):
    response = client.get(reverse("accounts:login"))
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_no_page_has_an_inline_script(client_for, alice, team_a, tmp_path):
    analysis = make_analysis(team_a, alice, tmp_path)
    client = client_for(alice)
    for url in [
        reverse("analyses:upload"),
        reverse("analyses:history"),
        reverse("analyses:detail", args=[analysis.pk]),
        reverse("analyses:alerts"),
        reverse("analyses:rules"),
        reverse("accounts:members"),
    ]:
        html = client.get(url).content.decode()
        for tag in html.split("<script")[1:]:
            head = tag.split(">", 1)[0]
            assert "src=" in head or 'type="application/json"' in head, (url, head)


def post_urls(analysis, alert_rule_id: int) -> list[str]:
    return [
        reverse("accounts:logout"),
        reverse("accounts:team_switch"),
        reverse("accounts:members"),
        reverse("analyses:upload"),
        reverse("analyses:delete", args=[analysis.pk]),
        reverse("analyses:rerun", args=[analysis.pk]),
        reverse("analyses:rule_new"),
        reverse("analyses:rule_edit", args=[alert_rule_id]),
        reverse("analyses:rule_delete", args=[alert_rule_id]),
    ]


def test_every_form_post_needs_a_csrf_token(alice, team_a, tmp_path):
    analysis = make_analysis(team_a, alice, tmp_path)
    rule = team_a.alert_rules.first()
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    for url in post_urls(analysis, rule.pk):
        assert client.post(url, {}).status_code == 403, url
    assert (
        Client(enforce_csrf_checks=True)
        .post(reverse("accounts:login"), {"username": "alice", "password": PASSWORD})
        .status_code
        == 403
    )


def login(client: Client, password: str, **extra) -> int:
    return client.post(
        reverse("accounts:login"), {"username": "alice", "password": password}, **extra
    ).status_code


def test_five_failures_lock_the_username_and_address_for_a_while(alice):
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(5):
        assert login(client, "wrong") in (200, 429)
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert int(response["Retry-After"]) == 15 * 60
    # A forged X-Forwarded-For does not make a new client...
    assert login(client, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.1") == 429
    # ...but a really different address is not locked out,
    assert login(Client(REMOTE_ADDR="203.0.113.8"), PASSWORD) == 302


def test_four_failures_do_not_lock(alice):
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(4):
        login(client, "wrong")
    assert login(client, PASSWORD) == 302
