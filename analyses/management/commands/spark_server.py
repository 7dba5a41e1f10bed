"""python manage.py spark_server start|stop|status|check — the local Spark Connect server."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from analyses.engine_config import local_server_config
from spark_client.errors import SparkClientError
from spark_client.server import local_server
from spark_client.server.session import health_check, redact


class Command(BaseCommand):
    help = "Start, stop or inspect the local Spark Connect server run from the pip-installed pyspark."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("action", choices=["start", "stop", "status", "check", "kill"])

    def handle(self, *args, action: str, **options) -> None:
        cfg = local_server_config()
        try:
            if action == "start":
                before = local_server.status(cfg)
                st = local_server.start(cfg)
                verb = "already running" if before.answering else "started"
                self.stdout.write(self.style.SUCCESS(f"Spark Connect server {verb}: {st.describe()}"))
            elif action == "stop":
                stopped = local_server.stop(cfg)
                self.stdout.write(
                    "Spark Connect server stopped." if stopped else "No server of ours was running."
                )
            elif action == "kill":
                local_server.kill(cfg)
                self.stdout.write("Spark Connect server killed.")
            elif action == "status":
                self.stdout.write(local_server.status(cfg).describe())
            elif action == "check":
                version = health_check(settings.SPARK_CONNECT_URL)
                self.stdout.write(
                    self.style.SUCCESS(f"Spark {version} answers at {redact(settings.SPARK_CONNECT_URL)}")
                )
        except SparkClientError as exc:
            raise CommandError(str(exc)) from exc
