"""A real qcluster process takes uploads to stored results through real Spark."""

import time

import pytest
from django.urls import reverse

from analyses.models import Analysis, AnalysisResult, Status
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
