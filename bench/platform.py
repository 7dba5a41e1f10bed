"""The platform side of the bench: its own PostgreSQL database, the real services,
a real `manage.py qcluster`, and analyses timed from queued to succeeded.

The harness process is a Django process like the web and the workers (same
settings module, environment pointing at the bench's database, storage and Spark
server); the analyses it creates go through `analysis_create(..., enqueue=True)`
and are run by the qcluster subprocess exactly as uploads are.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.datagen import Generated
from logplatform.processes import Child

BENCH_DB = "logplatform_bench"
TEAM = "bench"
USERNAME = "bench"
PASSWORD = "bench-only-password-7431"  # noqa: S105 - a throwaway user of the bench database
# One key per run: the harness signs the tasks it queues and the workers it starts
# check them, so every environment() of a run must carry the same key.
SECRET_KEY = "bench-only-not-secret-" + uuid.uuid4().hex


def environment(*, root: Path, spark_url: str) -> dict[str, str]:
    """The environment of the harness and of every process it starts."""
    url = os.environ.get("BENCH_DATABASE_URL") or f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}"
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="logplatform.settings",
        DATABASE_URL=url,
        DATA_DIR=str(root / "django"),
        STORAGE_ROOT=str(root / "storage"),
        REPORTS_DIR=str(root / "reports"),
        STATIC_ROOT=str(root / "static"),
        SPARK_CONNECT_URL=spark_url,
        DJANGO_SECRET_KEY=SECRET_KEY,
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        PYTHONUNBUFFERED="1",
    )
    return env


def database_ensure(url: str) -> None:
    """Create the bench database on first use (PostgreSQL, trust auth on loopback)."""
    import psycopg

    if not url.startswith(("postgres://", "postgresql://")):
        return
    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def django_ready(env: dict[str, str]) -> None:
    os.environ.update(env)
    database_ensure(env["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def bench_team():  # noqa: ANN201 - (Team, User)
    """The bench's team and member, with every earlier bench analysis deleted."""
    from django.contrib.auth import get_user_model

    from accounts import services as accounts
    from analyses.models import Analysis
    from analyses.services import create

    team, _ = accounts.team_get_or_create(slug=TEAM, name="Bench")
    user = get_user_model().objects.filter(username=USERNAME).first()
    if user is None:
        user = accounts.user_create(username=USERNAME, password=PASSWORD)
    accounts.membership_create(team=team, user=user, role="member")
    for analysis in Analysis.objects.filter(team=team):
        create.analysis_delete(analysis=analysis)
    return team, user


def stored_upload(gen: Generated):  # noqa: ANN201 - StoredUpload
    """The generated file as if just uploaded: a hard link in storage's incoming
    directory (no copy), with the size and digest recorded at generation."""
    from analyses.uploads import StoredUpload, incoming_dir

    path = Path(gen.path)
    target = incoming_dir() / f"{uuid.uuid4().hex}.part"
    try:
        os.link(path, target)
    except OSError:  # another file system: copy once
        import shutil

        shutil.copyfile(path, target)
    return StoredUpload(
        path=target, name=path.name, size=gen.bytes, sha256=gen.sha256, gzip=False, content_type="text/plain"
    )


def qcluster_start(env: dict[str, str], log: Path) -> Child:
    proc = Child([sys.executable, "manage.py", "qcluster"], log=log, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"qcluster exited:\n{proc.tail()}")
        if "running" in proc.log.read_text(errors="replace"):
            return proc
        time.sleep(0.2)
    return proc  # the log level may hide the banner; it is alive


@dataclass
class Timed:
    analysis_id: int
    status: str
    seconds: float  # committed (queued) -> succeeded: the row's finished_at
    queue_seconds: float  # committed -> claimed by a worker: the row's started_at
    stats: dict[str, Any]
    summary: dict[str, Any] | None
    tables: dict[str, Any] | None


def analysis_wait(analysis_id: int, committed: float, timeout: float = 3600) -> Timed:
    """Wait for the Analysis row (the source of truth) to be terminal; `committed`
    is the wall-clock time (`time.time()`) the analysis was queued.

    The times come from the row: the worker stamps `started_at` when it claims the
    analysis and `finished_at` in the transaction that stores the results, just
    before its commit (~10 ms). Polling every 100 ms only learns that it is done:
    the times do not depend on the poll, and a faster one would take CPU from the
    analysis on 2 cores.
    """
    from analyses.models import Analysis, AnalysisResult

    deadline = time.time() + timeout
    while time.time() < deadline:
        status, started, finished = (
            Analysis.objects.filter(pk=analysis_id).values_list("status", "started_at", "finished_at").get()
        )
        if status in ("succeeded", "failed"):
            now = time.time()
            document = AnalysisResult.objects.filter(analysis_id=analysis_id).values_list(
                "document", flat=True
            )
            doc = document.first() or {}
            end = finished.timestamp() if finished else now
            return Timed(
                analysis_id=analysis_id,
                status=status,
                seconds=end - committed,
                queue_seconds=(started.timestamp() if started else end) - committed,
                stats=doc.get("stats", {}),
                summary=doc.get("summary"),
                tables=doc.get("tables"),
            )
        time.sleep(0.1)
    raise TimeoutError(f"analysis {analysis_id} not finished after {timeout:.0f}s")


def analysis_timed(team, user, files: list[Generated], name: str) -> Timed:  # noqa: ANN001
    """(a): create the analysis on files already in storage, queue it, time it."""
    from analyses.services import create

    uploads = [stored_upload(g) for g in files]
    analysis = create.analysis_create(team=team, user=user, files=uploads, name=name, enqueue=True)
    # analysis_create is atomic: the task is queued on commit, i.e. when it returns.
    return analysis_wait(analysis.pk, time.time())


def queue_clear() -> None:
    """Drop queued tasks (after the upload case, whose analysis is not run)."""
    from django_q.models import OrmQ

    OrmQ.objects.all().delete()


def analysis_delete(analysis_id: int) -> None:
    from analyses.models import Analysis
    from analyses.services import create

    analysis = Analysis.objects.filter(pk=analysis_id).first()
    if analysis is not None:
        create.analysis_delete(analysis=analysis)
