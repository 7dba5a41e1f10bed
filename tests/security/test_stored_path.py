"""A stored file's path never leaves the storage root (issue 18, hole 8).

`AnalysisFile.stored_path` was editable in the admin and joined to STORAGE_ROOT
unchecked, so a row pointing at `/etc/passwd` or `../../…` was served by the file
download and read by the analysis. Now it is read-only in the admin, and every
place that opens a stored file resolves it and refuses what is not under the root.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from analyses import engine_config, uploads
from analyses.models import AnalysisFile, Status
from analyses.services.create import analysis_delete
from analyses.services.execute import analysis_execute
from analyses.uploads import storage_root
from tests.analyses.helpers import make_analysis

pytestmark = pytest.mark.django_db

SECRET = "timestamp,log_level,message\n2024-01-01 00:00:00,ERROR,the secret outside storage\n"


@pytest.fixture
def secret(tmp_path_factory) -> Path:
    """A readable file outside STORAGE_ROOT."""
    path = tmp_path_factory.mktemp("outside") / "secret.csv"
    path.write_text(SECRET)
    return path


def escapes(secret: Path) -> list[str]:
    return [
        "../../etc/passwd",
        "/etc/passwd",
        str(secret),
        os.path.relpath(secret, storage_root()),
        "team-1/../../" + os.path.relpath(secret, storage_root()),
    ]


@pytest.fixture
def analysis(team_a, alice, tmp_path):
    return make_analysis(team_a, alice, tmp_path)


def point_at(analysis, stored_path: str) -> AnalysisFile:
    f = analysis.files.get()
    AnalysisFile.objects.filter(pk=f.pk).update(stored_path=stored_path)
    f.refresh_from_db()
    return f


def test_it_resolves_paths_under_the_root_and_refuses_the_rest(secret):
    root = storage_root().resolve()
    assert uploads.stored_path_resolve("team-1/2024-01/abc.log") == root / "team-1/2024-01/abc.log"
    for bad in [*escapes(secret), "", ".", "team-1/../.."]:
        with pytest.raises(uploads.StoredPathError):
            uploads.stored_path_resolve(bad)


def test_it_refuses_a_symlink_that_leads_outside(secret):
    link = storage_root() / "team-1" / "link.log"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(secret)
    try:
        with pytest.raises(uploads.StoredPathError):
            uploads.stored_path_resolve("team-1/link.log")
    finally:
        link.unlink()


def test_the_download_of_a_path_outside_storage_is_404(client_for, alice, analysis, secret):
    client = client_for(alice)
    for bad in escapes(secret):
        f = point_at(analysis, bad)
        response = client.get(reverse("analyses:file", args=[analysis.pk, f.pk]))
        assert response.status_code == 404, (bad, response)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert b"secret outside" not in body and b"root:" not in body


def test_the_engine_input_refuses_a_path_outside_storage(analysis, secret):
    for bad in escapes(secret):
        f = point_at(analysis, bad)
        with pytest.raises(uploads.StoredPathError):
            engine_config.input_files([f])


@pytest.mark.spark
def test_an_analysis_of_a_path_outside_storage_fails_without_reading_it(analysis, secret, spark_url):
    point_at(analysis, str(secret))
    assert analysis_execute(analysis_id=analysis.pk) == "failed"
    analysis.refresh_from_db()
    assert analysis.status == Status.FAILED
    assert "outside the storage" in analysis.error and "administrator" in analysis.error
    assert analysis.total_rows is None


def test_delete_leaves_a_file_outside_storage_alone(analysis, secret, django_capture_on_commit_callbacks):
    point_at(analysis, str(secret))
    with django_capture_on_commit_callbacks(execute=True):
        analysis_delete(analysis=analysis)
    assert secret.read_text() == SECRET


def test_the_admin_cannot_edit_a_stored_path(client, analysis, secret):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-the-admin-1")
    client.force_login(admin)
    f = analysis.files.get()
    url = reverse("admin:analyses_analysisfile_change", args=[f.pk])
    form = client.get(url).content.decode()
    assert 'name="stored_path"' not in form
    response = client.post(
        url,
        {
            "analysis": analysis.pk,
            "position": 0,
            "original_name": "renamed.csv",
            "stored_path": str(secret),
            "size": 1,
            "sha256": "0" * 64,
            "format_override": "",
            "detected_format": "",
            "rows": "",
            "unparsed_lines": "",
            "error": "",
        },
    )
    assert response.status_code == 302, response.content
    f.refresh_from_db()
    assert f.original_name == "renamed.csv"
    assert uploads.stored_path_resolve(f.stored_path).is_file() and f.stored_path != str(secret)
    assert f.size != 1 and f.sha256 != "0" * 64
