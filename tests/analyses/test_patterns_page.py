"""The Patterns page /analyses/<id>/patterns/ on result documents written by the
tests: the table, marks, sparklines, links to the lines, escaping, the comparison
select, top 100 with "show all", and the states without patterns."""

from __future__ import annotations

import re

import pytest

from analyses.models import Analysis, Status
from tests.analyses.helpers import make_analysis
from tests.analyses.patterns_helpers import analysis_with_patterns, item, pattern_id

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

HOSTILE = '<img src=x onerror="alert(1)"> failed for <*>'


def page(analysis: Analysis, query: str = "") -> str:
    return f"/analyses/{analysis.pk}/patterns/{query}"


def rows(html: str, table: str = "t-patterns") -> list[str]:
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr class="pattern[^"]*" id="pattern-([0-9a-f]{16})"', body)


@pytest.fixture
def pair(team_a, alice, tmp_path):
    first = analysis_with_patterns(
        team_a,
        alice,
        tmp_path,
        [item("Started <*>", 900), item("Disk <*> full", 10)],
        total_logs=1000,
        lines=True,
    )
    second = analysis_with_patterns(
        team_a,
        alice,
        tmp_path,
        [
            item("Started <*>", 900),
            item("Disk <*> full", 60),
            item(HOSTILE, 40, errors=40, example='<script>alert("x")</script> failed for bob'),
        ],
        total_logs=1000,
        lines=True,
    )
    return first, second


def test_it_shows_each_pattern_with_counts_marks_sparkline_and_lines_link(client_for, bob, pair):
    first, second = pair
    response = client_for(bob).get(page(second))
    assert response.status_code == 200
    html = response.content.decode()
    hostile = pattern_id(HOSTILE)
    assert rows(html) == [pattern_id("Started <*>"), pattern_id("Disk <*> full"), hostile]
    row = html.split(f'id="pattern-{hostile}"', 1)[1].split("</tr>", 1)[0]
    assert 'class="badge-new"' in row and 'class="badge-grown"' not in row
    assert f'href="/analyses/{second.pk}/lines/?pattern={hostile}"' in row
    assert "40 lines" in row and "4.00 %" in row and "ERROR 40" in row
    assert re.search(r'class="first-seen"[^>]*>2024-03-01 00:00:00<', row)
    assert re.search(r'class="last-seen"[^>]*>2024-03-01 23:00:00<', row)
    assert re.search(
        r'<svg class="sparkline"[^>]*role="img" aria-label="Lines per 1 h from [^"]+: peak \d+, 40 in all"',
        row,
    )
    assert "<title>Lines per 1 h" in row and re.search(r'<polyline points="[\d., ]+"', row)
    disk = html.split(f'id="pattern-{pattern_id("Disk <*> full")}"', 1)[1].split("</tr>", 1)[0]
    assert 'class="badge-grown"' in disk and 'class="badge-new"' not in disk
    assert f"#{first.pk}" in html.split('id="compare-note"', 1)[1].split("</p>", 1)[0]
    assert 'id="new-count">1<' in html and 'id="grown-count">1<' in html


def test_log_text_is_escaped(client_for, bob, pair):
    _, second = pair
    html = client_for(bob).get(page(second)).content.decode()
    assert '<img src=x onerror="alert(1)">' not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; failed for &lt;*&gt;" in html
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; failed for bob" in html


def test_the_first_100_show_and_the_rest_are_one_click_away(client_for, bob, team_a, alice, tmp_path):
    many = analysis_with_patterns(
        team_a, alice, tmp_path, [item(f"event {i:03d} <*>", 1000 - i) for i in range(130)]
    )
    html = client_for(bob).get(page(many)).content.decode()
    assert len(rows(html)) == 100
    assert "Show all 130 patterns" in html
    rest = rows(html, "t-patterns-rest")
    assert len(rest) == 30 and rest[0] == pattern_id("event 100 <*>")


def test_a_small_analysis_has_no_show_all(client_for, bob, pair):
    _, second = pair
    assert "t-patterns-more" not in client_for(bob).get(page(second)).content.decode()


def test_server_side_filters_text_and_marks(client_for, bob, pair):
    _, second = pair
    client = client_for(bob)
    assert rows(client.get(page(second, "?q=DISK")).content.decode()) == [pattern_id("Disk <*> full")]
    assert rows(client.get(page(second, "?new=1")).content.decode()) == [pattern_id(HOSTILE)]
    assert rows(client.get(page(second, "?grown=1")).content.decode()) == [pattern_id("Disk <*> full")]
    html = client.get(page(second, "?q=nothing+like+it")).content.decode()
    assert rows(html) == [] and "No patterns match." in html


def test_the_compare_select_offers_the_teams_other_succeeded_analyses(
    client_for, bob, charlie, team_b, tmp_path, pair
):
    first, second = pair
    theirs = analysis_with_patterns(team_b, charlie, tmp_path, [item("A <*>", 1)], name="SECRET-B")
    html = client_for(bob).get(page(second)).content.decode()
    select = html.split('id="compare"', 1)[1].split("</select>", 1)[0]
    assert f'value="{first.pk}"' in select and f'value="{second.pk}"' not in select
    assert "SECRET-B" not in html and f'value="{theirs.pk}"' not in select


def test_compare_with_a_chosen_analysis(client_for, bob, team_a, alice, tmp_path, pair):
    first, second = pair
    other = analysis_with_patterns(team_a, alice, tmp_path, [item("Started <*>", 5)], name="other")
    html = client_for(bob).get(page(second, f"?compare={other.pk}")).content.decode()
    assert f'<option value="{other.pk}" selected>' in html
    assert 'id="new-count">2<' in html  # "Disk" and the hostile one are not in `other`


def test_compare_with_another_teams_analysis_is_404(client_for, bob, charlie, team_b, tmp_path, pair):
    _, second = pair
    theirs = analysis_with_patterns(team_b, charlie, tmp_path, [item("A <*>", 1)])
    assert client_for(bob).get(page(second, f"?compare={theirs.pk}")).status_code == 404


def test_a_bad_compare_is_400_with_a_message(client_for, bob, pair):
    _, second = pair
    response = client_for(bob).get(page(second, "?compare=abc"))
    assert response.status_code == 400
    assert "is not an analysis id" in response.content.decode()
    response = client_for(bob).get(page(second, f"?compare={second.pk}"))
    assert response.status_code == 400
    assert "Compare with another analysis" in response.content.decode()


def test_a_first_analysis_says_why_nothing_is_marked(client_for, bob, team_a, alice, tmp_path):
    only = analysis_with_patterns(team_a, alice, tmp_path, [item("A <*>", 3, errors=3)])
    html = client_for(bob).get(page(only)).content.decode()
    assert 'id="no-compare"' in html and "No earlier succeeded analysis" in html
    assert "badge-new" not in html.split('id="t-patterns"', 1)[1]


def test_a_previous_analysis_without_patterns_says_re_run(client_for, bob, team_a, alice, tmp_path):
    analysis_with_patterns(team_a, alice, tmp_path, None)
    now = analysis_with_patterns(team_a, alice, tmp_path, [item("A <*>", 3, errors=3)])
    html = client_for(bob).get(page(now)).content.decode()
    assert "made before patterns existed" in html.split('id="no-compare"', 1)[1]


def test_an_analysis_without_patterns_says_re_run_to_mine_them(client_for, bob, team_a, alice, tmp_path):
    old = analysis_with_patterns(team_a, alice, tmp_path, None)
    response = client_for(bob).get(page(old))
    assert response.status_code == 200
    html = response.content.decode()
    assert "re-run it to mine its patterns" in html and 'id="t-patterns"' not in html


def test_an_unfinished_analysis_says_so(client_for, bob, team_a, alice, tmp_path):
    queued = make_analysis(team_a, alice, tmp_path)
    Analysis.objects.filter(pk=queued.pk).update(status=Status.RUNNING)
    response = client_for(bob).get(page(queued))
    assert response.status_code == 200
    assert "its patterns exist once it succeeded" in response.content.decode()


def test_without_stored_lines_there_is_no_lines_link(client_for, bob, team_a, alice, tmp_path):
    plain = analysis_with_patterns(team_a, alice, tmp_path, [item("A <*>", 3)])
    html = client_for(bob).get(page(plain)).content.decode()
    assert "pattern-lines" not in html and "stored no lines" in html


def test_another_teams_analysis_is_404(client_for, charlie, pair):
    _, second = pair
    assert client_for(charlie).get(page(second)).status_code == 404


def test_it_requires_sign_in(client, pair):
    _, second = pair
    response = client.get(page(second))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_a_compare_older_than_the_selects_list_is_still_shown_picked(
    client_for, bob, team_a, alice, tmp_path, pair, monkeypatch
):
    first, second = pair
    monkeypatch.setattr("analyses.patterns_selectors.COMPARE_CHOICES_MAX", 1)
    analysis_with_patterns(team_a, alice, tmp_path, [item("Started <*>", 5)], name="newest")
    html = client_for(bob).get(page(second, f"?compare={first.pk}")).content.decode()
    select = html.split('id="compare"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{first.pk}" selected>' in select
