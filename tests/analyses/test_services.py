"""The worker protocol of DESIGN §9: atomic claim, lease, attempts, reaper."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_q.models import OrmQ

from analyses.models import Analysis, Status
from analyses.services.create import LocalFile, analysis_create
from analyses.services.execute import analysis_execute
from analyses.services.leases import analysis_claim, analysis_fail, analysis_progress
from analyses.services.reaper import leases_reap
from tests.analyses.helpers import make_analysis
from tests.conftest import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def analysis(team_a, alice, tmp_path):
    return make_analysis(team_a, alice, tmp_path)


def expire(analysis):
    Analysis.objects.filter(pk=analysis.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


def test_a_second_delivery_claims_nothing(analysis):
    first = analysis_claim(analysis_id=analysis.pk)
    second = analysis_claim(analysis_id=analysis.pk)
    assert first is not None and first.attempt == 1
    assert second is None
    analysis.refresh_from_db()
    assert analysis.status == Status.RUNNING and analysis.attempts == 1
    assert analysis.claim_token == first.token


def test_an_expired_lease_is_claimed_again_and_the_old_worker_is_locked_out(analysis):
    old = analysis_claim(analysis_id=analysis.pk)
    expire(analysis)
    new = analysis_claim(analysis_id=analysis.pk)
    assert new is not None and new.attempt == 2 and new.token != old.token
    analysis_progress(claim=old, stage="stale worker", percent=50)
    analysis_fail(claim=old, message="stale failure")
    analysis.refresh_from_db()
    assert analysis.status == Status.RUNNING
    assert analysis.stage != "stale worker" and analysis.error == ""


def test_a_finished_analysis_is_never_claimed(analysis):
    Analysis.objects.filter(pk=analysis.pk).update(status=Status.SUCCEEDED)
    assert analysis_claim(analysis_id=analysis.pk) is None
    assert Analysis.objects.get(pk=analysis.pk).status == Status.SUCCEEDED


def test_it_gives_up_after_the_last_attempt(analysis):
    limit = settings.LOGPLATFORM["worker"]["max_attempts"]
    for _ in range(limit):
        assert analysis_claim(analysis_id=analysis.pk) is not None
        expire(analysis)
    assert analysis_claim(analysis_id=analysis.pk) is None
    analysis.refresh_from_db()
    assert analysis.status == Status.FAILED
    assert analysis.attempts == limit
    assert f"stopped its worker {limit} times" in analysis.error


def test_the_reaper_requeues_an_analysis_whose_worker_vanished(analysis, django_capture_on_commit_callbacks):
    analysis_claim(analysis_id=analysis.pk)
    expire(analysis)
    with django_capture_on_commit_callbacks(execute=True):
        result = leases_reap()
    assert result["requeued"] == 1
    analysis.refresh_from_db()
    assert analysis.status == Status.QUEUED
    assert OrmQ.objects.count() == 1


def test_the_reaper_fails_an_analysis_out_of_attempts(analysis):
    limit = settings.LOGPLATFORM["worker"]["max_attempts"]
    Analysis.objects.filter(pk=analysis.pk).update(status=Status.RUNNING, attempts=limit)
    expire(analysis)
    assert leases_reap()["given_up"] == 1
    assert Analysis.objects.get(pk=analysis.pk).status == Status.FAILED


def test_the_reaper_leaves_live_leases_alone(analysis):
    analysis_claim(analysis_id=analysis.pk)
    assert leases_reap() == {
        "given_up": 0,
        "requeued": 0,
        "redispatched": 0,
        "stale_uploads": 0,
        "stale_lines": 0,
    }
    assert Analysis.objects.get(pk=analysis.pk).status == Status.RUNNING


def test_spark_down_fails_the_analysis_with_a_clear_message(analysis, settings):
    port = free_port()
    settings.SPARK_CONNECT_URL = f"sc://127.0.0.1:{port}"
    settings.LOGPLATFORM = {
        **settings.LOGPLATFORM,
        "spark": {**settings.LOGPLATFORM["spark"], "reconnect_wait_seconds": 1},
    }
    assert analysis_execute(analysis_id=analysis.pk) == "failed"
    analysis.refresh_from_db()
    assert analysis.status == Status.FAILED
    assert analysis.error.startswith(f"Spark Connect server unreachable at 127.0.0.1:{port}; start it with")
    assert analysis.finished_at is not None and analysis.claim_token == ""


def test_queueing_happens_on_commit(team_a, alice, tmp_path, django_capture_on_commit_callbacks):
    path = tmp_path / "a.csv"
    path.write_text("timestamp,log_level,message\n2024-01-01 00:00:00,INFO,x\n")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        analysis_create(team=team_a, user=alice, files=[LocalFile(path=path, name="a.csv")])
    assert OrmQ.objects.count() == 0
    assert len(callbacks) == 1
    callbacks[0]()
    assert OrmQ.objects.count() == 1


def test_the_reaper_redispatches_analyses_stranded_by_a_dead_cluster(
    analysis, django_capture_on_commit_callbacks
):
    from django.conf import settings as django_settings

    wait = django_settings.LOGPLATFORM["worker"]["redispatch_after_seconds"]
    Analysis.objects.filter(pk=analysis.pk).update(dispatched_at=timezone.now() - timedelta(seconds=wait + 1))
    with django_capture_on_commit_callbacks(execute=True):
        assert leases_reap()["redispatched"] == 1
    assert OrmQ.objects.count() == 1
    analysis.refresh_from_db()
    assert analysis.dispatched_at > timezone.now() - timedelta(seconds=5)
    # Fresh ones, and any while every worker is busy, are left alone.
    assert leases_reap()["redispatched"] == 0


def test_no_redispatch_while_workers_are_taking_work(team_a, alice, tmp_path):
    """A queue that drains (an analysis started recently) is not stranded: no duplicate delivery."""
    old = timezone.now() - timedelta(hours=1)
    waiting = make_analysis(team_a, alice, tmp_path)
    Analysis.objects.filter(pk=waiting.pk).update(dispatched_at=old)
    other = make_analysis(team_a, alice, tmp_path)
    Analysis.objects.filter(pk=other.pk).update(
        status=Status.SUCCEEDED, started_at=timezone.now() - timedelta(seconds=3), finished_at=timezone.now()
    )
    assert leases_reap()["redispatched"] == 0
    # Once nothing has moved for the whole wait, the waiting one is sent again.
    Analysis.objects.filter(pk=other.pk).update(started_at=old, finished_at=old)
    assert leases_reap()["redispatched"] == 1


def test_no_redispatch_while_every_worker_is_busy(team_a, alice, tmp_path, settings):
    old = timezone.now() - timedelta(hours=1)
    busy = [make_analysis(team_a, alice, tmp_path) for _ in range(settings.Q_CLUSTER["workers"])]
    Analysis.objects.filter(pk__in=[a.pk for a in busy]).update(
        status=Status.RUNNING, lease_expires_at=timezone.now() + timedelta(minutes=5)
    )
    waiting = make_analysis(team_a, alice, tmp_path)
    Analysis.objects.filter(pk=waiting.pk).update(dispatched_at=old)
    assert leases_reap()["redispatched"] == 0


def test_the_admin_shows_queue_health(client, team_a, alice, tmp_path):
    from accounts.services import user_create

    admin = user_create(username="root", password="x" * 12, is_staff=True)
    waiting = make_analysis(team_a, alice, tmp_path)
    Analysis.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(seconds=300))
    client.force_login(admin)
    html = client.get("/admin/analyses/analysis/").content.decode()
    assert 'id="queue-health"' in html
    assert "1 queued (oldest waiting 3" in html  # 300 s and a little
    assert "0 running" in html
