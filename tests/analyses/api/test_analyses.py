"""Analyses through the API: upload, list, get, results (with the page's filters),
reports, delete, re-run — and the caps on uploads."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Role
from analyses import dashboard, reports, selectors
from analyses.models import Analysis, AnalysisFile, Status
from analyses.services.create import LocalFile, analysis_create
from analyses.uploads import incoming_dir, storage_root
from tests.analyses.helpers import make_analysis, store_result, upload
from tests.logdata import make_events, pattern_types, reference

pytestmark = pytest.mark.django_db

CSV = "timestamp,log_level,message\n2024-01-01 00:00:00,ERROR,boom\n2024-01-01 00:00:01,INFO,ok\n"


def leftovers() -> list:
    return list(incoming_dir().glob("*.part"))


# --------------------------------------------------------------------------- upload


def test_an_upload_of_two_files_is_queued(api, bob, team_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        response = api(bob).post(
            "/api/v1/analyses/",
            {
                "files": [upload("a.csv", CSV), upload("b.log", "Jun 14 15:16:01 host sshd[1]: failed\n")],
                "name": "nightly",
                "assume_year": "2023",
                "team": "team-a",
            },
            format="multipart",
        )
    assert response.status_code == 202, response.content
    body = response.json()
    analysis = Analysis.objects.get(pk=body["id"])
    assert body["status"] == "queued" and body["team"] == "team-a" and body["name"] == "nightly"
    assert body["url"] == f"http://testserver{reverse('analyses:detail', args=[analysis.pk])}"
    assert body["api_url"] == f"http://testserver/api/v1/analyses/{analysis.pk}/"
    assert response["Location"] == body["api_url"]
    assert analysis.created_by == bob and analysis.team == team_a
    assert analysis.options == {"assume_year": 2023}
    files = list(analysis.files.order_by("position"))
    assert [f.original_name for f in files] == ["a.csv", "b.log"]
    assert (storage_root() / files[0].stored_path).read_text() == CSV
    assert len(queued) == 1  # the worker task, sent on commit
    assert leftovers() == []


def test_a_user_in_two_teams_must_name_the_team_by_slug_or_id(api, alice, team_a, team_b):
    # No default: the first team by name may be one somebody else added you to.
    account_services.membership_create(team=team_b, user=alice, role=Role.MEMBER)
    client = api(alice)
    unnamed = client.post("/api/v1/analyses/", {"files": [upload("a.csv", CSV)]}, format="multipart")
    assert unnamed.status_code == 400
    assert unnamed.json()["error"]["code"] == "team_required"
    by_slug = client.post(
        "/api/v1/analyses/", {"files": [upload("a.csv", CSV)], "team": "team-a"}, format="multipart"
    )
    by_id = client.post(
        "/api/v1/analyses/", {"files": [upload("a.csv", CSV)], "team": team_b.pk}, format="multipart"
    )
    assert Analysis.objects.get(pk=by_slug.json()["id"]).team == team_a
    assert Analysis.objects.get(pk=by_id.json()["id"]).team == team_b
    assert leftovers() == []


@pytest.mark.parametrize("team", ["team-b", "no-such-team", "999999", "9" * 30])
def test_a_team_you_are_not_in_is_404(api, bob, team_b, team):
    response = api(bob).post(
        "/api/v1/analyses/", {"files": [upload("a.csv", CSV)], "team": team}, format="multipart"
    )
    assert response.status_code == 404
    assert "GET /api/v1/teams/" in response.json()["error"]["message"]
    assert not Analysis.objects.exists() and leftovers() == []


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({}, "files", "required"),
        ({"files": [upload("empty.csv", "")]}, "files", "empty.csv is empty"),
        ({"files": [upload("a.csv", CSV)], "format": "xml"}, "format", "not a valid choice"),
        (
            {"files": [upload("a.csv", CSV)], "assume_year": "1900"},
            "assume_year",
            "greater than or equal to 1970",
        ),
        ({"files": "not a file"}, "files", "not a file"),
    ],
)
def test_bad_uploads_answer_400_naming_the_field(api, bob, data, field, text):
    response = api(bob).post("/api/v1/analyses/", data, format="multipart")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert text in json.dumps(error["details"][field])
    assert text in error["message"]
    assert not Analysis.objects.exists() and leftovers() == []


def test_a_json_body_is_415(api, bob):
    response = api(bob).post("/api/v1/analyses/", {"files": []}, format="json")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_a_file_over_the_cap_is_413_and_nothing_is_kept(api, bob, settings):
    settings.UPLOAD_MAX_FILE_BYTES = 64 * 1024
    big = "timestamp,log_level,message\n" + "2024-01-01 00:00:00,INFO,x\n" * 5000
    response = api(bob).post(
        "/api/v1/analyses/", {"files": [upload("small.csv", CSV), upload("big.csv", big)]}, format="multipart"
    )
    assert response.status_code == 413, response.content
    error = response.json()["error"]
    assert error["code"] == "too_large"
    assert error["details"]["files"][0]["name"] == "big.csv"
    assert "limit per file" in error["message"]
    assert not Analysis.objects.exists() and leftovers() == []


def test_a_request_over_the_total_cap_is_413(api, bob, settings):
    settings.UPLOAD_MAX_REQUEST_BYTES = 64 * 1024
    part = "timestamp,log_level,message\n" + "2024-01-01 00:00:00,INFO,x\n" * 1500
    files = [upload(f"{i}.csv", part) for i in range(3)]
    response = api(bob).post("/api/v1/analyses/", {"files": files}, format="multipart")
    assert response.status_code == 413
    assert "limit per upload" in response.json()["error"]["message"]
    assert not Analysis.objects.exists() and leftovers() == []


def test_too_many_files_is_400(api, bob, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = [upload(f"{i}.csv", CSV) for i in range(3)]
    response = api(bob).post("/api/v1/analyses/", {"files": files}, format="multipart")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "too_many_files"
    assert "At most 2 files" in error["message"]
    assert not Analysis.objects.exists() and leftovers() == []


def test_uploads_are_throttled_per_user_with_retry_after(api, bob, alice, settings):
    settings.LOGPLATFORM = {
        **settings.LOGPLATFORM,
        "api": {**settings.LOGPLATFORM["api"], "throttle_upload": "2/hour"},
    }
    client = api(bob)
    for _ in range(2):
        assert (
            client.post(
                "/api/v1/analyses/", {"files": [upload("a.csv", CSV)]}, format="multipart"
            ).status_code
            == 202
        )
    response = client.post("/api/v1/analyses/", {"files": [upload("a.csv", CSV)]}, format="multipart")
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "throttled"
    assert 3500 < int(response["Retry-After"]) <= 3601
    assert error["details"]["retry_after"] == int(response["Retry-After"])
    assert Analysis.objects.count() == 2 and leftovers() == []
    # Per user: another user still uploads, and bob still reads.
    assert (
        api(alice)
        .post("/api/v1/analyses/", {"files": [upload("a.csv", CSV)]}, format="multipart")
        .status_code
        == 202
    )
    assert client.get("/api/v1/analyses/").status_code == 200


def test_all_requests_are_throttled_per_user(api, bob, settings):
    settings.LOGPLATFORM = {
        **settings.LOGPLATFORM,
        "api": {**settings.LOGPLATFORM["api"], "throttle_user": "3/minute"},
    }
    client = api(bob)
    assert [client.get("/api/v1/me/").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert 0 < int(client.get("/api/v1/me/")["Retry-After"]) <= 61


# --------------------------------------------------------------------------- list and get


@pytest.fixture
def three(team_a, team_b, alice, charlie, tmp_path):
    old = make_analysis(team_a, alice, tmp_path, name="old-app.csv")
    Analysis.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    done = store_result(make_analysis(team_a, alice, tmp_path, name="web.csv"), make_events(50, seed=3))
    other = make_analysis(team_b, charlie, tmp_path, name="theirs.csv")
    return old, done, other


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [a["id"] for a in response.json()["results"]]


def test_the_list_holds_your_teams_analyses_newest_first(api, bob, three):
    old, done, _ = three
    assert ids(api(bob).get("/api/v1/analyses/")) == [done.pk, old.pk]


def test_the_list_filters(api, bob, three):
    old, done, _ = three
    client = api(bob)
    today = timezone.now().date()
    assert ids(client.get("/api/v1/analyses/", {"status": "succeeded"})) == [done.pk]
    assert ids(client.get("/api/v1/analyses/", {"status": "queued", "team": "team-a"})) == [old.pk]
    assert ids(client.get("/api/v1/analyses/", {"created_from": today.isoformat()})) == [done.pk]
    assert ids(client.get("/api/v1/analyses/", {"created_to": (today - timedelta(days=5)).isoformat()})) == [
        old.pk
    ]
    assert ids(client.get("/api/v1/analyses/", {"q": "old-app"})) == [old.pk]


def test_the_list_is_paginated(api, bob, three):
    old, done, _ = three
    client = api(bob)
    first = client.get("/api/v1/analyses/", {"page_size": 1}).json()
    assert first["count"] == 2 and [a["id"] for a in first["results"]] == [done.pk]
    assert first["previous"] is None
    second = client.get(first["next"]).json()
    assert [a["id"] for a in second["results"]] == [old.pk] and second["next"] is None
    assert client.get("/api/v1/analyses/", {"page": 9}).status_code == 404


@pytest.mark.parametrize(
    "query",
    [{"status": "done"}, {"created_from": "yesterday"}, {"page": "0"}, {"page_size": "1000"}, {"page": "x"}],
)
def test_bad_list_filters_are_400(api, bob, query):
    response = api(bob).get("/api/v1/analyses/", query)
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == set(query)


def test_get_shows_progress_then_summary_and_files(api, bob, three):
    old, done, _ = three
    client = api(bob)
    queued = client.get(f"/api/v1/analyses/{old.pk}/").json()
    assert queued["status"] == "queued" and queued["terminal"] is False and queued["summary"] is None
    assert queued["stage"] == "Waiting for a worker" and queued["progress"] == 0
    assert [f["name"] for f in queued["files"]] == ["old-app.csv"]

    body = client.get(f"/api/v1/analyses/{done.pk}/").json()
    assert body["status"] == "succeeded" and body["terminal"] is True and body["progress"] == 100
    assert body["summary"] == selectors.analysis_document(analysis=done)["summary"]
    stored = AnalysisFile.objects.get(analysis=done)
    assert body["files"] == [
        {
            "id": stored.pk,
            "name": "web.csv",
            "size": stored.size,
            "sha256": stored.sha256,
            "format": None,
            "rows": None,
            "unparsed_lines": None,
            "format_override": "",
            "assume_year": None,
            "error": None,
        }
    ]
    assert body["results_url"] == f"http://testserver/api/v1/analyses/{done.pk}/results/"


# --------------------------------------------------------------------------- results (real Spark)


def page_metric(html: str, name: str) -> str:
    return re.search(rf'id="m-{name}">([^<]+)<', html).group(1)


@pytest.mark.spark
def test_results_without_filters_are_the_result_document(api, bob, analysed, events):
    response = api(bob).get(f"/api/v1/analyses/{analysed.pk}/results/")
    assert response.status_code == 200
    document = selectors.result_document(analysis=analysed)
    assert response.json() == json.loads(json.dumps(document))
    assert list(response.json()) == ["analysis", "summary", "files", "tables", "alerts"]
    assert response.json()["summary"] == reference(pattern_types(events))["summary"]
    # Blank filters are no filters, as on the page.
    assert "filtered" not in api(bob).get(f"/api/v1/analyses/{analysed.pk}/results/?start=&levels=").json()


@pytest.mark.spark
def test_results_with_filters_have_the_pages_numbers(api, bob, analysed, events, client_for):
    hours = sorted({e.ts.replace(minute=0, second=0, microsecond=0) for e in events if e.ts})
    start, end = hours[3].strftime("%Y-%m-%dT%H:%M"), hours[12].strftime("%Y-%m-%dT%H:%M")
    query = {"start": start, "end": end, "levels": ["ERROR", "CRITICAL"], "services": ["api", "auth"]}
    response = api(bob).get(f"/api/v1/analyses/{analysed.pk}/results/", query)
    assert response.status_code == 200, response.content
    body = response.json()
    filtered = body.pop("filtered")
    assert body == json.loads(json.dumps(selectors.result_document(analysis=analysed)))

    page = client_for(bob).get(reverse("analyses:detail", args=[analysed.pk]), query).content.decode()
    assert str(filtered["metrics"]["total_logs"]) == page_metric(page, "total")
    assert str(filtered["metrics"]["error_count"]) == page_metric(page, "errors")
    assert str(filtered["metrics"]["critical_count"]) == page_metric(page, "critical")
    chosen = [
        e
        for e in events
        if e.ts
        and hours[3] <= e.ts.replace(minute=0, second=0, microsecond=0) <= hours[12]
        and e.level in ("ERROR", "CRITICAL")
        and e.service in ("api", "auth")
    ]
    assert filtered["metrics"]["total_logs"] == len(chosen) > 0
    expected = dashboard.dashboard_data(
        analysis=analysed, filters=dashboard.filters_from_query(_querydict(query))
    )
    assert {k: v for k, v in filtered.items() if k not in ("filters", "problems")} == json.loads(
        json.dumps(expected)
    )
    assert filtered["filters"]["levels"] == ["ERROR", "CRITICAL"]
    assert filtered["filters"]["start"].startswith(hours[3].strftime("%Y-%m-%dT%H:%M"))
    assert filtered["problems"] == []

    swapped = api(bob).get(f"/api/v1/analyses/{analysed.pk}/results/", {"start": end, "end": start}).json()
    assert swapped["filtered"]["problems"] == ["The start is after the end; the two were swapped."]

    bad = api(bob).get(f"/api/v1/analyses/{analysed.pk}/results/", {"start": "monday", "levels": "LOUD"})
    assert bad.status_code == 400
    assert set(bad.json()["error"]["details"]) == {"start", "levels"}


def _querydict(query: dict):
    from django.http import QueryDict

    q = QueryDict(mutable=True)
    for key, value in query.items():
        q.setlist(key, value if isinstance(value, list) else [value])
    return q


def test_results_before_success_have_no_numbers(api, bob, three):
    old, _, _ = three
    body = api(bob).get(f"/api/v1/analyses/{old.pk}/results/", {"levels": "ERROR"}).json()
    assert body["summary"] is None and body["tables"] is None and body["filtered"] is None
    assert body["analysis"]["status"] == "queued"


# --------------------------------------------------------------------------- reports


def test_every_report_is_the_stored_results(api, bob, three):
    _, done, _ = three
    client = api(bob)
    document = selectors.analysis_document(analysis=done)
    listing = client.get(f"/api/v1/analyses/{done.pk}/reports/").json()
    assert [r["name"] for r in listing["reports"]] == reports.report_names()
    for item in listing["reports"]:
        response = client.get(item["url"], HTTP_ACCEPT="text/csv" if item["name"].endswith("csv") else "*/*")
        assert response.status_code == 200
        content, content_type = reports.report_render(document, item["name"])
        assert response.content.decode() == content
        assert response["Content-Type"].startswith(item["content_type"]) and content_type.startswith(
            item["content_type"]
        )
        assert response["Content-Disposition"] == f'attachment; filename="analysis-{done.pk}-{item["name"]}"'
    archive = zipfile.ZipFile(io.BytesIO(client.get(listing["zip_url"]).content))
    assert len(archive.namelist()) == len(reports.report_names())


def test_reports_of_an_unfinished_analysis_are_409(api, bob, three):
    old, _, _ = three
    client = api(bob)
    for url in (f"/api/v1/analyses/{old.pk}/reports/summary.json", f"/api/v1/analyses/{old.pk}/reports.zip"):
        response = client.get(url, HTTP_ACCEPT="application/zip")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "not_ready"
        assert "queued" in response.json()["error"]["message"]


def test_an_unknown_report_is_404_listing_the_reports(api, bob, three):
    _, done, _ = three
    response = api(bob).get(f"/api/v1/analyses/{done.pk}/reports/passwords.txt")
    assert response.status_code == 404
    assert response.json()["error"]["details"]["reports"] == reports.report_names()


# --------------------------------------------------------------------------- delete and re-run


def test_delete_removes_the_analysis_and_its_files(api, bob, three, django_capture_on_commit_callbacks):
    old, _, _ = three
    path = storage_root() / old.files.get().stored_path
    with django_capture_on_commit_callbacks(execute=True):
        response = api(bob).delete(f"/api/v1/analyses/{old.pk}/")
    assert response.status_code == 204 and response.content == b""
    assert not Analysis.objects.filter(pk=old.pk).exists()
    assert not path.exists()
    assert api(bob).get(f"/api/v1/analyses/{old.pk}/").status_code == 404


def test_rerun_queues_a_new_analysis_of_the_same_files(api, bob, three):
    _, done, _ = three
    response = api(bob).post(f"/api/v1/analyses/{done.pk}/rerun/")
    assert response.status_code == 202
    clone = Analysis.objects.get(pk=response.json()["id"])
    assert clone.status == Status.QUEUED and clone.created_by == bob
    assert list(clone.files.values_list("stored_path", flat=True)) == list(
        done.files.values_list("stored_path", flat=True)
    )


def test_a_rerun_sets_a_files_year_and_format_and_the_others_keep_theirs(api, bob, team_a, tmp_path):
    a = tmp_path / "auth.log"
    a.write_text("Dec 10 06:55:46 LabSZ sshd[24200]: Failed password for root\n")
    b = tmp_path / "app.csv"
    b.write_text(CSV)
    analysis = analysis_create(
        team=team_a,
        user=bob,
        files=[LocalFile(path=a, name="auth.log"), LocalFile(path=b, name="app.csv", format="csv")],
        enqueue=False,
    )
    auth, app = analysis.files.order_by("position")
    response = api(bob).post(
        f"/api/v1/analyses/{analysis.pk}/rerun/",
        {"files": [{"id": auth.pk, "assume_year": 2016}]},
        format="json",
    )
    assert response.status_code == 202, response.content
    clone = Analysis.objects.get(pk=response.json()["id"])
    assert [(f.original_name, f.format_override, f.assume_year_override) for f in clone.files.all()] == [
        ("auth.log", "", 2016),
        ("app.csv", "csv", None),
    ]
    detail = api(bob).get(f"/api/v1/analyses/{clone.pk}/").json()
    assert [(f["format_override"], f["assume_year"]) for f in detail["files"]] == [("", 2016), ("csv", None)]
    # A re-run of the re-run keeps the year; null gives the file back the analysis's year.
    again = api(bob).post(f"/api/v1/analyses/{clone.pk}/rerun/", format="json").json()
    assert Analysis.objects.get(pk=again["id"]).files.first().assume_year_override == 2016
    cleared = (
        api(bob)
        .post(
            f"/api/v1/analyses/{clone.pk}/rerun/",
            {"files": [{"id": clone.files.first().pk, "assume_year": None}]},
            format="json",
        )
        .json()
    )
    assert Analysis.objects.get(pk=cleared["id"]).files.first().assume_year_override is None


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"files": [{"id": 999999, "assume_year": 2016}]}, "is not a file of this analysis; its files are"),
        ({"files": [{"id": "{id}"}, {"id": "{id}"}]}, "is listed twice"),
        ({"files": [{"id": "{id}", "assume_year": "2016"}]}, "A valid integer is required"),
        ({"files": "all"}, "Expected a list"),
    ],
)
def test_a_rerun_body_that_names_no_file_of_the_analysis_is_refused(api, bob, three, body, words):
    _, done, _ = three
    file_id = done.files.get().pk
    text = json.dumps(body).replace('"{id}"', str(file_id))
    before = Analysis.objects.count()
    response = api(bob).post(f"/api/v1/analyses/{done.pk}/rerun/", text, content_type="application/json")
    assert response.status_code == 400, response.content
    assert words in json.dumps(response.json()["error"]["details"])
    assert Analysis.objects.count() == before
