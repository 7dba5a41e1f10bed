"""The whole path on real analyses (the engine on the test Spark server, in process):
a log analysed, then analysed again with one new error event. The second
analysis's Patterns API marks exactly that event new, its count is the lines
written, its `lines_url` lists exactly those lines, the page marks it and links
to them, and
the "new error pattern" rule fires on it; a third analysis with the same content
stays quiet."""

from __future__ import annotations

import random
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from analyses.models import Alert, AlertKind, AlertRule, Analysis
from analyses.services.create import LocalFile, analysis_create
from analyses.services.execute import analysis_execute
from tests.analyses.patterns_helpers import csv_text, events

pytestmark = [pytest.mark.spark, pytest.mark.usefixtures("fast_passwords")]

NAME = "billing.csv"


def analyse(team, user, directory: Path, text: str) -> Analysis:  # noqa: ANN001
    directory.mkdir()
    (directory / NAME).write_text(text)
    analysis = analysis_create(
        team=team, user=user, files=[LocalFile(path=directory / NAME, name=NAME)], enqueue=False
    )
    assert analysis_execute(analysis_id=analysis.pk) == "succeeded"
    analysis.refresh_from_db()
    return analysis


@pytest.fixture
def runs(team_a, alice, tmp_path, spark_url):
    AlertRule.objects.filter(team=team_a).delete()
    rule = AlertRule.objects.create(
        team=team_a, kind=AlertKind.NEW_ERROR_PATTERN, threshold=1, cooldown_minutes=0
    )
    first = analyse(team_a, alice, tmp_path / "1", csv_text(events(random.Random(1), with_new=False)))
    second_text = csv_text(events(random.Random(2), with_new=True))
    second = analyse(team_a, alice, tmp_path / "2", second_text)
    third = analyse(team_a, alice, tmp_path / "3", second_text)
    return rule, first, second, third


def test_a_new_error_event_is_marked_new_counted_and_linked_to_its_lines(api, bob, client_for, runs):
    _, first, second, _ = runs
    client = api(bob)
    body = client.get(f"/api/v1/analyses/{second.pk}/patterns/?page_size=200").json()
    assert body["compared_with"]["id"] == first.pk, body
    assert sum(p["count"] for p in body["results"]) == 231
    (new,) = [p for p in body["results"] if p["new"]]
    assert "shard" in new["template"] and "unreachable" in new["template"]
    assert (new["count"], new["errors"], new["levels"]) == (11, 11, {"ERROR": 11})
    assert new["example"].startswith("Database shard ")
    assert sum(new["sparkline"]) == 11 and len(new["sparkline"]) == body["sparkline"]["buckets"]
    # The other events are the first analysis's patterns again (same templates, same ids).
    before = {p["id"] for p in client.get(f"/api/v1/analyses/{first.pk}/patterns/").json()["results"]}
    assert {p["id"] for p in body["results"] if not p["new"]} == before
    assert body["new_count"] == 1

    assert new["lines_url"].endswith(f"/api/v1/analyses/{second.pk}/lines/?pattern={new['id']}")

    # Its lines: exactly the eleven written, every one carrying the pattern.
    link = urlsplit(new["lines_url"])
    lines = client.get(f"{link.path}?{link.query}&limit=500")
    assert lines.status_code == 200, lines.content
    results = lines.json()["results"]
    assert len(results) == 11
    assert all(x["message"].startswith("Database shard ") for x in results)
    assert {(x["pattern_id"], x["pattern"]) for x in results} == {(new["id"], new["template"])}

    # The page lists it as new and links to those lines.
    html = client_for(bob).get(f"/analyses/{second.pk}/patterns/").content.decode()
    row = html.split(f'id="pattern-{new["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert 'class="badge-new"' in row
    assert f'href="/analyses/{second.pk}/lines/?pattern={new["id"]}"' in row
    assert (
        f'href="/analyses/{second.pk}/patterns/"'
        in client_for(bob).get(f"/analyses/{second.pk}/").content.decode()
    )


def test_the_new_error_pattern_rule_fires_on_the_new_event_only(runs):
    rule, first, second, third = runs
    alerts = list(Alert.objects.filter(rule=rule).order_by("pk"))
    assert [a.analysis_id for a in alerts] == [second.pk]  # not the first, not the same content again
    assert alerts[0].value == 1
    assert "shard" in alerts[0].message and f"against #{first.pk}" in alerts[0].message
    assert third.pk not in {a.analysis_id for a in alerts}
