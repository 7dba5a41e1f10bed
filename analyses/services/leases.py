"""A worker's hold on an analysis: claim, lease and heartbeat, progress, re-queue, fail.

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from analyses.models import Analysis, Status
from analyses.services.create import analysis_enqueue

logger = logging.getLogger(__name__)

DB_ERRORS = (OperationalError, InterfaceError)

T = TypeVar("T")


def worker_settings() -> dict[str, Any]:
    return settings.LOGPLATFORM["worker"]


def worker_id() -> str:
    # At call time: django-q2 forks its workers after this module is imported.
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Claim:
    analysis_id: int
    token: str
    attempt: int
    previous_session_id: str


class LostClaim(Exception):
    """Another attempt owns the analysis now; this worker must stop writing."""


def analysis_claim(*, analysis_id: int) -> Claim | None:
    """Atomically take the analysis for this worker, or return None if it is not ours.

    Claimable: queued, or running with an expired lease (its worker died), and
    fewer attempts than the limit. A claim that fails because the attempts ran out
    marks the analysis failed: the input keeps killing its worker.
    """
    worker = worker_settings()
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
    analysis_give_up_if_out_of_attempts(analysis_id=analysis_id, now=now)
    return None


def analysis_give_up_if_out_of_attempts(*, analysis_id: int, now: datetime) -> None:
    """Fail a claimable analysis whose attempts ran out (its input keeps killing workers)."""
    worker = worker_settings()
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


def db_retry(write: Callable[[], T], *, attempts: int = 15, wait: float = 2.0) -> T | None:
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


def claim_owned(claim: Claim) -> QuerySet[Analysis]:
    """The analysis, only while this claim still holds it: every write goes through here."""
    return Analysis.objects.filter(pk=claim.analysis_id, claim_token=claim.token, status=Status.RUNNING)


def analysis_progress(*, claim: Claim, stage: str, percent: int) -> None:
    lease = worker_settings()["lease_seconds"]
    db_retry(
        lambda: claim_owned(claim).update(
            stage=stage[:100],
            progress=max(0, min(100, percent)),
            lease_expires_at=timezone.now() + timedelta(seconds=lease),
        )
    )


class LeaseHeartbeat(threading.Thread):
    """Renews the lease while a long Spark query runs without progress events."""

    def __init__(self, claim: Claim) -> None:
        super().__init__(daemon=True, name=f"lease-{claim.analysis_id}")
        self.claim = claim
        self.stopped = threading.Event()
        self.interval = max(1.0, worker_settings()["lease_seconds"] / 3)

    def run(self) -> None:
        lease = worker_settings()["lease_seconds"]
        try:
            while not self.stopped.wait(self.interval):
                db_retry(
                    lambda: claim_owned(self.claim).update(
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


def analysis_requeue(*, claim: Claim, reason: str) -> bool:
    """Give the analysis back to the queue for another attempt (attempts are kept)."""

    def write() -> int:
        with transaction.atomic():
            moved = claim_owned(claim).update(
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


def analysis_fail(*, claim: Claim, message: str) -> None:
    updated = db_retry(
        lambda: claim_owned(claim).update(
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
