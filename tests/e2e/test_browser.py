"""The pages in a real headless Chromium against the real stack: gunicorn, qcluster,
Spark Connect and the test database. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import io
import os
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from analyses.services.create import LocalFile, analysis_create
from analyses.services.execute import analysis_execute
from tests.conftest import BASE_DIR, PASSWORD
from tests.logdata import make_events, render_csv

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.spark]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = BASE_DIR / "artifacts" / "screenshots"
CHARTS = ["errors_over_time", "top_error_types", "errors_per_ip", "errors_per_service", "severity"]


@pytest.fixture
def web(qcluster, web_server) -> str:
    """gunicorn serving the app on the test database (with the qcluster running)."""
    return web_server(threads=8)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; `make test` installs Debian's chromium")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # tests make between browser steps are ordinary synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


def sign_in(page, web: str, username: str) -> None:
    page.goto(f"{web}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{web}/analyses/upload/")


def drop_files(page, selector: str, files: list[tuple[str, str]]) -> None:
    """A real drop event carrying File objects, as a user's drag and drop makes."""
    transfer = page.evaluate_handle(
        """(files) => {
            const dt = new DataTransfer();
            for (const [name, text] of files) dt.items.add(new File([text], name, {type: "text/csv"}));
            return dt;
        }""",
        files,
    )
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def metric(page, name: str) -> str:
    return page.inner_text(f"#m-{name}").strip()


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_upload_watch_filter_download_reload_and_isolation(web, browser, bob, charlie, team_b, tmp_path):
    first, second = make_events(900, seed=91, span_hours=24), make_events(700, seed=92, span_hours=24)
    events = first + second
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    statuses: list[dict] = []

    def record_status(route) -> None:  # noqa: ANN001 - every status poll the page makes
        response = route.fetch()
        if response.status == 200:
            statuses.append(response.json())
        route.fulfill(response=response)

    page.route("**/status/", record_status)

    # Sign in and drop two files.
    sign_in(page, web, "bob")
    drop_files(page, "#dropzone", [("first.csv", render_csv(first)), ("second.csv", render_csv(second))])
    assert page.locator("#file-list li").count() == 2
    page.fill("input[name=name]", "Browser run")
    shot(page, "upload")
    page.click("#upload-button")

    # Watch the progress bar until the analysis is done and the page fills in.
    page.wait_for_url(f"{web}/analyses/*/", timeout=60_000)
    page.wait_for_selector("#metrics", timeout=240_000)
    assert statuses, "the page never polled the status"
    assert statuses[0]["status"] in ("queued", "running")
    assert statuses[-1]["status"] == "succeeded" and statuses[-1]["progress"] == 100
    assert page.inner_text("#status-badge") == "Succeeded"
    analysis_url = page.url

    # Every chart is drawn by Plotly as SVG with data.
    for name in CHARTS:
        page.wait_for_selector(f"#chart-{name} .main-svg")
    for name in CHARTS[:4]:
        assert page.locator(f"#chart-{name} .bars .point").count() > 0, name
    assert page.locator("#chart-severity .slice").count() == 5
    assert metric(page, "total") == str(len(events))
    assert metric(page, "errors") == str(sum(e.level in ("ERROR", "CRITICAL") for e in events))
    shot(page, "analysis")

    # A date and a level filter redraw the numbers.
    page.fill("input[name=start]", "2024-03-01T05:00")
    page.fill("input[name=end]", "2024-03-01T14:59")
    page.check("input[name=levels][value=ERROR]")
    page.click("text=Apply filters")
    page.wait_for_selector("#filter-note")
    chosen = [
        e
        for e in events
        if e.ts and datetime(2024, 3, 1, 5) <= e.ts < datetime(2024, 3, 1, 15) and e.level == "ERROR"
    ]
    assert metric(page, "total") == str(len(chosen))
    assert metric(page, "errors") == str(len(chosen))
    assert metric(page, "critical") == "0"
    page.wait_for_selector("#chart-errors_over_time .main-svg")
    shot(page, "analysis-filtered")

    # Download the reports.
    with page.expect_download() as download:
        page.click("#download-zip")
    names = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())).namelist()
    assert "csv/errors_by_type.csv" in names and "json/summary.json" in names

    # Reload it from the history.
    page.click("nav >> text=History")
    page.wait_for_selector("#history")
    shot(page, "history")
    page.click("#history >> text=Browser run")
    page.wait_for_selector("#chart-top_error_types .main-svg")
    assert page.url.split("?")[0] == analysis_url.split("?")[0]
    assert metric(page, "total") == str(len(events))

    # Another team's analysis does not exist for bob.
    path = tmp_path / "theirs.csv"
    path.write_text(render_csv(make_events(5, seed=93)))
    theirs = analysis_create(
        team=team_b, user=charlie, files=[LocalFile(path=path, name="theirs.csv")], enqueue=False
    )
    response = page.goto(f"{web}/analyses/{theirs.pk}/")
    assert response.status == 404
    context.close()


def test_pages_fit_a_phone_screen(web, browser, bob, tmp_path):
    path = tmp_path / "small.csv"
    path.write_text(render_csv(make_events(300, seed=94)))
    analysis = analysis_create(
        team=bob.memberships.get().team,
        user=bob,
        files=[LocalFile(path=path, name="small.csv")],
        enqueue=False,
    )
    assert analysis_execute(analysis_id=analysis.pk) == "succeeded"
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, web, "bob")
    for name, url in [
        ("upload-390", "/analyses/upload/"),
        ("analysis-390", f"/analyses/{analysis.pk}/"),
        ("history-390", "/analyses/"),
    ]:
        page.goto(f"{web}{url}")
        if "analysis" in name:
            page.wait_for_selector("#chart-severity .main-svg")
        shot(page, name)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (name, overflow)
    context.close()
