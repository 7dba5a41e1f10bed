"""Reports come from stored results, are safe in spreadsheets, and stay in the team."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.urls import reverse

from analyses import reports
from analyses.models import AnalysisResult
from analyses.services.execute import analysis_execute
from tests.analyses.helpers import upload
from tests.logdata import make_events, render_csv

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised(value):
    assert reports.safe_cell(value) == "'" + value


def test_plain_cells_and_numbers_are_untouched():
    assert reports.safe_cell("disk failed") == "disk failed"
    assert reports.safe_cell(-5) == -5


@pytest.fixture
def analysed(client_for, bob, spark_url):
    events = make_events(600, seed=81)
    text = render_csv(events) + '2024-03-01 01:00:00,ERROR,"=HYPERLINK(""http://evil"")",10.0.0.1,api,/x\n'
    client = client_for(bob)
    analysis_id = client.post(
        reverse("analyses:upload"), {"files": [upload("a.csv", text)]}, HTTP_ACCEPT="application/json"
    ).json()["id"]
    assert analysis_execute(analysis_id=analysis_id) == "succeeded"
    return client, analysis_id


@pytest.mark.spark
def test_every_report_equals_the_stored_results(analysed):
    client, analysis_id = analysed
    document = AnalysisResult.objects.get(analysis_id=analysis_id).document
    for name, columns in reports.CSV_REPORTS.items():
        response = client.get(reverse("analyses:report", args=[analysis_id, f"{name}.csv"]))
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        expected = [{c: str(reports.safe_cell(r[c])) for c in columns} for r in document["tables"][name]]
        assert rows == expected, name
    for name in reports.JSON_REPORTS:
        data = json.loads(client.get(reverse("analyses:report", args=[analysis_id, f"{name}.json"])).content)
        assert data == (document["summary"] if name == "summary" else document["tables"][name])
    top = client.get(reverse("analyses:report", args=[analysis_id, "top_errors.csv"])).content.decode()
    assert "'=HYPERLINK" in top and "\n=HYPERLINK" not in top


@pytest.mark.spark
def test_the_zip_holds_every_report(analysed):
    client, analysis_id = analysed
    response = client.get(reverse("analyses:reports_zip", args=[analysis_id]))
    names = sorted(zipfile.ZipFile(io.BytesIO(response.content)).namelist())
    assert names == sorted(
        [f"csv/{n}.csv" for n in reports.CSV_REPORTS] + [f"json/{n}.json" for n in reports.JSON_REPORTS]
    )


@pytest.mark.spark
def test_reports_of_another_team_are_404(analysed, client_for, charlie):
    _, analysis_id = analysed
    other = client_for(charlie)
    assert other.get(reverse("analyses:reports_zip", args=[analysis_id])).status_code == 404
    assert other.get(reverse("analyses:report", args=[analysis_id, "summary.json"])).status_code == 404


@pytest.mark.spark
def test_an_unknown_report_is_404(analysed):
    client, analysis_id = analysed
    assert client.get(reverse("analyses:report", args=[analysis_id, "passwd.csv"])).status_code == 404


@pytest.mark.spark
def test_analyze_writes_the_report_directory(tmp_path, spark_url, capsys):
    log = tmp_path / "app.csv"
    log.write_text(render_csv(make_events(400, seed=82)))
    out = tmp_path / "reports"
    call_command("analyze", str(log), "--team", "batch", "--reports-dir", str(out))
    assert sorted(p.name for p in (out / "csv").iterdir()) == sorted(f"{n}.csv" for n in reports.CSV_REPORTS)
    assert sorted(p.name for p in (out / "json").iterdir()) == sorted(
        f"{n}.json" for n in reports.JSON_REPORTS
    )
    summary = json.loads((out / "json" / "summary.json").read_text())
    assert summary["total_logs"] == 400
    # The default rules fire on this data (error rate above 10 %), one line per alert.
    log_lines = (out / "alerts.log").read_text().splitlines()
    assert any("kind=error_rate" in line for line in log_lines)
