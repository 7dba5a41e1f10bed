"""manage.py analyze: the batch path through the same services and worker."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Team
from analyses.models import Analysis, Status
from tests.logdata import make_events, reference, render_csv, render_log4j_iso

pytestmark = [pytest.mark.django_db, pytest.mark.spark]


def test_it_analyses_a_directory_for_a_new_team_and_prints_only_json(tmp_path, spark_url, capsys):
    events_a, events_b = make_events(300, seed=61), make_events(200, seed=62, with_ip_column=False)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.csv").write_text(render_csv(events_a))
    (tmp_path / "logs" / "b.log").write_text(render_log4j_iso(events_b))

    call_command("analyze", str(tmp_path / "logs"), "--team", "batch", "--json")

    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert "did not exist and was created" in captured.err
    assert Team.objects.filter(slug="batch").exists()
    assert document["analysis"]["status"] == "succeeded"
    assert document["summary"]["total_logs"] == 500
    assert document["summary"]["error_count"] == reference(events_a + events_b)["summary"]["error_count"]
    assert [(f["name"], f["format"], f["rows"]) for f in document["files"]] == [
        ("a.csv", "csv", 300),
        ("b.log", "log4j_iso", 200),
    ]
    assert set(document["tables"]) == {
        "errors_by_hour",
        "errors_by_day",
        "error_trends",
        "errors_by_type",
        "top_errors",
        "errors_per_ip",
        "errors_per_service",
        "errors_by_severity",
    }


def test_it_reports_a_failed_analysis_as_an_error(tmp_path, spark_url):
    path = tmp_path / "prose.txt"
    path.write_text("nothing to see\n")
    out = io.StringIO()
    with pytest.raises(CommandError, match="failed: None of the files could be analysed"):
        call_command("analyze", str(path), "--team", "batch", "--wait", stdout=out, stderr=out)
    assert Analysis.objects.get().status == Status.FAILED


def test_a_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no such file or directory"):
        call_command("analyze", str(tmp_path / "nope"), "--team", "x")
