"""The web side of the bench: a real gunicorn, a signed-in client, the streamed
upload of a large file (d), the 2 000-line upload-to-result latency, and the
filtered analysis page (e).

Uploads use the page endpoint (POST /analyses/upload/, session auth + CSRF,
`Accept: application/json` -> 202 {"id", "url"}); `UPLOAD_PATH` and
`upload_fields` are the only places that know it, so pointing the bench at
the REST API is a two-line change.
"""

from __future__ import annotations

import http.client
import re
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from bench.procs import MemoryWatch
from logplatform.processes import Child, web_start

UPLOAD_PATH = "/analyses/upload/"
CHUNK = 1024 * 1024


def gunicorn_start(env: dict[str, str], port: int, log: Path) -> Child:
    """The web process as `make web` runs it (one gthread worker, 4 threads)."""
    return web_start(port=port, env=env, log=log)


def signed_in(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=30).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = session.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=30,
    )
    response.raise_for_status()
    if "sessionid" not in session.cookies:
        raise RuntimeError("sign-in failed: no session cookie")
    return session


def upload_fields(session: requests.Session, base: str) -> dict[str, str]:
    """Headers the upload endpoint needs besides the body (cookies, CSRF, JSON)."""
    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    return {
        "Cookie": cookies,
        "X-CSRFToken": session.cookies["csrftoken"],
        "Referer": f"{base}{UPLOAD_PATH}",
        "Accept": "application/json",
    }


def upload_stream(
    session: requests.Session, port: int, path: Path, name: str | None = None
) -> dict[str, Any]:
    """POST one file as multipart/form-data, streamed from disk in 1 MB chunks with a
    Content-Length (the client holds one chunk in memory, never the file)."""
    base = f"http://127.0.0.1:{port}"
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name or path.name}"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = path.stat().st_size
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    started = time.monotonic()
    conn.putrequest("POST", UPLOAD_PATH)
    headers = upload_fields(session, base)
    headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    headers["Content-Length"] = str(len(head) + size + len(tail))
    for key, value in headers.items():
        conn.putheader(key, value)
    conn.endheaders()
    conn.send(head)
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            conn.send(chunk)
    conn.send(tail)
    response = conn.getresponse()
    body = response.read()
    seconds = time.monotonic() - started
    conn.close()
    if response.status != 202:
        raise RuntimeError(f"upload answered {response.status}: {body[:500]!r}")
    import json

    return {"seconds": seconds, "bytes": size, "response": json.loads(body)}


def upload_big(session: requests.Session, port: int, web: Child, path: Path) -> dict[str, Any]:
    """(d): throughput and the web process tree's peak memory during one large upload."""
    with MemoryWatch(web.pid) as watch:
        result = upload_stream(session, port, path)
    mb = result["bytes"] / 1e6
    return {
        "file": path.name,
        "mb": round(mb, 1),
        "seconds": round(result["seconds"], 2),
        "mb_per_s": round(mb / result["seconds"], 1),
        "web": watch.as_dict(),
        "analysis_id": result["response"]["id"],
    }


def page_timing(
    session: requests.Session, base: str, url: str, params: dict, requests_: int
) -> dict[str, Any]:
    """(e): the analysis page with filters, `requests_` times after 3 warm-up requests."""
    for _ in range(3):
        session.get(base + url, params=params, timeout=60).raise_for_status()
    times = []
    size = 0
    for _ in range(requests_):
        started = time.perf_counter()
        response = session.get(base + url, params=params, timeout=60)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
        size = len(response.content)
    ordered = sorted(times)
    return {
        "url": url,
        "params": params,
        "requests": requests_,
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "bytes": size,
    }
