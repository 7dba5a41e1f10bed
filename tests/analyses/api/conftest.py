"""Fixtures of the analyses API tests: an analysis that ran on real Spark."""

from __future__ import annotations

import pytest

from analyses.models import Analysis
from analyses.services.execute import analysis_execute
from tests.analyses.helpers import make_analysis
from tests.logdata import render_csv


@pytest.fixture(autouse=True)
def fast_passwords(fast_passwords) -> None:
    """Every test here signs personas in with tokens: their passwords hash fast."""


@pytest.fixture
def analysed(team_a, alice, tmp_path, spark_url, events) -> Analysis:
    """A succeeded analysis of team A, run in-process on the real Spark Connect server."""
    analysis = make_analysis(team_a, alice, tmp_path, text=render_csv(events), name="app.csv")
    assert analysis_execute(analysis_id=analysis.pk) == "succeeded"
    analysis.refresh_from_db()
    return analysis
