"""The Lines pages: /analyses/<id>/lines/ (filters, pages, export links),
…/lines/context/ (a line among its neighbours) and …/lines/export/, on a real
analysis of generated files (tests.analyses.lines_helpers)."""

from __future__ import annotations

import csv
import html
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.analyses.helpers import make_analysis, store_result
from tests.analyses.lines_helpers import MARKUP, reference
from tests.logdata import make_events, render_csv

pytestmark = [pytest.mark.spark, pytest.mark.usefixtures("fast_passwords")]

CONTEXT_LINK = re.compile(r'href="(/analyses/\d+/lines/context/\?file=(\d+)&amp;line=(\d+))#line-\d+"')


def page_url(analysis_id: int, tail: str = "") -> str:
    return f"/analyses/{analysis_id}/lines/{tail}"


def shown(body: str) -> list[tuple[int, int]]:
    """(file id, line) of the rows of a lines page, in order."""
    return [(int(f), int(n)) for _, f, n in CONTEXT_LINK.findall(body)]


def link(body: str, element_id: str) -> str | None:
    found = re.search(rf'<a href="([^"]*)" id="{element_id}"', body)
    return html.unescape(found.group(1)) if found else None


def test_the_page_lists_the_newest_lines_with_every_column(client_for, bob, generated_analysis):
    g = generated_analysis
    response = client_for(bob).get(page_url(g.analysis.pk))
    assert response.status_code == 200
    body = response.content.decode()
    expected = reference(g.expected, {}, g.positions, g.ids)
    assert shown(body) == expected[:100]
    for header in ("Time (UTC)", "Level", "Service", "IP", "Error type", "File", "Line", "Message"):
        assert f"<th>{header}</th>" in body


def test_log_text_is_escaped(client_for, bob, generated_analysis):
    body = client_for(bob).get(page_url(generated_analysis.analysis.pk), {"q": "script"}).content.decode()
    assert MARKUP not in body
    assert html.escape(MARKUP, quote=False) in body or html.escape(MARKUP) in body


def test_the_analysis_pages_filters_carry_over(client_for, bob, generated_analysis):
    """start/end/levels/services as the analysis page sends them: whole hours."""
    g = generated_analysis
    query = {
        "start": "2024-03-02T10:00",
        "end": "2024-03-03T10:00",
        "levels": ["ERROR", "WARN"],
        "limit": "500",
    }
    body = client_for(bob).get(page_url(g.analysis.pk), query).content.decode()
    expected = reference(
        g.expected,
        {"from": "2024-03-02T10:00:00", "to": "2024-03-03T10:59:59.999999", "level": ["ERROR", "WARN"]},
        g.positions,
        g.ids,
    )
    assert expected and shown(body) == expected
    # The form shows them under its own names, for the next search.
    assert 'name="from" value="2024-03-02T10:00:00"' in body
    assert 'name="to" value="2024-03-03T10:59:59"' in body
    assert re.search(r'value="ERROR" checked', body) and re.search(r'value="WARN" checked', body)


def test_next_and_previous_pages_walk_the_same_lines(client_for, bob, generated_analysis):
    g = generated_analysis
    client = client_for(bob)
    query = {"order": "oldest", "limit": "50", "q": "o"}
    expected = reference(g.expected, query, g.positions, g.ids)
    assert len(expected) > 100
    first = client.get(page_url(g.analysis.pk), query).content.decode()
    second_url = link(first, "next-page")
    assert link(first, "previous-page") is None and second_url
    second = client.get(page_url(g.analysis.pk) + second_url).content.decode()
    third = client.get(page_url(g.analysis.pk) + link(second, "next-page")).content.decode()
    assert shown(first) + shown(second) + shown(third) == expected[:150]
    assert "Page 3" in third
    back = client.get(page_url(g.analysis.pk) + link(third, "previous-page")).content.decode()
    assert shown(back) == shown(second)
    back = client.get(page_url(g.analysis.pk) + link(back, "previous-page")).content.decode()
    assert shown(back) == shown(first)


def test_a_lines_context_page_shows_it_among_its_neighbours(client_for, bob, generated_analysis):
    g = generated_analysis
    client = client_for(bob)
    first = client.get(page_url(g.analysis.pk), {"level": "ERROR"}).content.decode()
    url, file_id, line = CONTEXT_LINK.findall(first)[0]
    response = client.get(html.unescape(url))
    assert response.status_code == 200
    body = response.content.decode()
    current = re.findall(r'<tr id="line-(\d+)" class="[^"]*current"', body)
    assert current == [line]
    name = next(n for n, pk in g.ids.items() if pk == int(file_id))
    numbers = [int(n) for n in re.findall(r'<tr id="line-(\d+)"', body)]
    have = {x.line for x in g.expected if x.file == name}
    assert numbers == [n for n in range(int(line) - 20, int(line) + 21) if n in have]


def test_the_export_links_carry_the_filters(client_for, bob, generated_analysis):
    g = generated_analysis
    client = client_for(bob)
    query = {"level": "INFO", "q": "cache", "order": "oldest"}
    body = client.get(page_url(g.analysis.pk), {**query, "limit": "50"}).content.decode()
    href = link(body, "export-csv")
    assert href and "limit" not in parse_qs(urlsplit(href).query)
    response = client.get(href)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(int(r["file_id"]), int(r["line"])) for r in rows] == reference(
        g.expected, query, g.positions, g.ids
    )
    jsonl = client.get(link(body, "export-jsonl"))
    assert jsonl["Content-Type"] == "application/x-ndjson"
    assert len(b"".join(jsonl.streaming_content).splitlines()) == len(rows)


def test_a_bad_filter_is_shown_on_the_page(client_for, bob, generated_analysis):
    response = client_for(bob).get(page_url(generated_analysis.analysis.pk), {"q": "(a+)+", "regex": "on"})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-field="q"' in body and "exponential time" in body
    assert 'name="q" value="(a+)+"' in body  # what was typed stays in the form


def test_another_teams_lines_pages_are_404(client_for, charlie, generated_analysis):
    client = client_for(charlie)
    for tail in ("", "context/?file=1&line=2", "export/?format=csv"):
        assert client.get(page_url(generated_analysis.analysis.pk, tail)).status_code == 404


def test_the_pages_need_a_sign_in(client, generated_analysis):
    for tail in ("", "context/?file=1&line=2", "export/"):
        response = client.get(page_url(generated_analysis.analysis.pk, tail))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_analysis_from_before_stored_lines_says_to_rerun_it(client_for, bob, team_a, alice, tmp_path):
    events = make_events(20, seed=6)
    old = store_result(make_analysis(team_a, alice, tmp_path, text=render_csv(events)), events)
    response = client_for(bob).get(page_url(old.pk))
    assert response.status_code == 409
    assert "made before lines were stored; re-run it to browse its lines" in response.content.decode()
