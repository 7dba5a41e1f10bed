#!/usr/bin/env python3
"""Upload log files to logplatform, wait for the analysis, print its summary.

Standard library only. Files are streamed from disk, so any size the server
accepts works without holding a file in memory.

    export LOGPLATFORM_URL=http://127.0.0.1:8000
    export LOGPLATFORM_TOKEN=lpt_…            # from the API tokens page
    python3 examples/upload.py app.log db.csv.gz --team ops --name nightly
    python3 examples/upload.py app.log --team ops --json > result.json   # the whole result document

`--team` (slug or id) is needed when your user is in more than one team: the server
never picks one for you (it answers 400 team_required and lists your teams).

Exit status: 0 succeeded, 1 the analysis failed, 2 a usage, network or API error.
"""

from __future__ import annotations

import argparse
import http.client
import json
import mimetypes
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

CHUNK = 1024 * 1024


class ApiError(Exception):
    """An answer in the API's error shape, or no answer at all."""


def _error_text(status: int, body: bytes) -> str:
    try:
        error = json.loads(body)["error"]
        return f"{status} {error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"{status}: {body[:300].decode(errors='replace')}"


def api_get(url: str, token: str) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - the user's own server
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the user's URL
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise ApiError(_error_text(exc.code, exc.read())) from None
    except urllib.error.URLError as exc:
        raise ApiError(f"cannot reach {url}: {exc.reason}") from None


def upload(base: str, token: str, files: list[Path], fields: dict[str, str]) -> dict[str, Any]:
    """POST /api/v1/analyses/ as multipart/form-data, streaming each file from disk."""
    boundary = uuid.uuid4().hex
    head_parts: list[bytes] = []
    for name, value in fields.items():
        head_parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    file_heads = []
    for path in files:
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        filename = path.name.replace('"', "_")
        file_heads.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
        )
    tail = f"--{boundary}--\r\n".encode()
    length = sum(map(len, head_parts)) + len(tail)
    length += sum(len(h) + p.stat().st_size + 2 for h, p in zip(file_heads, files, strict=True))

    url = urllib.parse.urlsplit(base.rstrip("/") + "/api/v1/analyses/")
    connection_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(url.netloc, timeout=600)
    try:
        connection.putrequest("POST", url.path)
        connection.putheader("Authorization", f"Bearer {token}")
        connection.putheader("Accept", "application/json")
        connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        connection.putheader("Content-Length", str(length))
        connection.endheaders()
        for part in head_parts:
            connection.send(part)
        for head, path in zip(file_heads, files, strict=True):
            connection.send(head)
            with path.open("rb") as fh:
                while chunk := fh.read(CHUNK):
                    connection.send(chunk)
            connection.send(b"\r\n")
        connection.send(tail)
        response = connection.getresponse()
        body = response.read()
    except OSError as exc:
        raise ApiError(f"upload to {base} failed: {exc}") from None
    finally:
        connection.close()
    if response.status != 202:
        raise ApiError(_error_text(response.status, body))
    return json.loads(body)


def wait(api_url: str, token: str, *, interval: float, timeout: float) -> dict[str, Any]:
    """Poll the analysis until it succeeded or failed; progress goes to stderr."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        analysis = api_get(api_url, token)
        state = (analysis["status"], analysis["stage"], analysis["progress"])
        if state != last:
            print(f"  {analysis['status']}: {analysis['stage']} ({analysis['progress']}%)", file=sys.stderr)
            last = state
        if analysis["terminal"]:
            return analysis
        if time.monotonic() > deadline:
            raise ApiError(
                f"analysis {analysis['id']} not done after {timeout:.0f} s; it goes on at {api_url}"
            )
        time.sleep(interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "files", nargs="+", type=Path, help="log files (CSV, syslog, log4j, access logs, JSON lines, .gz)"
    )
    parser.add_argument("--url", default=os.environ.get("LOGPLATFORM_URL", "http://127.0.0.1:8000"))
    parser.add_argument(
        "--token", default=os.environ.get("LOGPLATFORM_TOKEN", ""), help="default $LOGPLATFORM_TOKEN"
    )
    parser.add_argument(
        "--team",
        default=os.environ.get("LOGPLATFORM_TEAM", ""),
        help="team slug or id; required if you are in several teams (default $LOGPLATFORM_TEAM)",
    )
    parser.add_argument("--name", help="a name for the analysis")
    parser.add_argument("--format", help="skip detection: csv, syslog, jsonl, …")
    parser.add_argument("--assume-year", help="year for timestamps without one (syslog)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between polls")
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="give up waiting after this many seconds"
    )
    parser.add_argument("--json", action="store_true", help="print the whole result document as JSON")
    args = parser.parse_args(argv)

    if not args.token:
        parser.error("no token: pass --token or set LOGPLATFORM_TOKEN (create one on the API tokens page)")
    missing = [str(p) for p in args.files if not p.is_file()]
    if missing:
        parser.error(f"not a file: {', '.join(missing)}")
    fields = {
        key: value
        for key, value in {
            "team": args.team,
            "name": args.name,
            "format": args.format,
            "assume_year": args.assume_year,
        }.items()
        if value
    }
    try:
        created = upload(args.url, args.token, args.files, fields)
        print(f"analysis {created['id']} queued: {created['url']}", file=sys.stderr)
        analysis = wait(created["api_url"], args.token, interval=args.interval, timeout=args.timeout)
        if analysis["status"] != "succeeded":
            print(f"analysis {analysis['id']} failed: {analysis['error']}", file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps(api_get(analysis["results_url"], args.token), indent=2))
            return 0
        summary = analysis["summary"]
        print(f"analysis {analysis['id']} succeeded: {analysis['url']}")
        for key in (
            "total_logs",
            "error_count",
            "critical_count",
            "warn_count",
            "rows_without_timestamp",
            "unparsed_lines",
        ):
            print(f"  {key:24} {summary[key]}")
        print(f"  {'error_rate':24} {summary['error_rate'] * 100:.2f} %")
        return 0
    except ApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
