"""A real qcluster process takes uploads to stored results through real Spark."""

import os
import signal
import time

import pytest
from django.urls import reverse

from analyses.models import Analysis, AnalysisResult, Status
from logplatform.processes import descendants, parents
from tests.analyses.helpers import upload
from tests.logdata import make_events, reference, render_csv

pytestmark = [pytest.mark.e2e, pytest.mark.spark]


def wait_for_terminal(analysis_id: int, timeout: float = 180) -> Analysis:
    deadline = time.monotonic() + timeout
    seen = set()
    while time.monotonic() < deadline:
        analysis = Analysis.objects.get(pk=analysis_id)
        seen.add((analysis.status, analysis.stage))
        if analysis.is_terminal:
            analysis.seen = seen
            return analysis
        time.sleep(0.3)
    raise AssertionError(f"analysis {analysis_id} not done after {timeout}s; states seen: {sorted(seen)}")


def test_qcluster_analyses_two_uploaded_files(client_for, bob, qcluster):
    first, second = make_events(400, seed=21), make_events(300, seed=22)
    response = client_for(bob).post(
        reverse("analyses:upload"),
        {"files": [upload("a.csv", render_csv(first)), upload("b.csv", render_csv(second))]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 202

    analysis = wait_for_terminal(response.json()["id"])

    assert analysis.status == Status.SUCCEEDED, (analysis.error, qcluster.output()[-3000:])
    assert analysis.attempts == 1
    assert any(status == Status.RUNNING for status, _ in analysis.seen) or analysis.started_at
    document = AnalysisResult.objects.get(analysis=analysis).document
    assert document["summary"] == reference(first + second)["summary"]
    status = client_for(bob).get(reverse("analyses:status", args=[analysis.pk])).json()
    assert status == {
        "id": analysis.pk,
        "status": "succeeded",
        "stage": "Done",
        "progress": 100,
        "error": None,
        "terminal": True,
    }


def _wait_log(proc, text: str, count: int, timeout: float = 60) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.output().count(text) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not seen {count} time(s) in {timeout}s:\n{proc.output()[-3000:]}")


def test_a_killed_sentinel_is_replaced_and_its_processes_stopped(client_for, bob, qcluster):
    """django-q2 alone leaves a qcluster without its sentinel alive and idle forever;
    ours stops what the dead sentinel left and starts a new cluster that takes work."""
    _wait_log(qcluster, "running.", 1)
    main = qcluster.proc.pid
    family = parents()
    sentinel = next(p for p in descendants(main) if family.get(p) == main)
    old = descendants(sentinel)
    assert len(old) >= 4  # two workers, the monitor and the pusher

    os.kill(sentinel, signal.SIGKILL)
    _wait_log(qcluster, "the django-q sentinel exited", 1)
    _wait_log(qcluster, "running.", 2)
    assert f"stopped {len(old)} of its processes" in qcluster.output()
    assert not (old & descendants(main)), "processes of the dead sentinel still run"

    response = client_for(bob).post(
        reverse("analyses:upload"),
        {"files": [upload("after.csv", render_csv(make_events(200, seed=23)))]},
        HTTP_ACCEPT="application/json",
    )
    analysis = wait_for_terminal(response.json()["id"])
    assert analysis.status == Status.SUCCEEDED, (analysis.error, qcluster.output()[-3000:])
    assert analysis.attempts == 1
