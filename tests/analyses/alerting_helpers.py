"""Real local network peers for the notification tests, and a config override.

Webhook receivers are the outer boundary the house rules allow to stand in for:
they are real sockets on loopback, never mocks of our HTTP code.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings


def form_data(**values: str) -> dict[str, str]:
    """What the rule form posts for a valid rule, with `values` changed."""
    data = {
        "kind": "error_count",
        "threshold": "1",
        "min_rows": "100",
        "severity": "warning",
        "enabled": "on",
        "cooldown_minutes": "60",
        "emails": "",
        "webhook_url": "",
    }
    return {**data, **values}


def alerts_override(django_settings: Any, **values: Any) -> None:
    """Replace keys of config.yaml's `alerts` for one test (pytest-django restores
    `settings.LOGPLATFORM` afterwards; the nested dict is copied, never mutated)."""
    config = dict(settings.LOGPLATFORM)
    config["alerts"] = {**config["alerts"], **values}
    django_settings.LOGPLATFORM = config


@pytest.fixture
def allow_loopback(settings) -> None:  # noqa: ANN001
    """Local receivers listen on 127.0.0.1, which is refused unless allow-listed,
    as an on-premise receiver would be."""
    alerts_override(settings, webhook_allow_networks=["127.0.0.1/32"])


class Receiver:
    """A real local HTTP server that answers with the given statuses in turn
    (and `headers`, e.g. a Location for a redirect)."""

    def __init__(
        self,
        statuses: list[int],
        host: str = "127.0.0.1",
        headers: dict | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.statuses = list(statuses)
        self.bodies: list[dict] = []
        self.requests: list[dict[str, str]] = []
        self.server_names: list[str | None] = []  # TLS SNI of each handshake
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers["Content-Length"])
                receiver.requests.append(dict(self.headers))
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802 - a followed redirect arrives as GET
                receiver.requests.append(dict(self.headers))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}/hook"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            context.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.url = f"https://{host}:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Listener:
    """A bare TCP listener that records every connection it accepts.

    `mode`: "close" hangs up at once, "silent" holds the connection without a word,
    "trickle" sends a status line and then one header byte every `interval` seconds
    for `trickle_seconds`, then completes a 200 answer (so a client without a total
    deadline ends up succeeding, late)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        mode: str = "close",
        interval: float = 0.1,
        trickle_seconds: float = 20.0,
    ) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.mode = mode
        self.interval = interval
        self.trickle_seconds = trickle_seconds
        self.trickle_finished = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, host: str | None = None) -> str:
        return f"http://{host or self._host()}:{self.port}/hook"

    def _host(self) -> str:
        host = self.sock.getsockname()[0]
        return f"[{host}]" if ":" in host else host

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            if self.mode == "close":
                return
            if self.mode == "silent":
                self.stopping.wait(30)
                return
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                ends = time.monotonic() + self.trickle_seconds
                while time.monotonic() < ends and not self.stopping.is_set():
                    conn.sendall(b"X")
                    # The trickle under test (a byte per interval), cut short by close().
                    self.stopping.wait(self.interval)
                conn.sendall(b"-Slow: yes\r\nContent-Length: 0\r\n\r\n")
                self.trickle_finished.set()
            except OSError:
                return  # the client hung up: what a deadline does

    def close(self) -> None:
        self.stopping.set()
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(statuses: list[int], **kwargs: Any) -> Receiver:
        made.append(Receiver(statuses, **kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def listener():
    made: list[Listener] = []

    def make(host: str = "127.0.0.1", **kwargs: Any) -> Listener:
        made.append(Listener(host, **kwargs))
        return made[-1]

    yield make
    for item in made:
        item.close()


def self_signed_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate for `name` (and only that name) and its key, made by openssl."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}",
            "-addext", f"subjectAltName=DNS:{name}",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
