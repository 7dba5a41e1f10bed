"""Request bodies of clients that are not signed in are refused before they are read
(issue 18, hole 7).

Django's CSRF check parses a page's POST body (our upload handler streams file parts
to STORAGE_ROOT/incoming) before `login_required` runs, so an anonymous client with a
CSRF cookie could stream gigabytes to disk. A real gunicorn proves the order: the
answer comes while almost all of a declared 500 MB body is still unsent, and nothing
reaches the disk.
"""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.test import Client
from django.urls import reverse

from analyses.models import Analysis
from analyses.uploads import INCOMING

DECLARED = 500 * 1024 * 1024
SENT_AT_MOST = 8 * 1024 * 1024


def partials() -> list[Path]:
    return list((Path(settings.STORAGE_ROOT) / INCOMING).glob("*.part"))


@pytest.fixture
def web(web_server) -> str:
    return web_server()


def csrf_cookie(url: str) -> str:
    session = requests.Session()
    assert session.get(f"{url}/accounts/login/", timeout=30).status_code == 200
    return session.cookies["csrftoken"]


def start_big_post(url: str, path: str, headers: dict[str, str]) -> tuple[socket.socket, int]:
    """Declare a 500 MB multipart body, send a few MB of it (as much as the server
    takes within a moment), and return the socket and the bytes sent."""
    host, port = url.removeprefix("http://").split(":")
    boundary = uuid.uuid4().hex
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(
        (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{head}"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {DECLARED}\r\n\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.log"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
    )
    chunk = (b"17/06/09 20:10:40 INFO a.B: an anonymous line\n" * 1500)[:65536]
    sent = 0
    sock.settimeout(2)
    try:
        while sent < SENT_AT_MOST:
            sock.sendall(chunk)
            sent += len(chunk)
    except (TimeoutError, OSError):
        pass  # the server stopped taking bytes: it answered, or it is not reading
    return sock, sent


def read_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and what came of the body, waiting at most 20 s."""
    sock.settimeout(20)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            got = sock.recv(65536)
            if not got:
                break
            data += got
    except TimeoutError:
        pytest.fail("no answer while the body was still unsent: the server is reading it")
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, rest


@pytest.mark.e2e
def test_an_anonymous_page_upload_is_answered_before_its_body_is_read(web):
    token = csrf_cookie(web)
    before = set(partials())
    sock, sent = start_big_post(
        web,
        reverse("analyses:upload"),
        {"Cookie": f"csrftoken={token}", "X-CSRFToken": token, "Referer": f"{web}/analyses/upload/"},
    )
    try:
        status, headers, _ = read_head(sock)
        new = [p for p in partials() if p not in before]
    finally:
        sock.close()
    assert sent <= SENT_AT_MOST < DECLARED
    assert status == 302 and headers["location"].startswith(reverse("accounts:login")), (status, headers)
    assert new == []
    assert not Analysis.objects.exists()


@pytest.mark.e2e
def test_an_anonymous_json_upload_gets_401_before_its_body_is_read(web):
    token = csrf_cookie(web)
    before = set(partials())
    sock, _ = start_big_post(
        web,
        reverse("analyses:upload"),
        {"Cookie": f"csrftoken={token}", "X-CSRFToken": token, "Accept": "application/json"},
    )
    try:
        status, headers, rest = read_head(sock)
    finally:
        sock.close()
    assert status == 401, (status, headers, rest)
    assert headers["content-type"].startswith("application/json")
    assert [p for p in partials() if p not in before] == []


@pytest.mark.e2e
def test_an_api_upload_without_credentials_gets_401_before_its_body_is_read(web):
    before = set(partials())
    sock, _ = start_big_post(web, "/api/v1/analyses/", {"Accept": "application/json"})
    try:
        status, headers, _ = read_head(sock)
    finally:
        sock.close()
    assert status == 401
    assert [p for p in partials() if p not in before] == []


@pytest.mark.e2e
def test_a_signed_in_page_upload_through_gunicorn_still_works(web, bob, client):
    client.force_login(bob)  # a session row the web server reads from the test database
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    session.get(f"{web}{reverse('analyses:upload')}", timeout=30)
    token = session.cookies["csrftoken"]
    body = "timestamp,log_level,message\n" + "2024-01-01 00:00:00,ERROR,boom\n" * 5000  # > 64 KB
    response = session.post(
        f"{web}{reverse('analyses:upload')}",
        files={"files": ("a.csv", body)},
        headers={"X-CSRFToken": token, "Accept": "application/json", "Referer": f"{web}/analyses/upload/"},
        timeout=60,
    )
    assert response.status_code == 202, response.text
    assert Analysis.objects.get(pk=response.json()["id"]).created_by == bob


# --------------------------------------------------------------------------- in process


@pytest.mark.django_db
def test_an_anonymous_body_over_the_limit_is_refused_on_every_page(client):
    big = "x" * (settings.ANONYMOUS_BODY_MAX_BYTES + 1)
    for path in (reverse("analyses:upload"), reverse("accounts:team_switch"), "/admin/login/"):
        response = client.post(path, {"junk": big})
        assert response.status_code == 302, path
        assert response["Location"].startswith(reverse("accounts:login"))
        assert partials() == []


@pytest.mark.django_db
def test_an_anonymous_json_body_over_the_limit_gets_a_message(client):
    big = "x" * (settings.ANONYMOUS_BODY_MAX_BYTES + 1)
    response = client.post(reverse("analyses:upload"), {"junk": big}, HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    error = json.loads(response.content)["error"]
    assert error["code"] == "not_authenticated" and "sign in" in error["message"].lower()
    api = client.post("/api/v1/analyses/", {"junk": big})
    assert api.status_code == 401
    assert api.json()["error"]["code"] == "not_authenticated"
    assert "Bearer" in api["WWW-Authenticate"]


@pytest.mark.django_db
def test_the_sign_in_form_still_works(client, alice, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    alice.set_password("pw-of-alice-123")
    alice.save()
    csrf = Client(enforce_csrf_checks=True)
    csrf.get(reverse("accounts:login"))
    token = csrf.cookies["csrftoken"].value
    response = csrf.post(
        reverse("accounts:login"),
        {"username": "alice", "password": "pw-of-alice-123", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302 and "_auth_user_id" in csrf.session
