"""API fixtures: token clients for the personas, and an analysis that ran on real Spark."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts import tokens
from analyses.models import Analysis
from analyses.services.execute import analysis_execute
from tests.analyses.helpers import make_analysis
from tests.logdata import make_events, render_csv


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The personas' passwords hash with PBKDF2's million rounds otherwise (~1 s each)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Throttle counters live in the cache; user ids repeat across tests."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api():
    """api(user) -> an APIClient sending a fresh token of that user; api() -> no credentials."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            _, raw = tokens.api_token_create(user=user, name="tests")
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make


@pytest.fixture
def analysis_a(team_a, alice, tmp_path) -> Analysis:
    """A queued analysis of team A (no Spark)."""
    return make_analysis(team_a, alice, tmp_path)


@pytest.fixture
def analysis_b(team_b, charlie, tmp_path) -> Analysis:
    return make_analysis(team_b, charlie, tmp_path, name="b.csv")


@pytest.fixture
def events():
    return make_events(900, seed=606, span_hours=30)


@pytest.fixture
def analysed(team_a, alice, tmp_path, spark_url, events) -> Analysis:
    """A succeeded analysis of team A, run in-process on the real Spark Connect server."""
    analysis = make_analysis(team_a, alice, tmp_path, text=render_csv(events), name="app.csv")
    assert analysis_execute(analysis_id=analysis.pk) == "succeeded"
    analysis.refresh_from_db()
    return analysis


def store_result(analysis: Analysis, events) -> Analysis:
    """Stored results computed in plain Python (tests.logdata.reference), for tests of
    the API layer that need a finished analysis but not Spark's numbers."""
    from django.utils import timezone

    from analyses.models import AnalysisResult, Status
    from tests.logdata import reference

    document = reference(events, bucket_seconds=3600)
    document["files"] = [
        {
            "file_id": f.pk,
            "name": f.original_name,
            "format": "csv",
            "rows": len(events),
            "unparsed_lines": 0,
            "error": None,
        }
        for f in analysis.files.all()
    ]
    document["trend_bucket_seconds"] = 3600
    document["stats"] = {}
    AnalysisResult.objects.create(analysis=analysis, document=document)
    summary = document["summary"]
    Analysis.objects.filter(pk=analysis.pk).update(
        status=Status.SUCCEEDED,
        stage="Done",
        progress=100,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        total_rows=summary["total_logs"],
        error_rows=summary["error_count"],
        error_rate=summary["error_rate"],
        unparsed_lines=0,
    )
    analysis.refresh_from_db()
    return analysis
