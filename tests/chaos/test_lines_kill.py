"""Stored lines under fault: a worker killed while Spark writes an analysis's lines
leaves, once the retry has succeeded, exactly one run directory, the one the result
document names (issue 20). Run with `make chaos` or `-m chaos`."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from analyses.models import Analysis, AnalysisResult, Status
from analyses.services.reaper import leases_reap
from spark_client import lines_layout
from tests.chaos.conftest import browser_session, page_upload, wait_for, worker_pid
from tests.logdata import make_events, render_csv

pytestmark = [pytest.mark.chaos, pytest.mark.e2e]


def test_a_worker_killed_while_writing_lines_leaves_one_run_the_documents(stack, bob):
    s = stack()
    s.start_web()
    session = browser_session(s.url, "bob")
    big = render_csv(make_events(400_000, seed=700, span_hours=100))
    # Four copies (1.6M lines): the lines take seconds to write on two cores.
    analysis_id = page_upload(session, s.url, [(f"big-{i}.csv", big) for i in range(4)])
    lines = Path(settings.STORAGE_ROOT) / lines_layout.analysis_dir(analysis_id)
    s.start_qcluster()

    def writing() -> Analysis | None:
        # Spark's tasks write their part files under the run's _temporary directory.
        if not any(lines.glob("*/_temporary/**/*.parquet")):
            return None
        return Analysis.objects.filter(pk=analysis_id, status=Status.RUNNING).exclude(worker="").first()

    running = wait_for(writing, 180, "the lines to be written", every=0.1)
    first_run = running.claim_token
    os.kill(worker_pid(running.worker), signal.SIGKILL)
    wait_for(
        lambda: Analysis.objects.filter(pk=analysis_id, lease_expires_at__lt=timezone.now()).exists(),
        60,
        "the dead worker's lease to run out",
    )
    leases_reap()  # the scheduled run may have been first: then this one finds nothing
    wait_for(
        lambda: Analysis.objects.filter(pk=analysis_id, status=Status.SUCCEEDED).exists(),
        400,
        "the retry to succeed",
    )

    analysis = Analysis.objects.get(pk=analysis_id)
    assert analysis.attempts == 2
    document = AnalysisResult.objects.get(analysis_id=analysis_id).document
    named = document["lines"]["path"]
    assert named != lines_layout.run_dir(analysis_id, first_run)
    # The attempt removes the other runs right after the commit that made it
    # succeeded: on a loaded machine the test can look in between.
    wait_for(lambda: len(list(lines.iterdir())) == 1, 60, "the other runs to be removed", every=0.1)
    assert [f"{lines_layout.analysis_dir(analysis_id)}/{p.name}" for p in lines.iterdir()] == [named]
    assert document["lines"]["rows"] == document["summary"]["total_logs"] == 1_600_000
