"""Charts a person can trust at first sight (issue 22), in a real Chromium against the
real stack (gunicorn, qcluster, Spark Connect, the test database).

A year-less OpenSSH-like syslog, whose error types share their first 60 characters,
and an Apache access log of 2015 are dropped on the upload page together. At 1280
and 390 px: no two bars of a chart share a category, the top-error-types bars are in
the table's order, every tick label lies inside its chart, the far-apart years are
two panels; the page says the syslog was dated in the default year, and a re-run
that gives it 2016 dates it in 2016. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from analyses.models import Analysis
from tests.e2e.test_browser import SCREENSHOTS, browser, drop_files, shot, sign_in, web  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.spark]

PAM = "pam_unix({source}): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}"
# Error types that look alike (one long text, cut alike on the axis), each with its own
# count (the merged bar of the issue). Error types are patterns, so each is an event
# of its own: a PAM service and module the miner keeps apart (a user name would be a
# value, <*>).
PAM_SOURCES = {
    "sshd:auth": 41,
    "sshd:account": 37,
    "su:auth": 23,
    "login:auth": 15,
    "sudo:auth": 9,
    "cron:auth": 6,
}
WIDTHS = (1280, 390)


def openssh_log() -> str:
    """A year-less sshd log of Dec 10-11, as OpenSSH's syslog writes it."""
    rnd = random.Random(22)

    def ip() -> str:
        return f"{rnd.randint(1, 223)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}"

    messages = [PAM.format(source=source, ip=ip()) for source, n in PAM_SOURCES.items() for _ in range(n)]
    messages += [
        f"Failed password for invalid user admin from {ip()} port {rnd.randint(1024, 65000)} ssh2"
        for _ in range(12)
    ]
    messages += [f"Received disconnect from {ip()}: 11: Bye Bye [preauth]" for _ in range(40)]
    messages += [
        f"Accepted password for fztu from {ip()} port {rnd.randint(1024, 65000)} ssh2" for _ in range(10)
    ]
    rnd.shuffle(messages)
    start = datetime(2000, 12, 10, 6, 0)  # the year is not written
    lines = []
    for i, message in enumerate(messages):
        at = start + timedelta(seconds=600 * i)
        lines.append(f"{at:%b} {at.day:>2} {at:%H:%M:%S} LabSZ sshd[{24200 + i}]: {message}")
    return "\n".join(lines) + "\n"


def access_log_2015() -> str:
    rnd = random.Random(2015)
    lines = []
    for i in range(80):
        status = rnd.choice([200, 200, 200, 304, 404, 500, 503])
        at = datetime(2015, 5, 17, 10, 5, tzinfo=UTC) + timedelta(seconds=97 * i)
        lines.append(
            f'83.149.9.{rnd.randint(1, 254)} - - [{at:%d/%b/%Y:%H:%M:%S} +0000] "GET /presentations/{i % 7}/slides.html '
            f'HTTP/1.1" {status} {rnd.randint(200, 90000)} "-" "Mozilla/5.0"'
        )
    return "\n".join(lines) + "\n"


# Every figure's traces as drawn (gd.data), and per chart the boxes of its SVG and labels.
FIGURES = """() => [...document.querySelectorAll("[data-figure]")].map((gd) => ({
  id: gd.id,
  layout: {annotations: (gd.layout.annotations || []).map((a) => a.text), xaxis2: !!gd.layout.xaxis2},
  traces: gd.data.map((t) => ({type: t.type, orientation: t.orientation || "v", x: t.x || [], y: t.y || []})),
}))"""
LABEL_BOXES = """() => [...document.querySelectorAll("[data-figure]")].map((gd) => {
  const svg = gd.querySelector(".main-svg").getBoundingClientRect();
  const box = (el) => { const b = el.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
  return {
    id: gd.id,
    svg: [svg.left, svg.top, svg.right, svg.bottom],
    labels: [...gd.querySelectorAll(".ytick text, .xtick text, [class*='x2tick'] text, .annotation-text")]
      .filter((t) => t.textContent.trim())
      .map((t) => ({text: t.textContent, box: box(t)})),
  };
})"""
# The top-error-types bars from the top of the chart down: the whole text of each
# (the hover's, decoded as Plotly shows it) and its vertical place.
BAR_ORDER = """() => {
  const gd = document.getElementById("chart-top_error_types");
  const trace = gd.data[0];
  const full = trace.customdata || trace.hovertext || trace.y;
  const decode = (s) => new DOMParser().parseFromString(String(s), "text/html").documentElement.textContent;
  const points = [...gd.querySelectorAll(".bars .point")].map((p, i) => {
    const b = p.getBoundingClientRect();
    return {text: decode(full[i]), middle: (b.top + b.bottom) / 2};
  });
  return points.sort((a, b) => a.middle - b.middle);
}"""
TABLE_ORDER = """() => [...document.querySelectorAll("#t-error-types tbody tr td.logtext")].map((td) => td.textContent)"""


def check_charts(page, width: int) -> None:
    page.wait_for_selector("#chart-severity .main-svg")
    figures = page.evaluate(FIGURES)
    assert [f["id"] for f in figures] == [
        "chart-errors_over_time",
        "chart-top_error_types",
        "chart-errors_per_ip",
        "chart-errors_per_service",
        "chart-severity",
    ]
    for figure in figures:
        for trace in figure["traces"]:
            if trace["type"] != "bar":
                continue
            categories = trace["y"] if trace["orientation"] == "h" else trace["x"]
            assert categories and len(set(categories)) == len(categories), (width, figure["id"], categories)

    # The bars of the top error types: one per table row, in the table's order.
    bars = page.evaluate(BAR_ORDER)
    table = page.evaluate(TABLE_ORDER)
    assert len(bars) == min(len(table), 15) and len(table) >= 8, (bars, table)
    middles = [b["middle"] for b in bars]
    assert len(set(middles)) == len(middles), f"bars drawn on one another at {width} px: {bars}"
    assert [b["text"] for b in bars] == table[: len(bars)], width
    pam = [t for t in table if t.startswith("pam_unix(") and "): authentication failure; logname=" in t]
    assert len(pam) == len(PAM_SOURCES)

    # Every tick label (and the gap's note) is whole, inside its chart.
    for chart in page.evaluate(LABEL_BOXES):
        left, top, right, bottom = chart["svg"]
        assert chart["labels"] or chart["id"] == "chart-severity", chart["id"]  # a pie has no ticks
        for label in chart["labels"]:
            x0, y0, x1, y1 = label["box"]
            inside = x0 >= left - 0.5 and y0 >= top - 0.5 and x1 <= right + 0.5 and y1 <= bottom + 0.5
            assert inside, (
                f"{chart['id']} at {width} px: {label['text']!r} {label['box']} outside {chart['svg']}"
            )

    # Eleven empty years are not drawn: the two years are panels side by side.
    over_time = figures[0]["layout"]
    assert over_time["xaxis2"], over_time
    assert any(note.endswith("without lines") for note in over_time["annotations"]), over_time
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, (width, overflow)


def screenshot(page, name: str) -> None:
    shot(page, name)
    print(f"screenshot: {SCREENSHOTS / f'{name}.png'}")


def test_charts_agree_with_the_tables_fit_both_widths_and_a_rerun_dates_a_yearless_log(web, browser, bob):  # noqa: F811
    this_year = datetime.now(UTC).year
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, web, "bob")
    drop_files(page, "#dropzone", [("auth.log", openssh_log()), ("access.log", access_log_2015())])
    assert page.locator("#file-list li").count() == 2
    page.click("#upload-button")
    page.wait_for_url(f"{web}/analyses/*/", timeout=60_000)
    page.wait_for_selector("#metrics", timeout=240_000)
    assert page.inner_text("#status-badge") == "Succeeded"
    analysis = Analysis.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))
    auth, access = analysis.files.order_by("position")
    assert (auth.detected_format, access.detected_format) == ("syslog", "access_log")

    # The syslog had no year: the page says it was dated in the default one.
    notice = page.inner_text(f"#year-notice-{auth.pk}")
    assert f"auth.log: {auth.rows} lines had no year; dated {this_year} (the default)." in notice
    assert page.locator(f"#year-notice-{access.pk}").count() == 0
    assert page.inner_text("#files tr:has-text('auth.log') .time-range").startswith(f"{this_year}-12-10")

    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        check_charts(page, width)
        screenshot(page, f"charts-{width}")

    # Re-run with 2016 for the syslog only, from the page's form.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    page.click(f"#year-notice-{auth.pk} a[href='#rerun-options']")
    assert page.locator("#rerun-options").get_attribute("open") is not None
    page.fill(f"input[name='file-{auth.pk}-assume_year']", "2016")
    page.click("#rerun-with-options")
    page.wait_for_url(lambda url: f"/analyses/{analysis.pk}/" not in url, timeout=60_000)
    page.wait_for_selector("#metrics", timeout=240_000)
    rerun = Analysis.objects.exclude(pk=analysis.pk).get()
    assert page.url.endswith(f"/analyses/{rerun.pk}/")
    new_auth = rerun.files.get(original_name="auth.log")
    assert new_auth.assume_year_override == 2016

    assert page.locator(".year-notice").count() == 0
    times = page.inner_text("#files tr:has-text('auth.log') .time-range")
    assert times.startswith("2016-12-10") and "2016-12-11" in times and str(this_year) not in times
    assert "dated 2016 (the year given)" in page.inner_text("#files tr:has-text('auth.log')")
    assert page.inner_text("#files tr:has-text('access.log') .time-range").startswith("2015-05-17")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        check_charts(page, width)
        screenshot(page, f"charts-rerun-2016-{width}")
    context.close()
