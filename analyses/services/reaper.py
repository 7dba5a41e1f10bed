"""The reaper: runs on its schedule (`analyses.tasks.reap_leases`, every minute).

It fails or re-queues analyses whose worker vanished (lease expired), sends again
the tasks a dead cluster had pulled but never started, and removes partial
uploads nobody writes to any more and stored lines no analysis will read.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from analyses.models import Analysis, Status
from analyses.services.create import analysis_enqueue
from analyses.services.leases import analysis_give_up_if_out_of_attempts, worker_settings
from analyses.services.lines_files import lines_orphans_remove
from analyses.uploads import clean_incoming

logger = logging.getLogger(__name__)


def leases_reap() -> dict[str, int]:
    """Fail or re-queue analyses whose worker vanished (lease expired)."""
    now = timezone.now()
    worker = worker_settings()
    expired = Analysis.objects.filter(status=Status.RUNNING, lease_expires_at__lt=now)
    given_up = 0
    requeued = 0
    for analysis_id, attempts in expired.values_list("id", "attempts"):
        if attempts >= worker["max_attempts"]:
            analysis_give_up_if_out_of_attempts(analysis_id=analysis_id, now=now)
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
    redispatched = _redispatch_stranded(now=now)
    stale_uploads = clean_incoming(
        older_than_seconds=settings.LOGPLATFORM["uploads"]["stale_partial_minutes"] * 60
    )
    stale_lines = lines_orphans_remove(older_than_seconds=worker["lease_seconds"])
    if given_up or requeued or redispatched or stale_uploads or stale_lines:
        logger.warning(
            "reaper: %d analyses given up, %d re-queued, %d re-dispatched, %d stale partial uploads "
            "and %d orphaned lines runs removed",
            given_up,
            requeued,
            redispatched,
            stale_uploads,
            stale_lines,
        )
    return {
        "given_up": given_up,
        "requeued": requeued,
        "redispatched": redispatched,
        "stale_uploads": stale_uploads,
        "stale_lines": stale_lines,
    }


def _redispatch_stranded(*, now: datetime) -> int:
    """Queue again analyses whose task a dead cluster had pulled but never started.

    django-q2's ORM broker hides a pulled task until `retry` seconds pass (over an
    hour here), so a killed qcluster strands what it had prefetched. When a worker
    is free and no analysis has started or ended for `redispatch_after_seconds`
    while some have waited that long, their tasks are sent again. Workers that are
    taking work are left alone (their queue drains by itself); a duplicate delivery
    would be harmless anyway because of the claim.
    """
    worker = worker_settings()
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
