"""Run the whole platform in the foreground: Spark Connect (local), the analyses'
qcluster, the notifications' qcluster, web.

`make run` calls this. Ctrl-C stops everything it started (a Spark server that
was already running before is left alone).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from analyses.engine_config import local_server_config, spark_is_local
from logplatform.processes import web_command
from spark_client.errors import SparkClientError
from spark_client.server import local_server
from spark_client.server.session import health_check, redact


class Command(BaseCommand):
    help = (
        "Start the Spark Connect server (when local), the analyses' and the notifications' qclusters "
        "and the web server; Ctrl-C stops them."
    )

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))

    def handle(self, *args, host: str, port: int, web_workers: int, **options) -> None:
        base = Path(settings.BASE_DIR)
        started_spark = False
        children: list[tuple[str, subprocess.Popen]] = []
        cfg = local_server_config()
        try:
            if spark_is_local():
                already = local_server.status(cfg).answering
                self.stdout.write("Starting and warming up the Spark Connect server (~35 s on 2 cores)…")
                st = local_server.start(cfg)
                started_spark = not already
                self.stdout.write(f"  Spark Connect: {st.describe()}")
            else:
                version = health_check(settings.SPARK_CONNECT_URL)
                self.stdout.write(f"  Spark Connect: Spark {version} at {redact(settings.SPARK_CONNECT_URL)}")
        except SparkClientError as exc:
            raise CommandError(str(exc)) from exc

        def spawn(name: str, argv: list[str]) -> None:
            proc = subprocess.Popen(argv, cwd=base, start_new_session=True)
            children.append((name, proc))

        spawn("qcluster", [sys.executable, "manage.py", "qcluster"])
        # Alert e-mails and webhooks are sent by their own cluster, never by a worker
        # that analyses wait for (analyses.notifications).
        spawn("notifications", [sys.executable, "manage.py", "qcluster", "--cluster", "notifications"])
        spawn(
            "web",
            web_command(
                f"{host}:{port}",
                workers=web_workers,
                extra=("--graceful-timeout", "20", "--access-logfile", "-"),
            ),
        )
        self.stdout.write(
            self.style.SUCCESS(f"\nlogplatform is up: http://{host}:{port}/   (Ctrl-C stops it)\n")
        )

        stopping = False

        def on_signal(signum, frame) -> None:  # noqa: ANN001
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        exit_code = 0
        try:
            while not stopping:
                for name, proc in children:
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with code {proc.returncode}; stopping.")
                        stopping = True
                        exit_code = 1
                time.sleep(0.5)
        finally:
            self.stdout.write("Stopping…")
            for _name, proc in children:
                _terminate(proc)
            if started_spark:
                local_server.stop(cfg)
            self.stdout.write("Stopped.")
        if exit_code:
            raise CommandError("A part of the platform stopped unexpectedly; see the log above.")


def _terminate(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
