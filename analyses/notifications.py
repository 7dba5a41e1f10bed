"""Sending alert notifications, on the notifications cluster only.

An analysis worker never sends or waits for a notification: alerting queues one
task per Delivery on the `notifications` django-q2 cluster (its own queue, its own
processes, `manage.py qcluster --cluster notifications`). Each task run makes one
attempt, bounded by a total deadline. A failed attempt is rescheduled on the
Delivery row (`next_attempt_at`, exponential back-off) and the sweeper, a
schedule of the notifications cluster, queues what is due: nothing sleeps.

As with analyses (DESIGN §9), the Delivery row is the source of truth, not the
queue: a task claims its delivery with a conditional UPDATE that counts the
attempt and moves `next_attempt_at` past the attempt's deadline (a lease), so a
duplicate task finds nothing to do, and a worker killed mid-attempt leaves a
delivery the sweeper sends again once the lease ends.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from analyses import webhooks
from analyses.models import Alert, AlertRule, Delivery, DeliveryAttempt

logger = logging.getLogger(__name__)

CLUSTER = "notifications"
DELIVERY_TASK = "analyses.tasks.deliver_notification"
MAIL_FAILED = "could not deliver: the mail server refused the message or was unreachable"
# A new delivery's task is queued at once; the sweeper sends it only if that task
# has not claimed it after this long (the task was lost, or the queue is behind).
FIRST_ATTEMPT_GRACE = timedelta(minutes=5)
# The lease an attempt holds beyond its deadline (database writes, a slow start).
LEASE_MARGIN = timedelta(seconds=60)
SWEEP_LIMIT = 500


def _config() -> dict[str, Any]:
    return settings.LOGPLATFORM["alerts"]


def _enqueue(delivery_id: int) -> None:
    from django_q.tasks import async_task

    async_task(DELIVERY_TASK, delivery_id, cluster=CLUSTER, group="notifications")


def deliveries_queue(*, alert: Alert, rule: AlertRule) -> list[Delivery]:
    """One Delivery per channel target of the rule, each queued on commit."""
    due = timezone.now() + FIRST_ATTEMPT_GRACE
    deliveries = [
        Delivery(alert=alert, channel=Delivery.Channel.EMAIL, target=address, next_attempt_at=due)
        for address in rule.email_list
    ]
    if rule.webhook_url:
        deliveries.append(
            Delivery(
                alert=alert, channel=Delivery.Channel.WEBHOOK, target=rule.webhook_url, next_attempt_at=due
            )
        )
    created = Delivery.objects.bulk_create(deliveries)
    for delivery in created:
        transaction.on_commit(lambda delivery_id=delivery.pk: _enqueue(delivery_id))
    return created


def deliveries_dispatch_due(*, limit: int = SWEEP_LIMIT) -> int:
    """Queue every pending delivery that is due (retries, and first attempts whose
    task was lost); the claim makes a duplicate harmless. Returns how many."""
    ids = list(
        Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in ids:
        _enqueue(delivery_id)
    return len(ids)


def _payload(alert: Alert) -> dict[str, Any]:
    analysis = alert.analysis
    return {
        "alert": {
            "id": alert.pk,
            "kind": alert.kind,
            "severity": alert.severity,
            "value": alert.value,
            "threshold": alert.threshold,
            "message": alert.message,
            "created_at": alert.created_at.isoformat(),
        },
        "analysis": {"id": analysis.pk, "name": analysis.name},
        "team": {"slug": alert.team.slug, "name": alert.team.name},
    }


def _send_email(delivery: Delivery) -> tuple[bool, int | None, str]:
    alert = delivery.alert
    subject = f"[logplatform] {alert.get_severity_display()}: {alert.get_kind_display()} in {alert.team.name}"
    try:
        send_mail(subject, alert.message, settings.DEFAULT_FROM_EMAIL, [delivery.target], fail_silently=False)
    except Exception as exc:  # SMTP errors are many; all end in a recorded failure
        logger.warning("notification %s: e-mail failed: %s: %s", delivery.pk, type(exc).__name__, exc)
        return False, None, MAIL_FAILED
    return True, None, ""


def _post_webhook(delivery: Delivery) -> tuple[bool, int | None, str]:
    config = _config()
    try:
        status = webhooks.webhook_post(
            url=delivery.target,
            body=json.dumps(_payload(delivery.alert)).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "logplatform-alerts"},
            deadline_seconds=config["webhook_timeout_seconds"],
            allow=webhooks.networks_parse(config["webhook_allow_networks"]),
        )
    except webhooks.WebhookError as exc:
        # The detail (which address, refused or timed out) is for the operator's log
        # only: shown to a team admin it would map the internal network.
        logger.warning("notification %s: webhook failed: %s", delivery.pk, exc)
        return False, None, exc.public
    if 300 <= status < 400:
        return False, status, f"HTTP {status} (redirects are not followed)"
    return 200 <= status < 300, status, "" if 200 <= status < 300 else f"HTTP {status}"


def _max_attempts(delivery: Delivery) -> int:
    return _config()["webhook_max_attempts"] if delivery.channel == Delivery.Channel.WEBHOOK else 1


def delivery_attempt(*, delivery_id: int) -> str:
    """Make the next attempt of a delivery if it is due; return its state afterwards."""
    now = timezone.now()
    lease = timedelta(seconds=_config()["webhook_timeout_seconds"]) + LEASE_MARGIN
    # Due, or never tried (the first task runs before the sweeper's grace ends).
    claimed = (
        Delivery.objects.filter(pk=delivery_id, state=Delivery.State.PENDING)
        .filter(Q(next_attempt_at__lte=now) | Q(attempts=0))
        .update(attempts=F("attempts") + 1, next_attempt_at=now + lease, updated_at=now)
    )
    delivery = (
        Delivery.objects.select_related("alert__team", "alert__analysis").filter(pk=delivery_id).first()
    )
    if delivery is None:
        return "missing"
    if not claimed:
        return delivery.state
    number = delivery.attempts
    started = time.monotonic()
    if number > _max_attempts(delivery):  # a worker died during the last one
        ok, code, error = False, None, delivery.last_error or webhooks.UNREACHABLE
    elif delivery.channel == Delivery.Channel.WEBHOOK:
        ok, code, error = _post_webhook(delivery)
    else:
        ok, code, error = _send_email(delivery)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=number,
        ok=ok,
        status_code=code,
        error=error,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    if ok:
        state, next_at = Delivery.State.SENT, delivery.next_attempt_at
    elif error == webhooks.NOT_ALLOWED or number >= _max_attempts(delivery):
        state, next_at = Delivery.State.FAILED, delivery.next_attempt_at
    else:
        backoff = _config()["webhook_backoff_seconds"] * 2 ** (number - 1)
        state, next_at = Delivery.State.PENDING, timezone.now() + timedelta(seconds=backoff)
    Delivery.objects.filter(pk=delivery.pk, attempts=number).update(
        state=state, last_error=error, next_attempt_at=next_at, updated_at=timezone.now()
    )
    if state == Delivery.State.FAILED:
        logger.error(
            "notification %s (%s to %s) failed after %d attempt(s)",
            delivery.pk,
            delivery.channel,
            delivery.target,
            number,
        )
    return state
