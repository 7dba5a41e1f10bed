"""A real `manage.py qcluster --cluster notifications` sends queued notifications."""

from __future__ import annotations

import sys

import pytest

from analyses import alerting
from analyses.models import AlertKind, AlertRule, Delivery
from logplatform.processes import Child, wait_until
from tests.analyses.helpers import make_analysis
from tests.analyses.test_alerting import document
from tests.conftest import child_env


@pytest.mark.django_db(transaction=True)
def test_the_notifications_cluster_delivers_a_queued_webhook(team_a, alice, tmp_path, receiver):
    override = tmp_path / "override.yaml"
    override.write_text('alerts:\n  webhook_allow_networks: ["127.0.0.1/32"]\n')
    hook = receiver([200])
    AlertRule.objects.filter(team=team_a).delete()
    AlertRule.objects.create(team=team_a, kind=AlertKind.ERROR_COUNT, threshold=1, webhook_url=hook.url)
    analysis = make_analysis(team_a, alice, tmp_path)
    (alert,) = alerting.alerts_evaluate(analysis=analysis, document=document(errors=2))  # queued on commit
    proc = Child(
        [sys.executable, "manage.py", "qcluster", "--cluster", "notifications"],
        log=tmp_path / "notifications.log",
        env=child_env(LOGPLATFORM_CONFIG=str(override), Q_WORKERS="1"),
    )
    try:
        delivery = alert.deliveries.get()

        def settled() -> bool:
            delivery.refresh_from_db()
            return delivery.state != Delivery.State.PENDING or not proc.alive()

        wait_until(
            settled, timeout=60, interval=0.5, message=lambda: f"the delivery to be sent:\n{proc.tail()}"
        )
        assert delivery.state == Delivery.State.SENT, proc.output()[-3000:]
        assert len(hook.bodies) == 1 and hook.bodies[0]["alert"]["id"] == alert.pk
        assert "notifications" in proc.output()
    finally:
        proc.stop()
