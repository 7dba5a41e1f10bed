"""python manage.py spark_cluster start|stop|status — a Spark standalone cluster on
this machine (docs/scaling.md): a master, two workers and a Spark Connect server
whose executors run on them, warmed up with the options analyses run with."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from analyses.engine_config import cluster_config
from spark_client.errors import SparkServerError
from spark_client.server import cluster


class Command(BaseCommand):
    help = (
        "Start, stop or inspect a Spark standalone cluster (master, workers, Connect server) on this machine."
    )

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("action", nargs="?", default="status", choices=["start", "stop", "status"])

    def handle(self, *args, action: str, **options) -> None:
        cfg = cluster_config()
        try:
            if action == "start":
                self.stdout.write(cluster.start(cfg))
                self.stdout.write(f"SPARK_CONNECT_URL={cfg.connect_url}")
            elif action == "stop":
                stopped = cluster.stop(cfg)
                self.stdout.write("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
            else:
                self.stdout.write(cluster.describe(cfg))
        except SparkServerError as exc:
            raise CommandError(str(exc)) from exc
