"""Killing the web server in the middle of an upload loses nothing and leaks nothing."""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from analyses.models import Analysis, AnalysisFile
from analyses.services.reaper import leases_reap
from analyses.uploads import INCOMING
from tests.chaos.conftest import browser_session, wait_for

pytestmark = [pytest.mark.chaos, pytest.mark.e2e]


def start_upload(url: str, session, total: int) -> socket.socket:  # noqa: ANN001
    """Send the headers and the first part of a large multipart upload, then stop."""
    host, port = url.removeprefix("http://").split(":")
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.log"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    cookies = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    request = (
        f"POST /analyses/upload/ HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookies}\r\n"
        f"X-CSRFToken: {session.cookies['csrftoken']}\r\nReferer: {url}/analyses/upload/\r\n"
        f"Accept: application/json\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(head) + total + len(boundary) + 8}\r\n\r\n"
    ).encode()
    sock = socket.create_connection((host, int(port)))
    sock.sendall(request + head)
    chunk = b"17/06/09 20:10:40 INFO a.B: partial upload line\n" * 20_000
    for _ in range(5):
        sock.sendall(chunk)
    return sock


def partials() -> list[Path]:
    return list((Path(settings.STORAGE_ROOT) / INCOMING).glob("*.part"))


def test_a_web_server_killed_mid_upload_leaves_no_rows_and_its_partial_file_is_reaped(web_stack, bob):
    s = web_stack
    s.start_web()
    session = browser_session(s.url, "bob")
    before = set(partials())
    sock = start_upload(s.url, session, total=500 * 1024 * 1024)
    partial = wait_for(
        lambda: [p for p in partials() if p not in before and p.stat().st_size > 0], 30, "bytes on disk"
    )

    s.web.stop(sig=signal.SIGKILL)  # the whole gunicorn process group, mid-request
    sock.close()

    assert Analysis.objects.count() == 0 and AnalysisFile.objects.count() == 0
    assert all(p.exists() for p in partial)  # what the dead request had written...
    # ...is left to the reaper, which only takes partial files nobody wrote to for
    # `uploads.stale_partial_minutes` (a live upload writes every second).
    assert leases_reap()["stale_uploads"] == 0
    old = time.time() - settings.LOGPLATFORM["uploads"]["stale_partial_minutes"] * 60 - 5
    for p in partial:
        os.utime(p, (old, old))
    assert leases_reap()["stale_uploads"] == len(partial)
    assert not any(p.exists() for p in partial)
