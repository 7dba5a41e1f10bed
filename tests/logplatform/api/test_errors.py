"""One JSON error shape everywhere under /api/, whatever went wrong."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.analyses.helpers import upload
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"]
    assert list(body["error"]) == ["status", "code", "message", "details"]
    assert body["error"]["status"] == status
    return body["error"]


@pytest.mark.parametrize("path", ["/api/v1/nothing/", "/api/v2/analyses/", "/api/", "/api/v1/analyses/abc/"])
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_a_path_without_an_endpoint_is_404(api, bob, path, method):
    error = error_of(getattr(api(bob), method)(path), 404)
    assert error["code"] == "not_found"
    assert path in error["message"]


def test_a_missing_trailing_slash_gets_a_hint(api, bob):
    error = error_of(api(bob).get("/api/v1/analyses"), 404)
    assert "Did you mean /api/v1/analyses/" in error["message"]


def test_an_id_too_long_for_the_database_is_404(api, bob):
    error_of(api(bob).get("/api/v1/analyses/" + "9" * 30 + "/"), 404)
    error_of(api(bob).get("/api/v1/analyses/999999999999999999/"), 404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("post", "/api/v1/me/", "GET, HEAD, OPTIONS"),
        ("put", "/api/v1/analyses/", "GET, POST, OPTIONS"),
        ("post", "/api/v1/alert-rules/1/", "GET, PATCH, DELETE, OPTIONS"),
    ],
)
def test_a_wrong_method_is_405_with_allow(api, bob, method, path, allowed):
    response = getattr(api(bob), method)(path)
    error = error_of(response, 405)
    assert error["code"] == "method_not_allowed"
    assert response["Allow"] == allowed
    assert error["details"]["allowed"] == allowed.split(", ")


def test_head_answers_like_get(api, bob):
    assert api(bob).head("/api/v1/analyses/").status_code == 200


def test_malformed_json_is_400(api, bob):
    response = api(bob).post("/api/v1/tokens/", data="{not json", content_type="application/json")
    assert error_of(response, 400)["code"] == "parse_error"


def test_a_form_body_where_json_is_expected_is_415(api, bob):
    response = api(bob).post(
        "/api/v1/tokens/", data="name=x", content_type="application/x-www-form-urlencoded"
    )
    assert error_of(response, 415)["code"] == "unsupported_media_type"


def test_validation_errors_name_every_field(api, alice):
    response = api(alice).post("/api/v1/alert-rules/", {"kind": "weather", "threshold": -1}, format="json")
    error = error_of(response, 400)
    assert error["code"] == "invalid"
    assert set(error["details"]) == {"kind", "threshold"}
    assert error["message"].startswith("kind: ")


def test_a_huge_declared_upload_is_413_before_it_is_read(api, bob, settings):
    settings.UPLOAD_MAX_REQUEST_BYTES = 1024
    big = "x" * (1024 * 1024 + 4096)
    error = error_of(
        api(bob).post("/api/v1/analyses/", {"files": [upload("a.log", big)]}, format="multipart"), 413
    )
    assert error["code"] == "too_large"
    assert "at most 0 MB can be sent in one request" in error["message"]


def test_an_unexpected_error_is_500_in_the_same_shape(api, bob, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("accounts.api.memberships_for_user", broken)
    error = error_of(api(bob).get("/api/v1/teams/"), 500)
    assert error["code"] == "server_error"
    assert "a bug" not in error["message"]


# --------------------------------------------------------------------------- session auth


def test_the_browser_session_works_and_writes_need_csrf(bob):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(bob)
    me = client.get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["auth"] == "session"

    refused = client.post("/api/v1/tokens/", {"name": "x"}, format="json")
    error = error_of(refused, 403)
    assert "CSRF" in error["message"]

    client.get("/accounts/tokens/")  # sets the CSRF cookie, as the page does for its scripts
    token = client.cookies["csrftoken"].value
    accepted = client.post("/api/v1/tokens/", {"name": "x"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201


def test_repeated_wrong_passwords_lock_the_token_endpoint(alice):
    client = APIClient()
    for _ in range(5):
        client.post("/api/v1/auth/token/", {"username": "alice", "password": "wrong"}, format="json")
    response = client.post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    error = error_of(response, 429)
    assert error["code"] == "locked_out"
    assert int(response["Retry-After"]) > 0
