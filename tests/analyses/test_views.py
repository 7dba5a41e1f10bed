import hashlib

import pytest
from django.conf import settings
from django.urls import reverse

from analyses.models import Analysis, AnalysisFile
from analyses.uploads import INCOMING
from tests.analyses.helpers import make_analysis, upload

pytestmark = pytest.mark.django_db

CSV = "timestamp,log_level,message\n2024-01-01 10:00:00,ERROR,disk failed\n2024-01-01 10:05:00,INFO,ok\n"


@pytest.fixture
def analysis(team_a, alice, tmp_path):
    return make_analysis(team_a, alice, tmp_path)


def page_urls(analysis):
    f = analysis.files.first()
    return [
        ("get", reverse("analyses:upload")),
        ("post", reverse("analyses:upload")),
        ("get", reverse("analyses:history")),
        ("get", reverse("analyses:detail", args=[analysis.pk])),
        ("get", reverse("analyses:status", args=[analysis.pk])),
        ("get", reverse("analyses:file", args=[analysis.pk, f.pk])),
        ("post", reverse("analyses:delete", args=[analysis.pk])),
        ("post", reverse("analyses:rerun", args=[analysis.pk])),
        ("get", reverse("accounts:members")),
        ("post", reverse("accounts:team_switch")),
    ]


def test_every_page_requires_sign_in(client, analysis):
    for method, url in page_urls(analysis):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login")), url


def test_another_teams_analysis_and_files_are_404(client_for, charlie, analysis):
    client = client_for(charlie)
    for method, url in page_urls(analysis):
        if "analyses/" in url and str(analysis.pk) in url:
            assert getattr(client, method)(url).status_code == 404, url
    assert Analysis.objects.filter(pk=analysis.pk).exists()


def test_team_members_see_the_analysis_and_its_file(client_for, bob, analysis):
    client = client_for(bob)
    response = client.get(reverse("analyses:detail", args=[analysis.pk]))
    assert response.status_code == 200
    assert analysis.name.encode() in response.content
    f = analysis.files.first()
    download = client.get(reverse("analyses:file", args=[analysis.pk, f.pk]))
    assert download.status_code == 200
    assert b"boom" in b"".join(download.streaming_content)


def test_a_viewer_cannot_upload(client_for, victor):
    response = client_for(victor).post(reverse("analyses:upload"), {"files": [upload("a.csv", CSV)]})
    assert response.status_code == 403
    assert Analysis.objects.count() == 0
    assert not list((settings.STORAGE_ROOT / INCOMING).glob("*.part"))


def test_upload_of_two_files_makes_one_analysis_with_safe_stored_names(client_for, bob, team_a):
    client = client_for(bob)
    response = client.post(
        reverse("analyses:upload"),
        {"files": [upload("../../etc/passwd.csv", CSV), upload("second.csv", CSV)], "name": "Two files"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 202
    analysis = Analysis.objects.get(pk=response.json()["id"])
    assert analysis.team == team_a and analysis.name == "Two files" and analysis.status == "queued"
    files = list(analysis.files.all())
    assert [f.original_name for f in files] == ["passwd.csv", "second.csv"]
    root = settings.STORAGE_ROOT.resolve()
    for f in files:
        stored = (root / f.stored_path).resolve()
        assert root in stored.parents
        assert "passwd" not in f.stored_path and ".." not in f.stored_path
        assert stored.read_bytes() == CSV.encode()
        assert f.sha256 == hashlib.sha256(CSV.encode()).hexdigest()
        assert f.size == len(CSV)
    assert not list((root / INCOMING).glob("*.part"))


def test_upload_over_the_size_cap_is_413_and_keeps_nothing(client_for, bob, settings):
    settings.UPLOAD_MAX_FILE_BYTES = 1000
    response = client_for(bob).post(
        reverse("analyses:upload"),
        {"files": [upload("big.log", "x" * 5000)]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]["messages"][0]
    assert Analysis.objects.count() == 0
    assert AnalysisFile.objects.count() == 0
    assert not list((settings.STORAGE_ROOT / INCOMING).glob("*.part"))


def test_upload_without_files_explains_what_to_do(client_for, bob):
    response = client_for(bob).post(reverse("analyses:upload"), {"name": "x"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert "at least one log file" in response.json()["error"]["messages"][0]


def test_upload_page_renders_the_drop_zone(client_for, bob):
    response = client_for(bob).get(reverse("analyses:upload"))
    assert response.status_code == 200
    assert b'id="dropzone"' in response.content and b"multiple" in response.content


def test_history_lists_only_the_current_teams_analyses(client_for, alice, charlie, team_a, team_b, tmp_path):
    mine = make_analysis(team_a, alice, tmp_path, name="mine.csv")
    theirs = make_analysis(team_b, charlie, tmp_path, name="theirs.csv")
    content = client_for(alice).get(reverse("analyses:history")).content.decode()
    assert mine.name in content
    assert theirs.name not in content


def test_delete_removes_the_analysis_and_its_files(
    client_for, alice, analysis, django_capture_on_commit_callbacks
):
    stored = settings.STORAGE_ROOT / analysis.files.first().stored_path
    assert stored.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(reverse("analyses:delete", args=[analysis.pk]))
    assert response.status_code == 302
    assert not Analysis.objects.filter(pk=analysis.pk).exists()
    assert not stored.exists()


def test_a_viewer_cannot_delete(client_for, victor, analysis):
    assert client_for(victor).post(reverse("analyses:delete", args=[analysis.pk])).status_code == 403
    assert Analysis.objects.filter(pk=analysis.pk).exists()


def test_a_declared_body_over_the_request_cap_is_413_not_500(client_for, bob, settings):
    settings.UPLOAD_MAX_REQUEST_BYTES = 1000
    big = upload("big.log", "x" * (3 * 1024 * 1024))
    response = client_for(bob).post(
        reverse("analyses:upload"), {"files": [big]}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "too_large" and "at most 0 MB can be sent in one request" in error["message"]
    assert Analysis.objects.count() == 0
