"""A real `manage.py qcluster --cluster notifications` sends queued notifications."""

from __future__ import annotations

import sys
import time

import pytest

from analyses import alerting
from analyses.models import AlertKind, AlertRule, Delivery
from tests.analyses.helpers import make_analysis
from tests.analyses.test_alerting import document
from tests.conftest import Process, child_env


@pytest.mark.django_db(transaction=True)
def test_the_notifications_cluster_delivers_a_queued_webhook(team_a, alice, tmp_path, receiver):
    override = tmp_path / "override.yaml"
    override.write_text('alerts:\n  webhook_allow_networks: ["127.0.0.1/32"]\n')
    hook = receiver([200])
    AlertRule.objects.filter(team=team_a).delete()
    AlertRule.objects.create(team=team_a, kind=AlertKind.ERROR_COUNT, threshold=1, webhook_url=hook.url)
    analysis = make_analysis(team_a, alice, tmp_path)
    (alert,) = alerting.alerts_evaluate(analysis=analysis, document=document(errors=2))  # queued on commit
    proc = Process(
        [sys.executable, "manage.py", "qcluster", "--cluster", "notifications"],
        tmp_path / "notifications.log",
        child_env(LOGPLATFORM_CONFIG=str(override), Q_WORKERS="1"),
    )
    try:
        deadline = time.monotonic() + 60
        delivery = alert.deliveries.get()
        while time.monotonic() < deadline and proc.proc.poll() is None:
            delivery.refresh_from_db()
            if delivery.state != Delivery.State.PENDING:
                break
            time.sleep(0.5)
        assert delivery.state == Delivery.State.SENT, proc.output()[-3000:]
        assert len(hook.bodies) == 1 and hook.bodies[0]["alert"]["id"] == alert.pk
        assert "notifications" in proc.output()
    finally:
        proc.stop()
