"""End to end over HTTP: gunicorn, a real qcluster, real Spark. A token uploads two
files with examples/upload.py, which polls until the analysis succeeded; the API's
results then equal the numbers the analysis page shows."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import requests
from django.urls import reverse

from accounts import tokens
from analyses.models import Analysis, Status
from tests.conftest import BASE_DIR, child_env
from tests.logdata import make_events, pattern_types, reference, render_csv

pytestmark = [pytest.mark.e2e, pytest.mark.spark, pytest.mark.usefixtures("fast_passwords")]


@pytest.fixture
def live(qcluster, web_server) -> str:
    """gunicorn serving the app on the test database, the qcluster running beside it."""
    return web_server()


def page_metric(html: str, name: str) -> str:
    return re.search(rf'id="m-{name}">([^<]+)<', html).group(1)


def test_a_script_uploads_with_a_token_and_gets_the_pages_numbers(live, bob, client_for, tmp_path):
    first, second = make_events(500, seed=61, span_hours=20), make_events(350, seed=62, span_hours=20)
    paths = [tmp_path / "app.csv", tmp_path / "db.csv"]
    paths[0].write_text(render_csv(first))
    paths[1].write_text(render_csv(second))
    _, token = tokens.api_token_create(user=bob, name="e2e")

    run = subprocess.run(
        [
            sys.executable,
            "examples/upload.py",
            *map(str, paths),
            "--url",
            live,
            "--name",
            "e2e",
            "--interval",
            "0.5",
            "--json",
        ],
        cwd=BASE_DIR,
        env={**child_env(), "LOGPLATFORM_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, (run.stderr, run.stdout)
    assert "queued" in run.stderr and "succeeded" in run.stderr
    printed = json.loads(run.stdout)
    analysis = Analysis.objects.get(pk=printed["analysis"]["id"])
    assert analysis.status == Status.SUCCEEDED and analysis.name == "e2e" and analysis.created_by == bob
    assert [f.original_name for f in analysis.files.order_by("position")] == ["app.csv", "db.csv"]

    auth = {"Authorization": f"Bearer {token}"}
    results = requests.get(f"{live}/api/v1/analyses/{analysis.pk}/results/", headers=auth, timeout=30).json()
    assert results == printed
    summary = results["summary"]
    assert summary == reference(pattern_types(first + second))["summary"]

    page = client_for(bob).get(reverse("analyses:detail", args=[analysis.pk])).content.decode()
    assert page_metric(page, "total") == str(summary["total_logs"])
    assert page_metric(page, "errors") == str(summary["error_count"])
    assert page_metric(page, "critical") == str(summary["critical_count"])
    assert page_metric(page, "rate") == f"{summary['error_rate'] * 100:.2f} %"

    # The same with the page's filters.
    query = {"levels": ["WARN", "ERROR"], "services": ["api", "db", "worker"]}
    filtered = requests.get(
        f"{live}/api/v1/analyses/{analysis.pk}/results/", params=query, headers=auth, timeout=30
    ).json()["filtered"]
    page = client_for(bob).get(reverse("analyses:detail", args=[analysis.pk]), query).content.decode()
    assert page_metric(page, "total") == str(filtered["metrics"]["total_logs"])
    assert page_metric(page, "errors") == str(filtered["metrics"]["error_count"])
    assert filtered["metrics"]["total_logs"] == sum(
        e.level in ("WARN", "ERROR") and e.service in ("api", "db", "worker") for e in first + second
    )

    report = requests.get(
        f"{live}/api/v1/analyses/{analysis.pk}/reports/summary.json", headers=auth, timeout=30
    )
    assert report.status_code == 200 and report.json() == summary
