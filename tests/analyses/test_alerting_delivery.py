"""Notifications never sleep in a worker analyses run on (issue 18, hole 4).

Deliveries are queued for the notifications cluster (its own django-q2 queue), one
attempt per task run; a failed attempt is rescheduled on the Delivery row and sent
again by the notifications cluster's sweeper, never waited for in a worker.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from analyses import alerting, tasks
from analyses.models import AlertKind, AlertRule, Delivery
from tests.analyses.alerting_helpers import alerts_override
from tests.analyses.helpers import make_analysis
from tests.analyses.test_alerting import document

pytestmark = pytest.mark.django_db

DELIVERY_TASK = "analyses.tasks.deliver_notification"


@pytest.fixture
def analysis(team_a, alice, tmp_path):
    AlertRule.objects.filter(team=team_a).delete()
    return make_analysis(team_a, alice, tmp_path)


def queued() -> list[tuple[str, str, tuple]]:
    return [(row.key, row.task["func"], tuple(row.task["args"])) for row in OrmQ.objects.order_by("pk")]


def fire(analysis, capture, **rule_fields) -> Delivery:  # noqa: ANN001
    AlertRule.objects.create(team=analysis.team, kind=AlertKind.ERROR_COUNT, threshold=1, **rule_fields)
    with capture(execute=True):
        (alert,) = alerting.alerts_evaluate(analysis=analysis, document=document(errors=2))
    return alert.deliveries.get()


def make_due(delivery: Delivery) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_a_delivery_is_queued_for_the_notifications_cluster(analysis, django_capture_on_commit_callbacks):
    delivery = fire(analysis, django_capture_on_commit_callbacks, emails="ops@example.com")
    assert queued() == [("notifications", DELIVERY_TASK, (delivery.pk,))]


def test_the_notifications_cluster_is_configured_beside_the_analyses_cluster(settings):
    alt = settings.Q_CLUSTER["ALT_CLUSTERS"]["notifications"]
    assert settings.Q_CLUSTER["name"] != "notifications"
    # A delivery attempt ends at its deadline, well before django-q2 would kill or re-send it.
    assert alt["timeout"] > settings.LOGPLATFORM["alerts"]["webhook_timeout_seconds"]
    assert alt["retry"] > alt["timeout"]
    assert alt["workers"] >= 1


def test_a_failed_attempt_is_rescheduled_not_slept(
    analysis, allow_loopback, receiver, settings, django_capture_on_commit_callbacks
):
    alerts_override(settings, webhook_backoff_seconds=30)
    hook = receiver([500, 200])
    delivery = fire(analysis, django_capture_on_commit_callbacks, webhook_url=hook.url)
    before = timezone.now()
    assert tasks.deliver_notification(delivery.pk) == Delivery.State.PENDING
    delivery.refresh_from_db()
    # One request, then the task returned: the retry is a time on the row, not a sleep.
    assert len(hook.bodies) == 1
    assert delivery.attempts == 1 and delivery.last_error == "HTTP 500"
    assert (
        before + timedelta(seconds=30) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=30)
    )

    # Not due yet: a second run of the task (django-q2 may deliver one twice) sends nothing.
    tasks.deliver_notification(delivery.pk)
    assert tasks.notifications_dispatch_due() == 0
    assert len(hook.bodies) == 1

    make_due(delivery)
    OrmQ.objects.all().delete()
    assert tasks.notifications_dispatch_due() == 1
    assert queued() == [("notifications", DELIVERY_TASK, (delivery.pk,))]
    assert tasks.deliver_notification(delivery.pk) == Delivery.State.SENT
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert [(a.number, a.ok, a.status_code) for a in delivery.attempt_log.all()] == [
        (1, False, 500),
        (2, True, 200),
    ]
    assert hook.bodies[-1]["alert"]["kind"] == "error_count"
    assert hook.bodies[-1]["analysis"]["id"] == analysis.pk


def test_a_dead_webhook_backs_off_exponentially_then_fails(
    analysis, allow_loopback, receiver, settings, django_capture_on_commit_callbacks
):
    alerts_override(settings, webhook_backoff_seconds=60, webhook_max_attempts=4)
    hook = receiver([503] * 4)
    delivery = fire(analysis, django_capture_on_commit_callbacks, webhook_url=hook.url)
    waits = []
    for _ in range(4):
        make_due(delivery)
        started = timezone.now()
        state = tasks.deliver_notification(delivery.pk)
        delivery.refresh_from_db()
        if state == Delivery.State.PENDING:
            waits.append(round((delivery.next_attempt_at - started).total_seconds() / 60))
    assert state == Delivery.State.FAILED
    assert waits == [1, 2, 4]
    assert delivery.attempts == 4 and delivery.last_error == "HTTP 503"
    assert len(hook.bodies) == 4
    make_due(delivery)
    assert tasks.notifications_dispatch_due() == 0  # a failed delivery is never sent again


def test_an_email_is_sent_once_by_the_task(analysis, django_capture_on_commit_callbacks, mailoutbox):
    delivery = fire(analysis, django_capture_on_commit_callbacks, emails="ops@example.com")
    assert tasks.deliver_notification(delivery.pk) == Delivery.State.SENT
    assert tasks.deliver_notification(delivery.pk) == Delivery.State.SENT
    assert [m.to for m in mailoutbox] == [["ops@example.com"]]


def test_the_sweeper_runs_on_the_notifications_cluster():
    sweeper = Schedule.objects.get(func="analyses.tasks.notifications_dispatch_due")
    assert sweeper.cluster == "notifications"
    assert sweeper.repeats == -1


def test_a_mail_server_failure_is_recorded_with_a_generic_error(
    analysis, settings, django_capture_on_commit_callbacks
):
    from tests.conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    delivery = fire(analysis, django_capture_on_commit_callbacks, emails="ops@example.com")
    assert tasks.deliver_notification(delivery.pk) == Delivery.State.FAILED
    delivery.refresh_from_db()
    assert delivery.last_error == "could not deliver: the mail server refused the message or was unreachable"
