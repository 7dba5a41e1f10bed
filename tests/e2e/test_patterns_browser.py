"""The Patterns view (issue 21), in a real Chromium against the real stack (gunicorn,
qcluster, Spark Connect, the test database).

A CSV log is dropped on the upload page, then again with one new error event under
the same name. From the second analysis's page the Patterns button opens its
patterns: the new event is marked new, its sparkline has a label; the filter box
hides the other rows as you type; the pattern's lines link opens the Lines view,
which lists exactly that pattern's lines. Screenshots:
artifacts/screenshots/patterns-1280.png (and patterns-lines-1280.png).
"""

from __future__ import annotations

import random
from urllib.parse import parse_qs, urlsplit

import pytest

from analyses.models import Analysis
from tests.analyses.patterns_helpers import csv_text, events
from tests.e2e.test_browser import SCREENSHOTS, browser, drop_files, shot, sign_in, web  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.spark]

NAME = "billing.csv"
VISIBLE_ROWS = """() => [...document.querySelectorAll("#t-patterns tbody tr.pattern")]
  .filter((tr) => !tr.hidden).map((tr) => tr.id)"""
LINE_MESSAGES = """() => [...document.querySelectorAll("#lines tbody tr")]
  .map((tr) => tr.cells[tr.cells.length - 1].textContent.trim())"""


def upload(page, base: str, text: str) -> Analysis:  # noqa: ANN001
    page.goto(f"{base}/analyses/upload/")
    drop_files(page, "#dropzone", [(NAME, text)])
    page.click("#upload-button")
    page.wait_for_url(f"{base}/analyses/*/", timeout=60_000)
    page.wait_for_selector("#metrics", timeout=240_000)
    assert page.inner_text("#status-badge") == "Succeeded"
    return Analysis.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))


def screenshot(page, name: str) -> None:  # noqa: ANN001
    shot(page, name)
    print(f"screenshot: {SCREENSHOTS / f'{name}.png'}")


def test_the_patterns_page_marks_a_new_event_filters_and_opens_its_lines(web, browser, bob):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, web, "bob")
    first = upload(page, web, csv_text(events(random.Random(1), with_new=False)))
    second = upload(page, web, csv_text(events(random.Random(2), with_new=True)))

    # The analysis page's Patterns button.
    page.click("#patterns-link")
    page.wait_for_url(f"{web}/analyses/{second.pk}/patterns/")
    assert f"#{first.pk}" in page.inner_text("#compare-note")
    assert page.inner_text("#new-count") == "1"
    new_rows = page.locator("#t-patterns tbody tr.is-new")
    assert new_rows.count() == 1
    row = new_rows.first
    template = row.locator("code.template").inner_text()
    assert "shard" in template and "unreachable" in template
    assert row.locator("a.pattern-lines").inner_text() == "11 lines"
    label = row.locator("svg.sparkline").get_attribute("aria-label")
    assert label.startswith("Lines per ") and label.endswith("11 in all"), label
    assert row.locator("svg.sparkline title").text_content() == label
    all_rows = page.evaluate(VISIBLE_ROWS)
    assert len(all_rows) >= 5
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, overflow
    # The whole table, sparklines included, fits 1280 px without scrolling its box.
    hidden = page.evaluate(
        "(() => { const w = document.getElementById('t-patterns').parentElement; return w.scrollWidth - w.clientWidth; })()"
    )
    assert hidden <= 1, hidden
    screenshot(page, "patterns-1280")

    # The filter box hides the other patterns as you type, and shows them again.
    page.fill("#patterns-filter", "SHARD")
    assert page.evaluate(VISIBLE_ROWS) == [row.get_attribute("id")]
    page.fill("#patterns-filter", "")
    assert page.evaluate(VISIBLE_ROWS) == all_rows

    # Its lines link: the Lines view of that pattern, and only its lines.
    pattern = row.get_attribute("id").removeprefix("pattern-")
    with page.expect_navigation():
        row.locator("a.pattern-lines").click()
    assert urlsplit(page.url).path == f"/analyses/{second.pk}/lines/"
    assert parse_qs(urlsplit(page.url).query)["pattern"] == [pattern]
    messages = page.evaluate(LINE_MESSAGES)
    assert len(messages) == 11, messages
    assert all(m.startswith("Database shard ") and m.endswith(" is unreachable") for m in messages), messages
    screenshot(page, "patterns-lines-1280")
    context.close()
