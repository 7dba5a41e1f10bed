"""Upload -> worker service -> Spark -> stored results, against an independent count."""

import pytest
from django.urls import reverse

from analyses.models import Analysis, AnalysisResult, RollupService, Status
from analyses.services.execute import analysis_execute
from tests.analyses.helpers import upload
from tests.logdata import make_events, pattern_types, per_hour_level_service, reference, render_csv

pytestmark = [pytest.mark.django_db, pytest.mark.spark]


def post(client, *files, **data):
    return client.post(
        reverse("analyses:upload"), {"files": list(files), **data}, HTTP_ACCEPT="application/json"
    )


def test_two_csv_uploads_give_one_analysis_with_counts_equal_to_a_reference(client_for, bob, spark_url):
    first = make_events(700, seed=11)
    second = make_events(500, seed=12, start=make_events(1)[0].ts)
    response = post(
        client_for(bob), upload("one.csv", render_csv(first)), upload("two.csv", render_csv(second))
    )
    assert response.status_code == 202
    analysis_id = response.json()["id"]

    assert analysis_execute(analysis_id=analysis_id) == "succeeded"

    analysis = Analysis.objects.get(pk=analysis_id)
    assert analysis.status == Status.SUCCEEDED and analysis.progress == 100
    document = AnalysisResult.objects.get(analysis=analysis).document
    # The platform mines patterns: an error line's type is its pattern.
    expected = reference(pattern_types(first + second))
    assert document["summary"] == expected["summary"]
    assert document["tables"]["errors_by_type"] == expected["tables"]["errors_by_type"]
    assert analysis.total_rows == 1200
    assert analysis.error_rows == expected["summary"]["error_count"]
    assert [(f["name"], f["format"], f["rows"]) for f in document["files"]] == [
        ("one.csv", "csv", 700),
        ("two.csv", "csv", 500),
    ]
    stored = {
        (r.hour.strftime("%Y-%m-%dT%H:00:00") if r.hour else None, r.level, r.service): r.count
        for r in RollupService.objects.filter(analysis=analysis)
    }
    assert stored == per_hour_level_service(first + second)


def test_a_missing_required_column_names_the_columns_found(client_for, bob, spark_url):
    bad = "time,msg,host\n2024-01-01 00:00:00,hello,web1\n"
    response = post(client_for(bob), upload("bad.csv", bad))
    analysis_id = response.json()["id"]
    assert analysis_execute(analysis_id=analysis_id) == "failed"
    analysis = Analysis.objects.get(pk=analysis_id)
    assert analysis.status == Status.FAILED
    assert "missing required column(s) log_level" in analysis.error
    assert "Found columns: time, msg, host" in analysis.error
    assert "Expected: timestamp (or date + time), log_level, message" in analysis.error
    assert "missing required column(s) log_level" in analysis.files.get().error


def test_a_bad_file_does_not_sink_the_good_one(client_for, bob, spark_url):
    good = make_events(50, seed=3)
    response = post(
        client_for(bob), upload("good.csv", render_csv(good)), upload("bad.csv", "time,msg\n1,2\n")
    )
    analysis_id = response.json()["id"]
    assert analysis_execute(analysis_id=analysis_id) == "succeeded"
    document = AnalysisResult.objects.get(analysis_id=analysis_id).document
    assert document["summary"]["total_logs"] == 50
    files = {f["name"]: f for f in document["files"]}
    assert files["good.csv"]["error"] is None and files["good.csv"]["rows"] == 50
    assert "missing required column(s)" in files["bad.csv"]["error"]


def test_running_again_keeps_exactly_one_result_set(client_for, bob, spark_url):
    events = make_events(80, seed=5)
    analysis_id = post(client_for(bob), upload("a.csv", render_csv(events))).json()["id"]
    assert analysis_execute(analysis_id=analysis_id) == "succeeded"
    rollups = RollupService.objects.filter(analysis_id=analysis_id).count()
    # A duplicate delivery after success claims nothing...
    assert analysis_execute(analysis_id=analysis_id) == "not claimed"
    # ...and a forced second run replaces, not adds.
    Analysis.objects.filter(pk=analysis_id).update(status=Status.QUEUED)
    assert analysis_execute(analysis_id=analysis_id) == "succeeded"
    assert AnalysisResult.objects.filter(analysis_id=analysis_id).count() == 1
    assert RollupService.objects.filter(analysis_id=analysis_id).count() == rollups
