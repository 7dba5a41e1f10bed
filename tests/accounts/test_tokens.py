"""Personal API tokens: hashed at rest, shown once, revocable, expiring; the page and the API."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import tokens
from accounts.models import ApiToken
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def bearer(raw: str, keyword: str = "Bearer") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {raw}")
    return client


def all_database_text() -> str:
    """Every text column of the token table, as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")  # noqa: S608 - our own table name
        return " ".join(str(value) for row in cursor.fetchall() for value in row)


def test_it_stores_only_a_hash_of_the_token(alice):
    token, raw = tokens.api_token_create(user=alice, name="script")
    stored = all_database_text()
    secret = raw.split("_", 2)[2]
    assert raw not in stored and secret not in stored
    assert token.prefix in raw and token.key_hash in stored
    assert re.fullmatch(r"lpt_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", raw)


def test_a_token_authenticates_with_bearer_and_token_keywords(alice):
    _, raw = tokens.api_token_create(user=alice, name="script")
    for keyword in ("Bearer", "Token", "bearer"):
        response = bearer(raw, keyword).get("/api/v1/me/")
        assert response.status_code == 200, response.content
        assert response.json()["username"] == "alice"
        assert response.json()["auth"] == "token"


def test_a_wrong_secret_with_a_real_prefix_is_refused(alice):
    token, raw = tokens.api_token_create(user=alice, name="script")
    forged = f"lpt_{token.prefix}_{'A' * 43}"
    response = bearer(forged).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer a b",
        "Bearer nonsense",
        "Bearer lpt_12345678_",
        "Token lpt__x",
        "Bearer \u00e9t\u00e9",
        "Bearer lpt_\x00\x00\x00\x00\x00\x00\x00\x00_x",
        "Bearer lpt_zzzzzzzz_x",
    ],
)
def test_malformed_credentials_answer_401_in_the_error_shape(alice, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["status"] == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_revoked_token_answers_401(alice, api):
    _, raw = tokens.api_token_create(user=alice, name="script")
    token_id = ApiToken.objects.get(prefix=raw.split("_")[1]).pk
    assert bearer(raw).get("/api/v1/me/").status_code == 200

    assert api(alice).delete(f"/api/v1/tokens/{token_id}/").status_code == 204

    response = bearer(raw).get("/api/v1/me/")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_an_expired_token_answers_401(alice):
    token, raw = tokens.api_token_create(user=alice, name="script", expires_in_days=1)
    assert bearer(raw).get("/api/v1/me/").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = bearer(raw).get("/api/v1/me/")
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_a_disabled_users_token_answers_401(alice):
    _, raw = tokens.api_token_create(user=alice, name="script")
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert bearer(raw).get("/api/v1/me/").status_code == 401


def test_use_is_recorded_at_most_once_a_minute(alice):
    token, raw = tokens.api_token_create(user=alice, name="script")
    bearer(raw).get("/api/v1/me/")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    bearer(raw).get("/api/v1/me/")
    token.refresh_from_db()
    assert token.last_used_at == first


def test_the_api_creates_a_token_shown_once(alice, api):
    client = api(alice)
    created = client.post(
        "/api/v1/tokens/", {"name": "ci", "expires_in_days": 30, "password": PASSWORD}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["token"].startswith(f"lpt_{body['prefix']}_")
    assert body["state"] == "active"
    assert (
        timedelta(days=29)
        < timezone.datetime.fromisoformat(body["expires_at"]) - timezone.now()
        <= timedelta(days=30)
    )
    assert bearer(body["token"]).get("/api/v1/me/").json()["token"]["id"] == body["id"]

    listed = client.get("/api/v1/tokens/").json()
    assert body["id"] in [t["id"] for t in listed["results"]]
    assert body["token"] not in str(listed)
    assert all("token" not in t for t in listed["results"])


@pytest.mark.parametrize(
    "data",
    [{"expires_in_days": 0}, {"expires_in_days": 99999}, {"name": "x" * 101}, {"expires_in_days": "soon"}],
)
def test_token_creation_validates_its_input(alice, api, data):
    response = api(alice).post("/api/v1/tokens/", data, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == set(data)


def test_revoking_someone_elses_token_is_404(alice, charlie, api):
    token, raw = tokens.api_token_create(user=alice, name="script")
    assert api(charlie).delete(f"/api/v1/tokens/{token.pk}/").status_code == 404
    assert bearer(raw).get("/api/v1/me/").status_code == 200


# --------------------------------------------------------------------------- username + password


def test_a_password_buys_a_token(alice):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "alice", "password": PASSWORD, "name": "laptop"}, format="json"
    )
    assert response.status_code == 201, response.content
    raw = response.json()["token"]
    assert ApiToken.objects.get(user=alice).name == "laptop"
    assert bearer(raw).get("/api/v1/me/").json()["username"] == "alice"


def test_a_wrong_password_buys_nothing(alice):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "alice", "password": "nope"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert not ApiToken.objects.exists()


def test_the_token_endpoint_ignores_a_session_so_needs_no_csrf(alice):
    csrf_client = APIClient(enforce_csrf_checks=True)
    csrf_client.force_login(alice)
    response = csrf_client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201


# --------------------------------------------------------------------------- the page


def test_the_page_creates_a_token_and_shows_it_once(client_for, alice):
    client = client_for(alice)
    response = client.post(reverse("accounts:tokens"), {"name": "nightly", "expires_in_days": "30"})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    raw = re.search(r'value="(lpt_[^"]+)"', response.content.decode()).group(1)
    assert bearer(raw).get("/api/v1/me/").status_code == 200
    token = ApiToken.objects.get(user=alice)
    assert token.name == "nightly" and token.expires_at is not None

    again = client.get(reverse("accounts:tokens")).content.decode()
    assert raw not in again
    assert f"lpt_{token.prefix}_…" in again and "nightly" in again


def test_the_page_revokes_a_token(client_for, alice):
    token, raw = tokens.api_token_create(user=alice, name="old")
    response = client_for(alice).post(reverse("accounts:tokens"), {"revoke": token.pk})
    assert response.status_code == 302
    assert bearer(raw).get("/api/v1/me/").status_code == 401


def test_the_page_cannot_revoke_someone_elses_token(client_for, alice, charlie):
    token, raw = tokens.api_token_create(user=alice, name="old")
    assert client_for(charlie).post(reverse("accounts:tokens"), {"revoke": token.pk}).status_code == 404
    assert client_for(charlie).post(reverse("accounts:tokens"), {"revoke": "x"}).status_code == 404
    assert bearer(raw).get("/api/v1/me/").status_code == 200


def test_the_page_needs_sign_in_and_is_in_the_nav(client, client_for, alice):
    assert client.get(reverse("accounts:tokens")).status_code == 302
    html = client_for(alice).get(reverse("accounts:tokens")).content.decode()
    assert f'href="{reverse("accounts:tokens")}"' in html
    assert 'href="/api/docs/"' in html


# --------------------------------------------------------------------------- a token making tokens


def test_a_token_alone_cannot_create_a_token(alice, api):
    response = api(alice).post("/api/v1/tokens/", {"name": "forever"}, format="json")
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "password_required"
    assert "password" in error["message"]
    assert not ApiToken.objects.filter(name="forever").exists()


def test_a_wrong_password_with_a_token_creates_nothing(alice, api):
    response = api(alice).post("/api/v1/tokens/", {"name": "x", "password": "nope"}, format="json")
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "wrong_password"
    assert not ApiToken.objects.filter(name="x").exists()


def test_a_token_made_with_a_token_does_not_outlive_it(alice):
    parent, raw = tokens.api_token_create(user=alice, name="parent", expires_in_days=7)
    client = bearer(raw)
    for data in ({}, {"expires_in_days": 30}):
        response = client.post(
            "/api/v1/tokens/", {"name": "child", "password": PASSWORD, **data}, format="json"
        )
        assert response.status_code == 201, response.content
        child = ApiToken.objects.get(pk=response.json()["id"])
        assert child.expires_at is not None and child.expires_at <= parent.expires_at
    shorter = client.post(
        "/api/v1/tokens/", {"name": "short", "password": PASSWORD, "expires_in_days": 1}, format="json"
    ).json()
    assert timezone.datetime.fromisoformat(shorter["expires_at"]) < parent.expires_at


def test_revoking_a_token_revokes_the_tokens_made_with_it(alice, api):
    parent, raw = tokens.api_token_create(user=alice, name="parent")
    child = bearer(raw).post("/api/v1/tokens/", {"name": "child", "password": PASSWORD}, format="json").json()
    assert bearer(child["token"]).get("/api/v1/me/").status_code == 200
    assert api(alice).delete(f"/api/v1/tokens/{parent.pk}/").status_code == 204
    response = bearer(child["token"]).get("/api/v1/me/")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_a_signed_in_session_creates_a_token_without_the_password(alice):
    client = APIClient()
    client.force_login(alice)
    response = client.post("/api/v1/tokens/", {"name": "from the browser"}, format="json")
    assert response.status_code == 201, response.content


# --------------------------------------------------------------------------- password changes


def test_setting_a_new_password_revokes_every_token(alice):
    _, raw = tokens.api_token_create(user=alice, name="script")
    alice.set_password("a-brand-new-passphrase")
    alice.save()
    response = bearer(raw).get("/api/v1/me/")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_the_password_page_revokes_every_token(client_for, alice):
    _, raw = tokens.api_token_create(user=alice, name="script")
    client = client_for(alice)
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-brand-new-passphrase",
            "new_password2": "a-brand-new-passphrase",
        },
    )
    assert response.status_code == 302, response.content
    assert bearer(raw).get("/api/v1/me/").status_code == 401
    # The browser session that changed it stays signed in.
    assert client.get(reverse("accounts:tokens")).status_code == 200


def test_the_changepassword_command_revokes_every_token(alice, monkeypatch):
    from django.core.management import call_command

    _, raw = tokens.api_token_create(user=alice, name="script")
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "a-brand-new-passphrase")
    call_command("changepassword", "alice", stdout=__import__("io").StringIO())
    assert bearer(raw).get("/api/v1/me/").status_code == 401


def test_the_admins_password_form_revokes_every_token(client, alice):
    from accounts.services import user_create

    root = user_create(username="root", password=PASSWORD, is_staff=True)
    _, raw = tokens.api_token_create(user=alice, name="script")
    client.force_login(root)
    response = client.post(
        f"/admin/auth/user/{alice.pk}/password/",
        {
            "password1": "a-brand-new-passphrase",
            "password2": "a-brand-new-passphrase",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content
    assert bearer(raw).get("/api/v1/me/").status_code == 401


def test_signing_in_or_saving_the_user_keeps_the_tokens(alice, settings):
    """A stored hash upgraded on sign-in is the same password: tokens stay."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    _, raw = tokens.api_token_create(user=alice, name="script")
    old_hash = alice.password
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201
    alice.refresh_from_db()
    assert alice.password != old_hash  # rehashed with PBKDF2
    alice.first_name = "Alice"
    alice.save()
    assert bearer(raw).get("/api/v1/me/").status_code == 200


# --------------------------------------------------------------------------- scope and team


def test_a_read_only_token_reads_but_never_writes(alice, team_a, api):
    client = APIClient()
    client.force_login(alice)
    created = client.post("/api/v1/tokens/", {"name": "dashboard", "scope": "read"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["scope"] == "read"
    reader = bearer(created.json()["token"])
    assert reader.get("/api/v1/alert-rules/").status_code == 200
    response = reader.post(
        "/api/v1/alert-rules/", {"kind": "error_count", "threshold": 5, "severity": "warning"}, format="json"
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "read_only_token"
    assert "read-only" in error["message"]
    rules = team_a.alert_rules.count()
    assert reader.delete(f"/api/v1/alert-rules/{team_a.alert_rules.first().pk}/").status_code == 403
    assert team_a.alert_rules.count() == rules
    # Not even a token: it cannot mint a broader one.
    minted = reader.post("/api/v1/tokens/", {"name": "x", "password": PASSWORD}, format="json")
    assert minted.status_code == 403


def test_a_team_token_sees_only_its_team(alice, team_a, team_b, tmp_path):
    from accounts.models import Membership
    from tests.analyses.helpers import make_analysis

    Membership.objects.create(team=team_b, user=alice, role="member")
    in_a = make_analysis(team_a, alice, tmp_path, name="a.csv")
    in_b = make_analysis(team_b, alice, tmp_path, name="b.csv")
    client = APIClient()
    client.force_login(alice)
    created = client.post("/api/v1/tokens/", {"name": "ci", "team": "team-a"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["team"] == {"id": team_a.pk, "slug": "team-a", "name": "Team A"}
    scoped = bearer(created.json()["token"])
    assert [t["slug"] for t in scoped.get("/api/v1/teams/").json()] == ["team-a"]
    assert [a["id"] for a in scoped.get("/api/v1/analyses/").json()["results"]] == [in_a.pk]
    assert scoped.get(f"/api/v1/analyses/{in_b.pk}/").status_code == 404
    assert scoped.get("/api/v1/analyses/?team=team-b").status_code == 404
    # An unrestricted token still sees both.
    _, raw = tokens.api_token_create(user=alice, name="all")
    assert len(bearer(raw).get("/api/v1/teams/").json()) == 2


def test_a_team_token_sees_no_invitations_to_other_teams(alice, charlie, team_a, team_b):
    from accounts.invitations import invitation_create
    from accounts.models import Membership

    invitation = invitation_create(
        acting=Membership.objects.get(user=charlie, team=team_b), username="alice", role="member"
    )
    token, raw = tokens.api_token_create(user=alice, name="a only", team=team_a)
    scoped = bearer(raw)
    assert scoped.get("/api/v1/invitations/").json() == []
    assert scoped.post(f"/api/v1/invitations/{invitation.pk}/accept/").status_code == 404
    assert not Membership.objects.filter(user=alice, team=team_b).exists()


def test_a_token_can_only_be_restricted_to_ones_own_team(alice, charlie):
    client = APIClient()
    client.force_login(alice)
    response = client.post("/api/v1/tokens/", {"name": "x", "team": "team-b"}, format="json")
    assert response.status_code == 400
    assert "team" in response.json()["error"]["details"]


def test_a_token_made_with_a_token_keeps_its_scope_and_team(alice, team_a):
    client = APIClient()
    client.force_login(alice)
    parent = client.post("/api/v1/tokens/", {"name": "p", "team": "team-a"}, format="json").json()
    child = bearer(parent["token"]).post(
        "/api/v1/tokens/", {"name": "c", "password": PASSWORD}, format="json"
    )
    assert child.status_code == 201, child.content
    assert child.json()["team"]["slug"] == "team-a"


def test_the_page_shows_and_sets_scope_and_team(client_for, alice, team_a):
    client = client_for(alice)
    response = client.post(
        reverse("accounts:tokens"), {"name": "read a", "scope": "read", "team": str(team_a.pk)}
    )
    assert response.status_code == 201, response.content
    token = ApiToken.objects.get(user=alice, name="read a")
    assert token.scope == "read" and token.team == team_a
    page = client.get(reverse("accounts:tokens")).content.decode()
    assert "Read only" in page and "Team A" in page
