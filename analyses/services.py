"""Writes for analyses: create, queue, claim, execute, store results, reap, delete.

The worker protocol (DESIGN §9): the Analysis row is the source of truth. A task
*claims* its analysis with one conditional UPDATE (status and attempt count), so a
second delivery of the same task finds nothing to claim. The claim carries a
token and a lease that a heartbeat renews; every later write is conditional on
the token, so a worker that lost its lease cannot overwrite a newer attempt.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Team
from analyses import engine_config, faults, quota
from analyses.models import (
    Analysis,
    AnalysisFile,
    AnalysisResult,
    RollupErrorType,
    RollupIp,
    RollupService,
    Status,
)
from analyses.uploads import (
    StoredUpload,
    copy_into_storage,
    move_into_storage,
    remove_stored,
    store_path_for,
    stored_path_resolve,
)

logger = logging.getLogger(__name__)

TASK = "analyses.tasks.run_analysis"


def worker_id() -> str:
    # At call time: django-q2 forks its workers after this module is imported.
    return f"{socket.gethostname()}:{os.getpid()}"


DB_ERRORS = (OperationalError, InterfaceError)


@dataclass(frozen=True)
class LocalFile:
    """A file on this machine (the `analyze` command), copied into storage."""

    path: Path
    name: str
    format: str = ""


# --------------------------------------------------------------------------- create


def _worker_settings() -> dict[str, Any]:
    return settings.LOGPLATFORM["worker"]


@transaction.atomic
def analysis_create(
    *,
    team: Team,
    user: AbstractBaseUser | None,
    files: list[StoredUpload | LocalFile],
    name: str = "",
    options: dict[str, Any] | None = None,
    file_formats: list[str] | None = None,
    enqueue: bool = True,
) -> Analysis:
    """Record an analysis and its files, move the files into storage, queue it on commit.

    Raises quota.QuotaExceeded when the files would take the team over its quota."""
    if not files:
        raise ValueError("An analysis needs at least one file.")
    quota.team_quota_check(
        team=team,
        adding_bytes=sum(f.size if isinstance(f, StoredUpload) else f.path.stat().st_size for f in files),
    )
    options = engine_config.clean_options(options or {})
    names = [f.name for f in files]
    analysis = Analysis.objects.create(
        team=team,
        created_by=user if user is not None and user.is_authenticated else None,
        name=(name.strip() or _default_name(names))[:200],
        options=options,
    )
    rows = []
    for position, f in enumerate(files):
        override = (file_formats[position] if file_formats and position < len(file_formats) else "") or ""
        if isinstance(f, StoredUpload):
            relative = store_path_for(team_id=team.pk, gzip=f.gzip)
            move_into_storage(f.path, relative)
            size, digest = f.size, f.sha256
        else:
            with f.path.open("rb") as fh:
                gzip = fh.read(2) == b"\x1f\x8b"
            relative = store_path_for(team_id=team.pk, gzip=gzip)
            size, digest = copy_into_storage(f.path, relative)
            override = override or f.format
        rows.append(
            AnalysisFile(
                analysis=analysis,
                position=position,
                original_name=f.name[:255],
                stored_path=str(relative),
                size=size,
                sha256=digest,
                format_override=override,
            )
        )
    AnalysisFile.objects.bulk_create(rows)
    if enqueue:
        analysis_enqueue(analysis=analysis)
    logger.info("analysis %s created for team %s with %d file(s)", analysis.pk, team.slug, len(rows))
    return analysis


def _default_name(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return f"{names[0]} and {len(names) - 1} more"


def analysis_enqueue(*, analysis: Analysis) -> None:
    """Queue the worker task once the surrounding transaction has committed."""
    analysis_id = analysis.pk

    def send() -> None:
        from django_q.tasks import async_task

        Analysis.objects.filter(pk=analysis_id).update(dispatched_at=timezone.now())
        async_task(TASK, analysis_id, task_name=f"analysis-{analysis_id}", group="analyses")

    transaction.on_commit(send)


# --------------------------------------------------------------------------- claim


@dataclass(frozen=True)
class Claim:
    analysis_id: int
    token: str
    attempt: int
    previous_session_id: str


def analysis_claim(*, analysis_id: int) -> Claim | None:
    """Atomically take the analysis for this worker, or return None if it is not ours.

    Claimable: queued, or running with an expired lease (its worker died), and
    fewer attempts than the limit. A claim that fails because the attempts ran out
    marks the analysis failed: the input keeps killing its worker.
    """
    worker = _worker_settings()
    now = timezone.now()
    token = uuid.uuid4().hex
    claimable = Q(status=Status.QUEUED) | Q(status=Status.RUNNING, lease_expires_at__lt=now)
    previous = Analysis.objects.filter(pk=analysis_id).values_list("spark_session_id", flat=True).first()
    updated = Analysis.objects.filter(claimable, pk=analysis_id, attempts__lt=worker["max_attempts"]).update(
        status=Status.RUNNING,
        attempts=F("attempts") + 1,
        claim_token=token,
        lease_expires_at=now + timedelta(seconds=worker["lease_seconds"]),
        started_at=now,
        finished_at=None,
        stage="Starting",
        progress=0,
        error="",
        worker=worker_id(),
    )
    if updated:
        attempt = Analysis.objects.filter(pk=analysis_id).values_list("attempts", flat=True).get()
        return Claim(analysis_id, token, attempt, previous or "")
    _fail_if_out_of_attempts(analysis_id=analysis_id, now=now)
    return None


def _fail_if_out_of_attempts(*, analysis_id: int, now: datetime) -> None:
    worker = _worker_settings()
    Analysis.objects.filter(
        Q(status=Status.QUEUED) | Q(status=Status.RUNNING, lease_expires_at__lt=now),
        pk=analysis_id,
        attempts__gte=worker["max_attempts"],
    ).update(
        status=Status.FAILED,
        finished_at=now,
        stage="Failed",
        claim_token="",
        error=(
            f"The analysis stopped its worker {worker['max_attempts']} times without finishing, so it "
            "was given up. The input may be too large for the worker's memory or malformed in a way "
            "that crashes it; try fewer or smaller files, or contact your administrator."
        ),
    )


def db_retry(write, *, attempts: int = 15, wait: float = 2.0):  # noqa: ANN001, ANN201
    """Run a database write, reconnecting through a database restart (~30 s)."""
    for attempt in range(attempts):
        try:
            return write()
        except DB_ERRORS:
            if attempt == attempts - 1:
                raise
            logger.warning("database unavailable; reconnecting (%d/%d)", attempt + 1, attempts)
            connection.close()
            time.sleep(wait)
    return None


class LostClaim(Exception):
    """Another attempt owns the analysis now; this worker must stop writing."""


def _owned(claim: Claim):
    return Analysis.objects.filter(pk=claim.analysis_id, claim_token=claim.token, status=Status.RUNNING)


def analysis_progress(*, claim: Claim, stage: str, percent: int) -> None:
    lease = _worker_settings()["lease_seconds"]
    db_retry(
        lambda: _owned(claim).update(
            stage=stage[:100],
            progress=max(0, min(100, percent)),
            lease_expires_at=timezone.now() + timedelta(seconds=lease),
        )
    )


class _Heartbeat(threading.Thread):
    """Renews the lease while a long Spark query runs without progress events."""

    def __init__(self, claim: Claim) -> None:
        super().__init__(daemon=True, name=f"lease-{claim.analysis_id}")
        self.claim = claim
        self.stopped = threading.Event()
        self.interval = max(1.0, _worker_settings()["lease_seconds"] / 3)

    def run(self) -> None:
        lease = _worker_settings()["lease_seconds"]
        try:
            while not self.stopped.wait(self.interval):
                db_retry(
                    lambda: _owned(self.claim).update(
                        lease_expires_at=timezone.now() + timedelta(seconds=lease)
                    ),
                    attempts=3,
                )
        except Exception:
            logger.exception("lease heartbeat for analysis %s failed", self.claim.analysis_id)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)


# --------------------------------------------------------------------------- execute


def analysis_execute(*, analysis_id: int) -> str:
    """Run one analysis end to end in this process (the worker task's body).

    Returns what happened, for the task's log: "not claimed", "succeeded", "failed".
    Never raises for a problem of the analysis; those end in status failed.
    """
    from spark_client import NoUsableInputError, SparkConnectionLostError, SparkUnavailableError
    from spark_client.engine import analyze

    claim = analysis_claim(analysis_id=analysis_id)
    if claim is None:
        logger.info("analysis %s: nothing to claim (done, running elsewhere, or given up)", analysis_id)
        return "not claimed"
    heartbeat = _Heartbeat(claim)
    heartbeat.start()
    started = time.monotonic()
    try:
        analysis = Analysis.objects.select_related("team").get(pk=analysis_id)
        files = list(analysis.files.all())
        # Before connecting: a stored path outside the storage root fails here, unread.
        inputs = engine_config.input_files(files)
        faults.maybe_crash(analysis)
        # A Spark server that is restarting gets `spark.reconnect_wait_seconds` to come back.
        spark = engine_config.spark_session(wait=True)
        tag = engine_config.spark_tag(analysis_id)
        if claim.attempt > 1 and claim.previous_session_id and claim.previous_session_id != spark.session_id:
            # A dead worker's query may still run on the server: stop it first.
            stopped = engine_config.interrupt_previous(claim.previous_session_id, tag)
            logger.info(
                "analysis %s attempt %d: previous Spark session %s, %d operation(s) interrupted",
                analysis_id,
                claim.attempt,
                claim.previous_session_id,
                len(stopped),
            )
            if stopped:
                logger.warning(
                    "analysis %s: interrupted %d orphaned Spark operation(s) of the previous attempt: %s",
                    analysis_id,
                    len(stopped),
                    ", ".join(stopped),
                )
        _owned(claim).update(spark_session_id=spark.session_id)
        connected = time.monotonic()
        output = analyze(
            spark,
            inputs,
            engine_config.engine_options(analysis),
            progress=lambda p: analysis_progress(claim=claim, stage=p.stage, percent=p.percent),
            tag=tag,
        )
        analysed = time.monotonic()
        analysis_progress(claim=claim, stage="Storing results", percent=94)
        document = results_store(claim=claim, analysis=analysis, output=output)
        stored = time.monotonic()
        _evaluate_alerts(analysis, document)
        logger.info(
            "analysis %s succeeded in %.2fs (session %.2fs, detect %.2fs, Spark %.2fs, store %.2fs, "
            "alerts %.2fs): %s rows, %s errors",
            analysis_id,
            time.monotonic() - started,
            connected - started,
            output.stats["detect_seconds"],
            output.stats["query_seconds"],
            stored - analysed,
            time.monotonic() - stored,
            output.summary["total_logs"],
            output.summary["error_count"],
        )
        return "succeeded"
    except LostClaim:
        logger.warning("analysis %s: lease lost to another attempt; dropping this one", analysis_id)
        return "lost"
    except SparkConnectionLostError as exc:
        engine_config.forget_spark_session()
        if claim.attempt < _worker_settings()["max_attempts"] and analysis_requeue(
            claim=claim, reason=str(exc)
        ):
            return "requeued"
        analysis_fail(claim=claim, message=str(exc))
        return "failed"
    except SparkUnavailableError as exc:
        engine_config.forget_spark_session()
        analysis_fail(claim=claim, message=str(exc))
        return "failed"
    except NoUsableInputError as exc:
        _record_file_errors(analysis_id=analysis_id, reports=exc.reports)
        analysis_fail(claim=claim, message=str(exc))
        return "failed"
    except Exception as exc:
        logger.exception("analysis %s failed", analysis_id)
        analysis_fail(claim=claim, message=_user_message(exc))
        return "failed"
    finally:
        heartbeat.stop()


def analysis_requeue(*, claim: Claim, reason: str) -> bool:
    """Give the analysis back to the queue for another attempt (attempts are kept)."""

    def write() -> int:
        with transaction.atomic():
            moved = _owned(claim).update(
                status=Status.QUEUED,
                stage="Waiting for a worker (retrying after a lost Spark connection)",
                claim_token="",
                lease_expires_at=None,
            )
            if moved:
                analysis_enqueue(analysis=Analysis(pk=claim.analysis_id))
            return moved

    moved = db_retry(write)
    if moved:
        logger.warning("analysis %s re-queued: %s", claim.analysis_id, reason)
    return bool(moved)


def _evaluate_alerts(analysis: Analysis, document: dict) -> None:
    """Alerts never fail an analysis that succeeded."""
    from analyses.alerting import alerts_evaluate

    try:
        alerts_evaluate(analysis=analysis, document=document)
    except Exception:
        logger.exception("alert evaluation for analysis %s failed", analysis.pk)


def _user_message(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"The analysis failed: {text[:1000]}"


def analysis_fail(*, claim: Claim, message: str) -> None:
    updated = db_retry(
        lambda: _owned(claim).update(
            status=Status.FAILED,
            finished_at=timezone.now(),
            stage="Failed",
            error=message[:5000],
            claim_token="",
            lease_expires_at=None,
        )
    )
    if updated:
        logger.warning("analysis %s failed: %s", claim.analysis_id, message)


def _parse_hour(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def results_store(*, claim: Claim, analysis: Analysis, output) -> dict:  # noqa: ANN001
    """Write the result set once: replace any earlier set, then mark succeeded.

    One transaction, conditional on still owning the claim, so a retried or
    duplicated attempt can never leave two result sets or a half-written one.
    """
    summary = output.summary
    document = {
        "summary": summary,
        "files": [f.as_dict() for f in output.files],
        "tables": output.tables,
        "trend_bucket_seconds": output.trend_bucket_seconds,
        "stats": output.stats,
    }
    by_id = {f.file_id: f for f in output.files}
    db_retry(lambda: _results_write(claim, analysis, output, by_id, document))
    return document


def _results_write(claim: Claim, analysis: Analysis, output, by_id: dict, document: dict) -> None:  # noqa: ANN001
    summary = output.summary
    with transaction.atomic():
        locked = _owned(claim).select_for_update().first()
        if locked is None:
            raise LostClaim()
        AnalysisResult.objects.filter(analysis_id=analysis.pk).delete()
        for model in (RollupService, RollupErrorType, RollupIp):
            model.objects.filter(analysis_id=analysis.pk).delete()
        AnalysisResult.objects.create(analysis_id=analysis.pk, document=document)
        _rollups_insert(analysis.pk, output)
        for f in AnalysisFile.objects.filter(analysis_id=analysis.pk):
            report = by_id.get(f.pk)
            if report is None:
                continue
            f.detected_format = report.format or ""
            f.rows = report.rows if not report.error else None
            f.unparsed_lines = report.unparsed_lines if not report.error else None
            f.error = report.error or ""
            f.save(update_fields=["detected_format", "rows", "unparsed_lines", "error"])
        _owned(claim).update(
            status=Status.SUCCEEDED,
            finished_at=timezone.now(),
            stage="Done",
            progress=100,
            claim_token="",
            lease_expires_at=None,
            total_rows=summary["total_logs"],
            error_rows=summary["error_count"],
            error_rate=summary["error_rate"],
            unparsed_lines=summary["unparsed_lines"],
        )


def _rollups_insert(analysis_id: int, output) -> None:  # noqa: ANN001
    """The three rollups in bulk, inside the caller's transaction.

    A large analysis has 10^5 rollup rows. On PostgreSQL they go in with COPY
    (psycopg 3), each Arrow batch of the rollup written as CSV by Arrow's own
    writer: no Python object per row or value, so neither time nor the worker's
    memory grows with a Python object per row. Other databases use bulk_create.
    """
    rollups = (
        (RollupService, ("hour", "level", "service"), output.rollup_service),
        (RollupErrorType, ("hour", "level", "service", "error_type"), output.rollup_error_type),
        (RollupIp, ("hour", "level", "service", "ip"), output.rollup_ip),
    )
    if connection.vendor != "postgresql":
        for model, fields, rows in rollups:
            model.objects.bulk_create(
                (
                    model(
                        analysis_id=analysis_id,
                        **{f: r[f] or "" for f in fields[1:]},
                        hour=_parse_hour(r["hour"]),
                        count=r["count"],
                    )
                    for r in rows
                ),
                batch_size=5000,
            )
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model, fields, rollup in rollups:
            names = ("analysis", *fields, "count")
            columns = ", ".join(quote(model._meta.get_field(f).column) for f in names)
            sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN WITH (FORMAT csv)"
            with cursor.cursor.copy(sql) as copy:
                for batch in rollup.batches(50_000):
                    copy.write(_copy_csv(analysis_id, batch, fields))


def _copy_csv(analysis_id: int, batch, fields: tuple[str, ...]) -> bytes:  # noqa: ANN001 - a pyarrow.RecordBatch
    """One batch as COPY CSV lines: analysis id, hour with its zone, the text keys
    ('' for none: the columns are NOT NULL), count.

    Arrow's writer quotes every string, so an empty key is `""` (an empty string
    to PostgreSQL) while a missing hour stays an unquoted empty field (NULL).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    columns = [
        pa.repeat(pa.scalar(analysis_id, pa.int64()), batch.num_rows),
        pc.binary_join_element_wise(batch["hour"].cast(pa.string()), "+00", ""),
        *(pc.fill_null(batch[f].cast(pa.string()), "") for f in fields[1:]),
        batch["count"],
    ]
    sink = pa.BufferOutputStream()
    pcsv.write_csv(
        pa.record_batch(columns, names=[f"c{i}" for i in range(len(columns))]),
        sink,
        pcsv.WriteOptions(include_header=False, quoting_style="needed"),
    )
    return sink.getvalue().to_pybytes()


def _record_file_errors(*, analysis_id: int, reports) -> None:  # noqa: ANN001
    for report in reports:
        AnalysisFile.objects.filter(pk=report.file_id, analysis_id=analysis_id).update(
            error=report.error or "", detected_format=report.format or ""
        )


# --------------------------------------------------------------------------- reaper


def leases_reap() -> dict[str, int]:
    """Fail or re-queue analyses whose worker vanished (lease expired)."""
    now = timezone.now()
    worker = _worker_settings()
    expired = Analysis.objects.filter(status=Status.RUNNING, lease_expires_at__lt=now)
    given_up = 0
    requeued = 0
    for analysis_id, attempts in expired.values_list("id", "attempts"):
        if attempts >= worker["max_attempts"]:
            _fail_if_out_of_attempts(analysis_id=analysis_id, now=now)
            given_up += 1
            continue
        with transaction.atomic():
            moved = Analysis.objects.filter(
                pk=analysis_id, status=Status.RUNNING, lease_expires_at__lt=now
            ).update(
                status=Status.QUEUED,
                stage="Waiting for a worker (previous attempt stopped)",
                claim_token="",
            )
            if moved:
                analysis_enqueue(analysis=Analysis(pk=analysis_id))
                requeued += 1
    redispatched = _redispatch_stranded(now)
    from analyses.uploads import clean_incoming

    stale_uploads = clean_incoming(
        older_than_seconds=settings.LOGPLATFORM["uploads"]["stale_partial_minutes"] * 60
    )
    if given_up or requeued or redispatched or stale_uploads:
        logger.warning(
            "reaper: %d analyses given up, %d re-queued, %d re-dispatched, %d stale partial uploads removed",
            given_up,
            requeued,
            redispatched,
            stale_uploads,
        )
    return {
        "given_up": given_up,
        "requeued": requeued,
        "redispatched": redispatched,
        "stale_uploads": stale_uploads,
    }


def _redispatch_stranded(now: datetime) -> int:
    """Queue again analyses whose task a dead cluster had pulled but never started.

    django-q2's ORM broker hides a pulled task until `retry` seconds pass (over an
    hour here), so a killed qcluster strands what it had prefetched. When a worker
    is free and no analysis has started or ended for `redispatch_after_seconds`
    while some have waited that long, their tasks are sent again. Workers that are
    taking work are left alone (their queue drains by itself); a duplicate delivery
    would be harmless anyway because of the claim.
    """
    worker = _worker_settings()
    if Analysis.objects.filter(status=Status.RUNNING).count() >= settings.Q_CLUSTER["workers"]:
        return 0
    cutoff = now - timedelta(seconds=worker["redispatch_after_seconds"])
    if Analysis.objects.filter(Q(started_at__gte=cutoff) | Q(finished_at__gte=cutoff)).exists():
        return 0
    stranded = list(
        Analysis.objects.filter(
            Q(dispatched_at__lt=cutoff) | Q(dispatched_at__isnull=True, created_at__lt=cutoff),
            status=Status.QUEUED,
        ).values_list("pk", flat=True)
    )
    for analysis_id in stranded:
        analysis_enqueue(analysis=Analysis(pk=analysis_id))
    return len(stranded)


# --------------------------------------------------------------------------- delete / re-run


@transaction.atomic
def analysis_delete(*, analysis: Analysis) -> None:
    paths = list(analysis.files.values_list("stored_path", flat=True))
    analysis_id = analysis.pk
    analysis.delete()

    def remove_files() -> None:
        still_used = set(
            AnalysisFile.objects.filter(stored_path__in=paths).values_list("stored_path", flat=True)
        )
        for path in paths:
            if path not in still_used:
                remove_stored(path)

    transaction.on_commit(remove_files)
    logger.info("analysis %s deleted with %d file(s)", analysis_id, len(paths))


@transaction.atomic
def analysis_rerun(*, analysis: Analysis, user: AbstractBaseUser | None) -> Analysis:
    """A new analysis over the same stored files (they are shared, not copied)."""
    clone = Analysis.objects.create(
        team=analysis.team,
        created_by=user if user is not None and user.is_authenticated else None,
        name=f"{analysis.name} (re-run)"[:200],
        options=analysis.options,
    )
    AnalysisFile.objects.bulk_create(
        AnalysisFile(
            analysis=clone,
            position=f.position,
            original_name=f.original_name,
            stored_path=f.stored_path,
            size=f.size,
            sha256=f.sha256,
            format_override=f.format_override,
        )
        for f in analysis.files.all()
    )
    analysis_enqueue(analysis=clone)
    return clone


def stored_file_path(f: AnalysisFile) -> Path:
    """The file on disk; uploads.StoredPathError when the row points outside storage."""
    return stored_path_resolve(f.stored_path)
