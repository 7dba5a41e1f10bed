"""The stored lines' lifecycle (analyses.services.lines_files): one run directory per
analysis, the one its document names; gone with the analysis; orphans reaped, never
the directory a running attempt writes."""

from __future__ import annotations

import os
import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from analyses.models import Analysis, AnalysisResult, Status
from analyses.services import execute
from analyses.services.create import analysis_delete
from analyses.services.execute import analysis_execute
from analyses.services.leases import analysis_claim
from analyses.services.reaper import leases_reap
from spark_client import lines_layout
from tests.analyses.helpers import make_analysis
from tests.logdata import make_events, render_csv

pytestmark = [pytest.mark.django_db, pytest.mark.spark]


def lines_of(analysis_id: int) -> Path:
    return Path(settings.STORAGE_ROOT) / lines_layout.analysis_dir(analysis_id)


def runs(analysis_id: int) -> list[str]:
    parent = lines_of(analysis_id)
    return sorted(p.name for p in parent.iterdir()) if parent.exists() else []


def named_run(analysis_id: int) -> str:
    path = AnalysisResult.objects.get(analysis_id=analysis_id).document["lines"]["path"]
    prefix = lines_layout.analysis_dir(analysis_id) + "/"
    assert path.startswith(prefix)
    return path[len(prefix) :]


def age(path: Path, seconds: float) -> None:
    """Make everything under `path` look untouched for `seconds`."""
    then = time.time() - seconds
    for p in [path, *path.rglob("*")]:
        os.utime(p, (then, then))


@pytest.fixture(autouse=True)
def no_lines_yet():
    """Earlier tests' analyses are rolled back, their lines left on disk: start without."""
    shutil.rmtree(Path(settings.STORAGE_ROOT) / lines_layout.LINES_ROOT, ignore_errors=True)


@pytest.fixture
def analysis(team_a, alice, tmp_path, spark_url):
    return make_analysis(team_a, alice, tmp_path, text=render_csv(make_events(300, seed=11)))


def test_a_run_stores_its_lines_and_the_document_names_them(analysis):
    assert analysis_execute(analysis_id=analysis.pk) == "succeeded"
    lines = AnalysisResult.objects.get(analysis=analysis).document["lines"]
    assert runs(analysis.pk) == [named_run(analysis.pk)]
    run = Path(settings.STORAGE_ROOT) / lines["path"]
    assert list(run.glob("level=*/*.parquet"))
    assert lines["files"] == [analysis.files.get().pk]
    assert lines["rows"] == 300 and lines["blocks"][0][lines_layout.FIRST_LINE] == 2
    assert lines["bytes"] == sum(p.stat().st_size for p in run.rglob("*") if p.is_file())


def test_running_again_leaves_exactly_one_run_dir_and_the_document_names_it(analysis):
    assert analysis_execute(analysis_id=analysis.pk) == "succeeded"
    first = named_run(analysis.pk)
    Analysis.objects.filter(pk=analysis.pk).update(status=Status.QUEUED)
    assert analysis_execute(analysis_id=analysis.pk) == "succeeded"
    second = named_run(analysis.pk)
    assert second != first
    assert runs(analysis.pk) == [second]


def test_an_attempt_that_lost_its_claim_removes_its_run_dir(analysis, monkeypatch):
    real = execute.results_store

    def taken_over(**kwargs):
        # Another attempt claims the analysis while this one runs: its store is refused.
        Analysis.objects.filter(pk=analysis.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
        assert analysis_claim(analysis_id=analysis.pk) is not None
        assert runs(analysis.pk)  # this attempt wrote its lines
        return real(**kwargs)

    monkeypatch.setattr(execute, "results_store", taken_over)
    assert analysis_execute(analysis_id=analysis.pk) == "lost"
    assert runs(analysis.pk) == []


def test_deleting_the_analysis_removes_its_lines(analysis, django_capture_on_commit_callbacks):
    assert analysis_execute(analysis_id=analysis.pk) == "succeeded"
    assert runs(analysis.pk)
    with django_capture_on_commit_callbacks(execute=True):
        analysis_delete(analysis=analysis)
    assert not lines_of(analysis.pk).exists()


def test_the_reaper_removes_orphans_but_not_a_running_attempts_dir(analysis, team_a, alice, tmp_path):
    assert analysis_execute(analysis_id=analysis.pk) == "succeeded"
    named = named_run(analysis.pk)
    lease = settings.LOGPLATFORM["worker"]["lease_seconds"]
    parent = lines_of(analysis.pk)
    # A dead attempt's run, untouched for longer than the lease; one still written to.
    for name, seconds in (("dead", lease + 60), ("busy", 1)):
        (parent / name / "_temporary").mkdir(parents=True)
        (parent / name / "_temporary" / "part-0.parquet").write_bytes(b"x")
        age(parent / name, seconds)
    age(parent / named, lease + 60)  # the document's run stays however old
    # An analysis that is gone.
    gone = lines_of(analysis.pk + 1000)
    (gone / "run").mkdir(parents=True)
    # A running attempt's run is its claim token: kept however old.
    other = make_analysis(team_a, alice, tmp_path, name="b.csv")
    claim = analysis_claim(analysis_id=other.pk)
    for name in (claim.token, "stale"):
        (lines_of(other.pk) / name).mkdir(parents=True)
        age(lines_of(other.pk) / name, lease + 60)

    assert leases_reap()["stale_lines"] == 3
    assert runs(analysis.pk) == sorted(["busy", named])
    assert not gone.exists()
    assert runs(other.pk) == [claim.token]


def test_an_operator_can_turn_lines_off(analysis, settings):
    settings.LOGPLATFORM = {
        **settings.LOGPLATFORM,
        "analytics": {**settings.LOGPLATFORM["analytics"], "store_lines": False},
    }
    assert analysis_execute(analysis_id=analysis.pk) == "succeeded"
    assert "lines" not in AnalysisResult.objects.get(analysis=analysis).document
    assert runs(analysis.pk) == []
