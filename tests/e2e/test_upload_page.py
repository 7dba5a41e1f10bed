"""The upload page in a real Chromium: it says which team an upload goes to, refuses
an upload whose team was switched in another tab, and stops files that cannot fit
in the team's quota before sending them (issue 18, holes 2 and 7). And the example
script: a user in two teams passes `--team`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from accounts import tokens
from accounts.models import Membership, Role, Team
from analyses.models import Analysis
from tests.conftest import BASE_DIR, child_env
from tests.e2e.test_browser import browser, drop_files, shot, sign_in  # noqa: F401 - browser is a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CSV = "timestamp,log_level,message\n2024-01-01 00:00:00,ERROR,boom\n"


@pytest.fixture
def web(web_server, tmp_path) -> str:
    """gunicorn on the test database with a 1 MB team quota (no worker: nothing is analysed)."""
    override = tmp_path / "quota.yaml"
    override.write_text("uploads:\n  team_quota_mb: 1\n")
    return web_server(LOGPLATFORM_CONFIG=str(override))


def test_the_page_names_the_team_and_refuses_a_team_switched_elsewhere(web, browser, alice, team_a):  # noqa: F811
    acme = Team.objects.create(name="Acme", slug="acme")
    Membership.objects.create(team=acme, user=alice, role=Role.MEMBER)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, web, "alice")
    assert "Uploading to Acme" in page.inner_text("#upload-team")

    # The switcher beside it moves the upload to Team A.
    page.select_option("#upload-team select[name=team_id]", str(team_a.pk))
    page.locator("#upload-team", has_text="Uploading to Team A").wait_for()
    assert "Uploading to Team A" in page.inner_text("#upload-team")
    shot(page, "upload-two-teams")

    # Another tab switches back to Acme; this tab still shows Team A.
    other = context.new_page()
    other.goto(f"{web}/analyses/upload/")
    other.select_option("#upload-team select[name=team_id]", str(acme.pk))
    other.locator("#upload-team", has_text="Uploading to Acme").wait_for()

    drop_files(page, "#dropzone", [("a.csv", CSV)])
    page.click("#upload-button")
    page.locator("#upload-status.error").wait_for()
    message = page.inner_text("#upload-status")
    assert "was for Team A" in message and "now Acme" in message and "reload" in message
    assert not Analysis.objects.exists()
    context.close()


def test_the_page_stops_files_over_the_quota_before_sending(web, browser, bob):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, web, "bob")
    assert "of 1.0 MB used" in page.inner_text("#upload-storage")
    sent: list[str] = []
    page.on("request", lambda r: r.method == "POST" and sent.append(r.url))
    drop_files(page, "#dropzone", [("big.csv", CSV + "2024-01-01 00:00:01,INFO,ok\n" * 50_000)])
    page.click("#upload-button")
    page.locator("#upload-status.error").wait_for()
    assert "do not fit in Team A's storage quota" in page.inner_text("#upload-status")
    assert sent == []
    context.close()


def test_the_example_script_names_the_team_of_a_user_in_two(web, alice, team_a, tmp_path):
    Membership.objects.create(
        team=Team.objects.create(name="Acme", slug="acme"), user=alice, role=Role.MEMBER
    )
    _, token = tokens.api_token_create(user=alice, name="script")
    log = tmp_path / "app.csv"
    log.write_text(CSV)

    def run(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "examples/upload.py", str(log), "--url", web, "--timeout", "0", *extra],
            cwd=BASE_DIR,
            env={**child_env(), "LOGPLATFORM_TOKEN": token},
            capture_output=True,
            text=True,
            timeout=120,
        )

    unnamed = run()
    assert unnamed.returncode == 2
    assert "400 team_required" in unnamed.stderr and "acme, team-a" in unnamed.stderr
    assert not Analysis.objects.exists()
    # No worker runs here: the script gives up waiting at once, the upload is queued.
    named = run("--team", "team-a")
    assert "queued" in named.stderr, named.stderr
    assert Analysis.objects.get().team == team_a
