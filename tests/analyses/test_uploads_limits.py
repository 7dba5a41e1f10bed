"""Disk exhaustion (issue 18, hole 7): the disk's reserve, the per-team quota, and the
upload rate shared by the page and the API."""

from __future__ import annotations

import shutil

import pytest
from django.core.cache import cache
from django.core.files.uploadhandler import StopFutureHandlers, StopUpload
from django.test import RequestFactory
from django.urls import reverse
from django.utils.datastructures import MultiValueDict

from accounts.models import Membership, Role
from analyses.models import Analysis
from analyses.services.create import analysis_rerun
from analyses.uploads import StreamingUploadHandler, incoming_dir, storage_root
from tests.analyses.helpers import make_analysis, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

CSV = "timestamp,log_level,message\n2024-01-01 00:00:00,ERROR,boom\n2024-01-01 00:00:01,INFO,ok\n"
TB = 1024**4


def leftovers() -> list:
    return list(incoming_dir().glob("*.part"))


def post_page(client, files, **fields):
    return client.post(reverse("analyses:upload"), {"files": files, **fields}, HTTP_ACCEPT="application/json")


def post_api(client, files, **fields):
    return client.post("/api/v1/analyses/", {"files": files, **fields}, format="multipart")


def handler_for(user, path: str = "/upload/", membership=None) -> StreamingUploadHandler:
    request = RequestFactory().post(path)
    request.user = user
    request.membership = membership
    return StreamingUploadHandler(request)


# --------------------------------------------------------------------------- disk reserve


@pytest.fixture
def disk_nearly_full(settings):
    """A reserve above the disk's free space: every upload would eat into it."""
    settings.UPLOAD_DISK_RESERVE_BYTES = shutil.disk_usage(storage_root()).free + TB


def assert_low_on_space(response) -> None:
    assert response.status_code == 507, response.content
    error = response.json()["error"]
    assert error["code"] == "insufficient_storage"
    assert "low on disk space" in error["message"] and "try again later" in error["message"]
    assert "administrator" in error["message"]


def test_it_refuses_a_page_upload_with_507_when_the_disk_is_low(client_for, bob, disk_nearly_full):
    assert_low_on_space(post_page(client_for(bob), [upload("a.csv", CSV)]))
    assert not Analysis.objects.exists() and leftovers() == []


def test_it_refuses_an_api_upload_with_507_when_the_disk_is_low(api, bob, disk_nearly_full):
    assert_low_on_space(post_api(api(bob), [upload("a.csv", CSV)]))
    assert not Analysis.objects.exists() and leftovers() == []


def test_it_checks_the_reserve_from_content_length_before_reading(bob, disk_nearly_full):
    handler = handler_for(bob)
    parsed = handler.handle_raw_input(None, {}, 10_000, b"x")
    # (POST, FILES) given back: Django's parser stops without reading the body.
    assert parsed is not None and parsed[1] == MultiValueDict()
    assert [p.status for p in handler.state.problems] == [507]
    assert handler.state.written == []


def test_it_checks_the_reserve_again_while_streaming(bob, settings):
    handler = handler_for(bob)
    assert handler.handle_raw_input(None, {}, 10_000, b"x") is None
    with pytest.raises(StopFutureHandlers):
        handler.new_file("files", "a.csv", "text/plain", None)
    handler.receive_data_chunk(b"x" * 100, 0)
    # Another upload filled the disk meanwhile.
    settings.UPLOAD_DISK_RESERVE_BYTES = shutil.disk_usage(storage_root()).free + TB
    with pytest.raises(StopUpload):
        handler.receive_data_chunk(b"x" * 100, 100)
    assert [p.status for p in handler.state.problems] == [507]
    assert leftovers() == []


def test_uploads_work_above_the_reserve(client_for, bob, settings):
    settings.UPLOAD_DISK_RESERVE_BYTES = 0
    assert post_page(client_for(bob), [upload("a.csv", CSV)]).status_code == 202


# --------------------------------------------------------------------------- team quota


def test_usage_counts_a_file_shared_by_re_runs_once(team_a, team_b, alice, charlie, tmp_path):
    first = make_analysis(team_a, alice, tmp_path)
    analysis_rerun(analysis=first, user=alice)
    analysis_rerun(analysis=first, user=alice)
    make_analysis(team_b, charlie, tmp_path, text="x" * 999)
    from analyses import quota

    size = first.files.get().size
    assert quota.team_storage_used(team_id=team_a.pk) == size
    assert quota.team_storage_used(team_id=team_b.pk) == 999


@pytest.fixture
def team_a_nearly_full(settings, team_a, alice, tmp_path):
    used = make_analysis(team_a, alice, tmp_path, text="x" * 1000).files.get().size
    settings.UPLOAD_TEAM_QUOTA_BYTES = used + 10
    return used


def assert_over_quota(response, used: int) -> None:
    assert response.status_code == 413, response.content
    error = response.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["details"]["used_bytes"] == used
    assert error["details"]["quota_bytes"] == used + 10
    assert "Team A" in error["message"] and "delete old analyses" in error["message"].lower()


def test_it_refuses_a_page_upload_over_the_team_quota(client_for, bob, team_a_nearly_full):
    assert_over_quota(post_page(client_for(bob), [upload("a.csv", CSV)]), team_a_nearly_full)
    assert Analysis.objects.count() == 1 and leftovers() == []


def test_it_refuses_an_api_upload_over_the_team_quota(api, bob, team_a_nearly_full):
    assert_over_quota(post_api(api(bob), [upload("a.csv", CSV)]), team_a_nearly_full)
    assert Analysis.objects.count() == 1 and leftovers() == []


def test_it_checks_the_quota_from_content_length_before_reading(bob, team_a, team_a_nearly_full):
    membership = Membership.objects.get(user=bob)
    for handler in (handler_for(bob, membership=membership), handler_for(bob, "/api/v1/analyses/")):
        parsed = handler.handle_raw_input(None, {}, 10 * 1024 * 1024, b"x")
        assert parsed is not None
        assert [(p.status, p.code) for p in handler.state.problems] == [(413, "quota_exceeded")]


def test_it_checks_the_quota_of_the_named_team_on_the_actual_bytes(
    api, alice, team_a, team_b, team_a_nearly_full
):
    # Before the body is read the team is unknown, and Team B has room: only the
    # final check, on the bytes received, can refuse.
    Membership.objects.create(team=team_b, user=alice, role=Role.MEMBER)
    assert_over_quota(post_api(api(alice), [upload("a.csv", CSV)], team="team-a"), team_a_nearly_full)
    assert post_api(api(alice), [upload("a.csv", CSV)], team="team-b").status_code == 202


def test_a_quota_of_zero_is_unlimited(client_for, bob, team_a_nearly_full, settings):
    settings.UPLOAD_TEAM_QUOTA_BYTES = 0
    assert post_page(client_for(bob), [upload("a.csv", CSV * 100)]).status_code == 202


def test_the_upload_page_shows_the_teams_usage_and_quota(client_for, bob, team_a, alice, tmp_path, settings):
    make_analysis(team_a, alice, tmp_path, text="x" * (3 * 1024 * 1024))
    settings.UPLOAD_TEAM_QUOTA_BYTES = 50 * 1024**3
    page = client_for(bob).get(reverse("analyses:upload")).content.decode()
    assert 'id="upload-storage"' in page
    assert "3.0 MB of 50.0 GB used" in page


def test_the_api_answers_the_teams_storage_after_an_upload(api, bob, settings):
    settings.UPLOAD_TEAM_QUOTA_BYTES = 10**9
    body = post_api(api(bob), [upload("a.csv", CSV)]).json()
    assert body["storage"] == {"used_bytes": len(CSV), "quota_bytes": 10**9}


# --------------------------------------------------------------------------- upload rate


@pytest.fixture
def two_uploads_an_hour(settings):
    settings.LOGPLATFORM = {
        **settings.LOGPLATFORM,
        "api": {**settings.LOGPLATFORM["api"], "throttle_upload": "2/hour"},
    }
    cache.clear()


def test_page_uploads_share_the_api_upload_rate(client_for, api, bob, two_uploads_an_hour):
    page = client_for(bob)
    assert post_api(api(bob), [upload("a.csv", CSV)]).status_code == 202
    assert post_page(page, [upload("a.csv", CSV)]).status_code == 202
    response = post_page(page, [upload("a.csv", CSV)])
    assert response.status_code == 429, response.content
    assert 3500 < int(response["Retry-After"]) <= 3601
    error = response.json()["error"]
    assert error["code"] == "throttled" and "try again in" in error["message"]
    assert error["details"]["retry_after"] == int(response["Retry-After"])
    assert post_api(api(bob), [upload("a.csv", CSV)]).status_code == 429
    assert Analysis.objects.count() == 2 and leftovers() == []


def test_a_throttled_page_upload_shows_the_message(client_for, bob, two_uploads_an_hour):
    page = client_for(bob)
    for _ in range(2):
        assert post_page(page, [upload("a.csv", CSV)]).status_code == 202
    response = page.post(reverse("analyses:upload"), {"files": [upload("a.csv", CSV)]})
    assert response.status_code == 429
    assert "Retry-After" in response
    assert "Too many uploads" in response.content.decode()


def test_page_re_runs_count_as_uploads(client_for, bob, team_a, alice, tmp_path, two_uploads_an_hour):
    analysis = make_analysis(team_a, alice, tmp_path)
    page = client_for(bob)
    url = reverse("analyses:rerun", args=[analysis.pk])
    assert [page.post(url).status_code for _ in range(3)] == [302, 302, 429]
    assert Analysis.objects.count() == 3
