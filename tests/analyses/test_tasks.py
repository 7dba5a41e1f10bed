"""The worker task claims and executes only; the reaper runs on its own schedule; the
web process never loads the execute service (issue 19)."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from analyses import tasks
from analyses.models import Analysis, Status
from analyses.services.leases import analysis_claim
from tests.analyses.helpers import make_analysis
from tests.conftest import child_env

pytestmark = pytest.mark.django_db


def test_run_analysis_leaves_an_expired_lease_to_the_reaper(team_a, alice, tmp_path):
    stranded = make_analysis(team_a, alice, tmp_path)
    assert analysis_claim(analysis_id=stranded.pk) is not None  # ...and its worker dies
    Analysis.objects.filter(pk=stranded.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    done = make_analysis(team_a, alice, tmp_path, name="b.csv")
    Analysis.objects.filter(pk=done.pk).update(status=Status.SUCCEEDED)

    assert tasks.run_analysis(done.pk) == "not claimed"
    assert Analysis.objects.get(pk=stranded.pk).status == Status.RUNNING

    assert tasks.reap_leases()["requeued"] == 1
    assert Analysis.objects.get(pk=stranded.pk).status == Status.QUEUED


def test_the_web_process_never_loads_the_execute_service():
    # Every URL (so every view, form and serializer) and the task module, as a web
    # process loads them; the execute service is the worker's and loads pyspark.
    probe = (
        "import sys, django; django.setup(); "
        "from django.urls import get_resolver; get_resolver().url_patterns; "
        "import analyses.tasks, analyses.services.create, analyses.services.reaper; "
        "print(sorted(m for m in sys.modules if m.startswith(('analyses.services', 'spark_client.engine'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=settings.BASE_DIR,
        env=child_env(DJANGO_SETTINGS_MODULE="logplatform.settings"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "analyses.services.create" in loaded  # the probe did load the web side
    assert "analyses.services.execute" not in loaded and "spark_client.engine" not in loaded
