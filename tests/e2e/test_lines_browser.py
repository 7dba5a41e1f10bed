"""The lines behind a number (issue 20), in a real Chromium against the real stack
(gunicorn, qcluster, Spark Connect, the test database).

A CSV log is dropped on the upload page; on its analysis a click on the top error
type's bar opens the Lines view of that type; a word is searched, the results are
paged twice, a line's context is opened, and the filtered lines are exported as CSV.
Every step is checked against the generated log and shot into
artifacts/screenshots/lines-*.png.
"""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from analyses.lines.render import CSV_COLUMNS
from tests.e2e.test_browser import SCREENSHOTS, browser, drop_files, shot, sign_in, web  # noqa: F401
from tests.logdata import Event, render_csv

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.spark]

LOGIN = 'User "{word}" login failed'
LOGIN_TYPE = "User <*> login failed"  # error types are patterns (docs/patterns.md)
WORD = "gamma"
PAGE = 50


def generated_log() -> tuple[str, int, int]:
    """A CSV log whose top error type is LOGIN_TYPE; (its text, the lines of that
    type, those of them whose message holds WORD). WORD is also in INFO lines, which
    the drill-down must leave out."""
    rnd = random.Random(20)
    plan: list[tuple[str, str]] = []
    for i in range(330):
        word = WORD if i % 33 < 13 else rnd.choice(["alpha", "beta", "delta"])
        plan.append(("ERROR", LOGIN.format(word=word)))
    plan += [("ERROR", f"Payment declined for order {rnd.randint(1, 99999)}") for _ in range(90)]
    plan += [("CRITICAL", "Kernel panic in module omega") for _ in range(40)]
    plan += [("WARN", f"Retrying job {rnd.randint(1, 999)} in {rnd.randint(1, 999)} ms") for _ in range(60)]
    plan += [("INFO", f"Cache miss for key {rnd.choice([WORD, 'kappa'])}") for _ in range(250)]
    rnd.shuffle(plan)
    start = datetime(2024, 3, 1)
    events = [
        Event(
            ts=start + timedelta(seconds=223 * i),
            level=level,
            spelling=level,
            message=message,
            error_type="",
            ip=None,
            ip_column=f"10.0.{rnd.randint(0, 3)}.{rnd.randint(1, 40)}",
            service=rnd.choice(["api", "auth", "billing"]),
            endpoint="/login",
        )
        for i, (level, message) in enumerate(plan)
    ]
    of_type = [m for level, m in plan if level == "ERROR" and m.startswith('User "')]
    return render_csv(events), len(of_type), sum(WORD in m for m in of_type)


ROWS = """() => [...document.querySelectorAll("#lines tbody tr")].map((tr) => {
  const cells = [...tr.cells].map((td) => td.textContent.trim());
  const link = tr.querySelector("a.context-link");
  return {level: cells[1], error_type: cells[4], message: cells[7], context: link ? link.getAttribute("href") : null};
})"""


def rows(page) -> list[dict]:  # noqa: ANN001
    return page.evaluate(ROWS)


def screenshot(page, name: str) -> None:  # noqa: ANN001
    shot(page, f"lines-{name}")
    print(f"screenshot: {SCREENSHOTS / f'lines-{name}.png'}")


def test_a_bar_opens_its_lines_to_search_page_read_in_context_and_export(web, browser, bob, tmp_path):  # noqa: F811
    text, of_type, with_word = generated_log()
    assert with_word > 2 * PAGE  # three pages of search results
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()

    # Upload through the page, then open the analysis.
    sign_in(page, web, "bob")
    drop_files(page, "#dropzone", [("app.csv", text)])
    page.click("#upload-button")
    page.wait_for_url(f"{web}/analyses/*/", timeout=60_000)
    page.wait_for_selector("#metrics", timeout=240_000)
    assert page.inner_text("#status-badge") == "Succeeded"
    page.wait_for_selector("#chart-top_error_types .bars .point")
    top = page.inner_text("#t-error-types tbody tr:first-child td.logtext")
    assert top == LOGIN_TYPE
    assert page.inner_text("#t-error-types tbody tr:first-child td:nth-child(3)") == str(of_type)
    assert page.is_visible("#browse-lines")
    screenshot(page, "analysis")

    # A click on the top bar (the chart's first point, drawn at the top) opens its lines.
    page.locator("#chart-top_error_types").scroll_into_view_if_needed()
    box = page.locator("#chart-top_error_types .bars .point").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(re.compile(r".*/lines/\?.*"), timeout=30_000)
    assert parse_qs(urlsplit(page.url).query)["error_type"] == [LOGIN_TYPE]
    assert page.input_value("input[name=error_type]") == LOGIN_TYPE
    shown = rows(page)
    assert len(shown) == min(of_type, 100)
    assert {r["error_type"] for r in shown} == {LOGIN_TYPE} and {r["level"] for r in shown} == {"ERROR"}
    screenshot(page, "drilldown")

    # Search a word within the drill-down's filter, 50 lines a page.
    page.fill("input[name=q]", WORD)
    page.select_option("select[name=limit]", str(PAGE))
    with page.expect_navigation():
        page.click("#lines-filters button[type=submit]")
    first = rows(page)
    assert len(first) == PAGE
    assert all(WORD in r["message"].lower() and r["error_type"] == LOGIN_TYPE for r in first)
    screenshot(page, "search")

    # Page twice: new lines each time, none seen before, and then no further page.
    pages = [first]
    for number in (2, 3):
        with page.expect_navigation():
            page.click("#next-page")
        assert f"Page {number}" in page.inner_text(".lines-bar")
        pages.append(rows(page))
        screenshot(page, f"page-{number}")
    seen = [r["context"] for p in pages for r in p]
    assert None not in seen and len(set(seen)) == len(seen) == with_word
    assert all(WORD in r["message"].lower() and r["error_type"] == LOGIN_TYPE for p in pages for r in p)
    assert page.locator("#next-page").count() == 0
    lines_url = page.url

    # A line's context: highlighted among up to 20 lines each way, in file order.
    line = int(parse_qs(urlsplit(pages[2][0]["context"]).query)["line"][0])
    with page.expect_navigation():
        page.click("#lines tbody tr:first-child a.context-link")
    current = page.locator("#context tr.current")
    assert current.count() == 1 and current.get_attribute("id") == f"line-{line}"
    assert WORD in current.inner_text().lower()
    numbers = [
        int(n)
        for n in page.eval_on_selector_all("#context tbody tr", "trs => trs.map(t => t.cells[0].textContent)")
    ]
    last = text.count("\n")  # the file's last line; line 1 is the CSV header
    assert numbers == list(range(max(2, line - 20), min(last, line + 20) + 1))
    screenshot(page, "context")

    # Export the filtered lines as CSV: every one of them, not just a page.
    page.goto(lines_url)
    with page.expect_download() as download:
        page.click("#export-csv")
    path = tmp_path / "export.csv"
    download.value.save_as(path)
    exported = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert tuple(exported[0]) == CSV_COLUMNS
    body = [dict(zip(CSV_COLUMNS, r, strict=True)) for r in exported[1:]]
    assert len(body) == with_word
    assert all(r["error_type"] == LOGIN_TYPE and WORD in r["message"].lower() for r in body)
    screenshot(page, "export")
    context.close()
