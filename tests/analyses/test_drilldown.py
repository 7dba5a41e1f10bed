"""Drill-down (issue 20): every number on the analysis page links to the Lines view
that lists exactly the lines it counted, with the dashboard's filters carried over.

The Spark tests open a real analysis of generated files (tests.analyses.lines_helpers),
follow each link of the page's tables and charts to its Lines pages, page through
them, and compare the lines found with the number shown."""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import plotly.graph_objects as go
import pytest

from analyses import charts, drilldown
from analyses.dashboard import Filters
from spark_client.rows import OTHER
from tests.analyses.helpers import make_analysis, store_result
from tests.logdata import make_events

pytestmark = pytest.mark.usefixtures("fast_passwords")


@pytest.fixture
def unthrottled(settings, monkeypatch) -> None:  # noqa: ANN001
    """These tests follow a few hundred links in a minute, past the Lines throttle."""
    monkeypatch.setitem(settings.LOGPLATFORM["api"], "throttle_lines", "100000/minute")


ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
LINK = re.compile(
    r'<td class="lines-cell[^"]*">(?:<a href="([^"]*)" class="lines-link"[^>]*>Show lines</a>)?</td>'
)
LINE_ROW = re.compile(r'<tr class="level-[^"]*">(.*?)</tr>', re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
ERROR_LEVELS = ["ERROR", "CRITICAL"]


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def table_links(body: str, table_id: str) -> list[tuple[list[str], str, int]]:
    """(the row's cells as text, its Lines link, its count) of each row of a table: the
    count is the cell before the link's; a row whose count is 0 has no link ("")."""
    found = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', body, re.S)
    assert found, table_id
    rows = []
    for row in ROW.findall(found.group(1)):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in CELL.findall(row)]
        link = LINK.search(row)
        assert link, (table_id, row)
        url = html.unescape(link.group(1) or "")
        assert bool(url) == (cells[-2] != "0"), (table_id, row)
        rows.append((cells[:-1], url, int(cells[-2])))
    return rows


def figure(body: str, name: str) -> dict:
    found = re.search(rf'<script id="figure-{name}" type="application/json">(.*?)</script>', body, re.S)
    assert found, name
    return json.loads(found.group(1))


def lines_of(client, url: str) -> list[dict[str, str]]:  # noqa: ANN001
    """Every line the Lines view lists at `url`, following its next-page links."""
    path = urlsplit(url).path
    url = f"{url}&limit=500"
    out: list[dict[str, str]] = []
    for _ in range(100):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        body = response.content.decode()
        for row in LINE_ROW.findall(body):
            cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in CELL.findall(row)]
            keys = ("ts", "level", "service", "ip", "error_type", "file", "line", "message")
            out.append(dict(zip(keys, cells, strict=False)))
        following = re.search(r'<a href="([^"]*)" id="next-page"', body)
        if not following:
            return out
        url = path + html.unescape(following.group(1))
    raise AssertionError(f"more than 100 pages at {url}")


def check_row_links(client, body: str, table_id: str, key: int, field: str, **expect: list[str]) -> int:  # noqa: ANN001
    """Each row's link lists as many lines as its count, every one with the row's
    key in `field` (and a level in `expect["levels"]` when given); the rows checked."""
    rows = [row for row in table_links(body, table_id) if row[1]]
    for cells, url, count in rows:
        found = lines_of(client, url)
        assert len(found) == count, (table_id, cells, url)
        want = cells[key]
        assert all(line[field] == (want if want != "(none)" else "–") for line in found), (table_id, want)
        if "levels" in expect:
            assert {line["level"] for line in found} <= set(expect["levels"]), (table_id, want)
    return len(rows)


# --------------------------------------------------------------------------- links, no Spark


def test_it_builds_one_link_per_number_with_the_filter_that_counted_it():
    start = datetime(2024, 3, 2, 10, 30, tzinfo=UTC)
    filters = Filters(start=start, end=datetime(2024, 3, 3, 9, tzinfo=UTC), services=["api"])
    links = drilldown.Links(analysis_id=7, filters=filters)
    base = {"start": ["2024-03-02T10:30"], "end": ["2024-03-03T09:00"], "services": ["api"]}

    assert urlsplit(links.error_type("Timeout <NUM>")).path == "/analyses/7/lines/"
    assert query_of(links.error_type("Timeout <NUM>")) == {**base, "error_type": ["Timeout <NUM>"]}
    assert query_of(links.ip("10.0.0.1")) == {**base, "levels": ERROR_LEVELS, "ip": ["10.0.0.1"]}
    # A service's errors: that service only (it is one of the filter's), error levels.
    assert query_of(links.service("api")) == {
        "start": ["2024-03-02T10:30"],
        "end": ["2024-03-03T09:00"],
        "levels": ERROR_LEVELS,
        "service": ["api"],
    }
    assert query_of(links.level("WARN")) == {**base, "level": ["WARN"]}
    # "(other)" is many values: no link.
    assert links.error_type(OTHER) == links.ip(OTHER) == links.service(OTHER) == ""
    # An error type without text: "(none)" would also match lines without a type.
    assert query_of(links.error_type("(none)"))["levels"] == ERROR_LEVELS


def test_a_day_bar_is_cut_to_the_dashboards_range_and_an_hour_bar_is_its_hour():
    from datetime import timedelta

    filters = Filters(
        start=datetime(2024, 3, 2, 10, 30, tzinfo=UTC), end=datetime(2024, 3, 2, 18, tzinfo=UTC)
    )
    links = drilldown.Links(analysis_id=7, filters=filters)
    day = query_of(links.bucket("ERROR", "2024-03-02", timedelta(days=1)))
    assert day["from"] == ["2024-03-02T10:00:00.000000"] and day["to"] == ["2024-03-02T18:59:59.999999"]
    assert day["level"] == ["ERROR"] and "start" not in day
    hour = query_of(links.bucket("WARN", "2024-03-02T14:00", timedelta(hours=1)))
    assert hour["from"] == ["2024-03-02T14:00:00.000000"] and hour["to"] == ["2024-03-02T14:59:59.999999"]
    trend = query_of(drilldown.Links(analysis_id=7, filters=Filters()).trend("2024-03-02T14:30:00", 900))
    assert trend == {
        "from": ["2024-03-02T14:30:00.000000"],
        "to": ["2024-03-02T14:44:59.999999"],
        "levels": ["ERROR", "CRITICAL"],
    }


def test_errors_per_ip_and_service_have_no_link_when_the_levels_filter_holds_no_error_level():
    links = drilldown.Links(analysis_id=7, filters=Filters(levels=["WARN"]))
    assert links.ip("10.0.0.1") == links.service("api") == ""
    assert query_of(links.ip("10.0.0.1")) == {}
    both = drilldown.Links(analysis_id=7, filters=Filters(levels=["WARN", "CRITICAL"]))
    assert query_of(both.ip("10.0.0.1"))["levels"] == ["CRITICAL"]


DATA = {
    "over_time": {"WARN": {"2024-01-01T00:00": 3}, "ERROR": {"2024-01-01T00:00": 5, "2024-01-01T01:00": 1}},
    "over_time_unit": "hour",
    "errors_by_type": [{"error_type": "b <x>", "count": 7}, {"error_type": "a", "count": 2}],
    "errors_per_ip": [{"ip": "10.0.0.1", "count": 4}],
    "errors_per_service": [{"service": "api", "count": 6}],
    "levels": {"DEBUG": 0, "INFO": 10, "WARN": 3, "ERROR": 6, "CRITICAL": 0},
}


def test_every_chart_point_carries_its_lines_url_in_plotly_valid_figures():
    data = drilldown.dashboard_links(analysis_id=7, filters=Filters(), data=DATA)
    figures = {name: json.loads(text) for name, text in charts.all_charts(data).items()}
    for name, fig in figures.items():
        go.Figure(fig)  # Plotly's validators accept the links
        links = fig["layout"]["meta"]["links"]
        assert [len(urls) for urls in links] == [len(t.get("x") or t.get("values")) for t in fig["data"]], (
            name
        )
    types = figures["top_error_types"]["layout"]["meta"]["links"][0]
    assert [query_of(u)["error_type"] for u in types] == [["b <x>"], ["a"]]  # the bars' order
    over_time = figures["errors_over_time"]
    for trace, urls in zip(over_time["data"], over_time["layout"]["meta"]["links"], strict=True):
        for x, url in zip(trace["x"], urls, strict=True):
            assert query_of(url)["level"] == [trace["name"]] and query_of(url)["from"][0].startswith(x)
    pie = figures["severity"]
    assert [query_of(u)["level"] for u in pie["layout"]["meta"]["links"][0]] == [
        ["INFO"],
        ["WARN"],
        ["ERROR"],
    ]


def test_figures_without_lines_have_no_links():
    for name, text in charts.all_charts(DATA).items():
        assert "links" not in (json.loads(text)["layout"].get("meta") or {}), name


def test_an_analysis_without_stored_lines_shows_no_browse_link_nor_drill_down(
    client_for, alice, team_a, bob, tmp_path
):
    analysis = store_result(make_analysis(team_a, alice, tmp_path), make_events(50, seed=3))
    body = client_for(bob).get(f"/analyses/{analysis.pk}/").content.decode()
    assert 'id="metrics"' in body
    assert 'id="browse-lines"' not in body and "lines-link" not in body and '"links"' not in body


# --------------------------------------------------------------------------- real analysis


@pytest.mark.spark
@pytest.mark.usefixtures("unthrottled")
def test_every_count_on_the_page_lists_exactly_its_lines(client_for, bob, generated_analysis):
    g = generated_analysis
    client = client_for(bob)
    response = client.get(f"/analyses/{g.analysis.pk}/")
    assert response.status_code == 200
    body = response.content.decode()

    browse = re.search(r'<a href="([^"]*)" id="browse-lines"', body)
    assert browse and html.unescape(browse.group(1)) == f"/analyses/{g.analysis.pk}/lines/"

    # Error types: the count, the lines behind the link, and the plain-Python truth agree.
    rows = table_links(body, "t-error-types")
    assert len(rows) >= 10
    for cells, url, count in rows:
        found = lines_of(client, url)
        truth = [x for x in g.expected if x.error_type == cells[1]]
        assert len(found) == count == len(truth), cells
        assert {line["error_type"] for line in found} == {cells[1]}
    assert check_row_links(client, body, "t-services", 0, "service", levels=ERROR_LEVELS) >= 5
    assert check_row_links(client, body, "t-ips", 0, "ip", levels=ERROR_LEVELS) >= 10
    assert check_row_links(client, body, "t-levels", 0, "level") == len(
        {x.level for x in g.expected} - {None}
    )
    trends = table_links(body, "t-trends")
    assert trends and sum(n for _, _, n in trends) == sum(
        x.level in ERROR_LEVELS and x.ts is not None for x in g.expected
    )
    for cells, url, count in trends:
        found = lines_of(client, url)
        assert len(found) == count and {line["level"] for line in found} <= set(ERROR_LEVELS), cells
        window = query_of(url)
        low, high = (window[k][0].replace("T", " ")[:19] for k in ("from", "to"))
        assert all(low <= line["ts"] <= high for line in found), cells

    # A top message is searched for: its error lines, at least as many as counted.
    for cells, url, count in table_links(body, "t-top-errors")[:5]:
        found = lines_of(client, url)
        assert len(found) >= count and all(cells[0].lower() in line["message"].lower() for line in found)

    # The charts: each bar and slice links to as many lines as it draws, the
    # ranked bars to the same lines as their table rows.
    over_time = figure(body, "errors_over_time")
    bars = [
        (trace["name"], x, y, url)
        for trace, urls in zip(over_time["data"], over_time["layout"]["meta"]["links"], strict=True)
        for x, y, url in zip(trace["x"], trace["y"], urls, strict=True)
    ]
    assert len(bars) >= 20
    for level, x, y, url in bars[:: max(1, len(bars) // 15)]:
        found = lines_of(client, url)
        assert len(found) == y and {line["level"] for line in found} == {level}, (level, x)
        assert all(line["ts"].startswith(x.replace("T", " ")[:13]) for line in found), (level, x)
    for chart, table in (
        ("top_error_types", "t-error-types"),
        ("errors_per_ip", "t-ips"),
        ("errors_per_service", "t-services"),
    ):
        links = figure(body, chart)["layout"]["meta"]["links"][0]
        assert links == [url for _, url, _ in table_links(body, table)][: len(links)], chart
    pie = figure(body, "severity")
    slices = zip(
        pie["data"][0]["labels"], pie["data"][0]["values"], pie["layout"]["meta"]["links"][0], strict=True
    )
    by_level = {cells[0]: (url, n) for cells, url, n in table_links(body, "t-levels")}
    for level, value, url in slices:
        assert by_level[level] == (url, value) and query_of(url) == {"level": [level]}


@pytest.mark.spark
@pytest.mark.usefixtures("unthrottled")
def test_the_dashboards_filters_carry_over_into_every_link(client_for, bob, charlie, generated_analysis):
    g = generated_analysis
    client = client_for(bob)
    start, end = datetime(2024, 3, 2, 10, tzinfo=UTC), datetime(2024, 3, 4, 11, tzinfo=UTC)
    in_range = [x for x in g.expected if x.ts and start <= x.ts < end and x.level in ("WARN", "ERROR")]
    busiest = Counter(x.service for x in in_range if x.service).most_common(4)
    services = sorted(name for name, _ in busiest)
    query = {
        "start": "2024-03-02T10:00",
        "end": "2024-03-04T10:00",
        "levels": ["WARN", "ERROR"],
        "services": services,
    }
    body = client.get(f"/analyses/{g.analysis.pk}/", query).content.decode()
    assert 'id="filter-note"' in body

    browse = html.unescape(re.search(r'<a href="([^"]*)" id="browse-lines"', body).group(1))
    assert query_of(browse) == {
        **{k: [v] for k, v in query.items() if isinstance(v, str)},
        "levels": ["WARN", "ERROR"],
        "services": services,
    }
    counted = [x for x in in_range if x.service in services]
    assert len(lines_of(client, browse)) == len(counted) > 20

    types = table_links(body, "t-error-types")
    assert types
    for cells, url, count in types:
        assert query_of(url)["start"] == ["2024-03-02T10:00"] and query_of(url)["services"] == services
        found = lines_of(client, url)
        assert len(found) == count == sum(x.error_type == cells[1] and x.level == "ERROR" for x in counted), (
            cells
        )
    check_row_links(client, body, "t-ips", 0, "ip", levels=["ERROR"])
    check_row_links(client, body, "t-services", 0, "service", levels=["ERROR"])
    levels = table_links(body, "t-levels")
    assert [(cells[0], n) for cells, _, n in levels if n] == [
        (lv, sum(x.level == lv for x in counted)) for lv in ("WARN", "ERROR")
    ]
    assert check_row_links(client, body, "t-levels", 0, "level") == 2
    over_time = figure(body, "errors_over_time")
    for trace, urls in zip(over_time["data"], over_time["layout"]["meta"]["links"], strict=True):
        for y, url in list(zip(trace["y"], urls, strict=True))[:4]:
            assert query_of(url)["services"] == services
            assert len(lines_of(client, url)) == y

    # Another team's reader follows a link: 404, as every Lines URL.
    assert client_for(charlie).get(types[0][1]).status_code == 404
