"""GET /api/v1/analyses/{id}/patterns/ on result documents written by the tests
(tests.analyses.patterns_helpers): the items, what is new and grown against the
previous analysis of the same name or a chosen one, filters, pages, and the errors.
A real analysis's patterns: test_patterns_real.py."""

from __future__ import annotations

import pytest

from accounts.models import Membership, Role
from analyses.models import Analysis, Status
from tests.analyses.helpers import make_analysis
from tests.analyses.patterns_helpers import analysis_with_patterns, item, pattern_id

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

BASE = [item("Accepted password for <*> from <*>", 600), item("Session closed for <*>", 300)]


def url(analysis: Analysis, query: str = "") -> str:
    return f"/api/v1/analyses/{analysis.pk}/patterns/{query}"


@pytest.fixture
def pair(team_a, alice, tmp_path):
    """The same system analysed twice; the second has a new error pattern and one that grew."""
    first = analysis_with_patterns(
        team_a, alice, tmp_path, [*BASE, item("Disk <*> almost full", 10, errors=0)], total_logs=1000
    )
    second = analysis_with_patterns(
        team_a,
        alice,
        tmp_path,
        [
            *BASE,
            item("Disk <*> almost full", 60),
            item("Failed password for <*> from <*> port <*>", 40, errors=40, example="<script>x</script>"),
        ],
        total_logs=1000,
    )
    return first, second


def test_it_lists_patterns_most_lines_first_with_the_contract_fields(api, alice, pair):
    first, second = pair
    response = api(alice).get(url(second))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == body["total"] == body["listed"] == 4
    assert [p["count"] for p in body["results"]] == [600, 300, 60, 40]
    failed = body["results"][3]
    assert failed["id"] == pattern_id("Failed password for <*> from <*> port <*>")
    assert failed["errors"] == 40 and failed["levels"] == {"ERROR": 40}
    assert failed["example"] == "<script>x</script>"  # JSON: the client escapes
    assert failed["share"] == pytest.approx(0.04)
    assert len(failed["sparkline"]) == body["sparkline"]["buckets"] == 24
    assert failed["first_ts"].startswith("2024-03-01T00:00:00")
    assert failed["lines_url"] is None  # no stored lines
    assert body["compared_with"]["id"] == first.pk and body["compared_with"]["chosen"] is False
    assert body["comparison_note"] is None


def test_it_marks_new_and_grown_against_the_previous_analysis_of_the_same_name(api, alice, pair):
    first, second = pair
    body = api(alice).get(url(second)).json()
    marks = {p["template"]: (p["new"], p["grown"], p["previous_count"]) for p in body["results"]}
    assert marks == {
        "Accepted password for <*> from <*>": (False, False, 600),
        "Session closed for <*>": (False, False, 300),
        "Disk <*> almost full": (False, True, 10),  # 1 % -> 6 %
        "Failed password for <*> from <*> port <*>": (True, False, None),
    }
    assert (body["new_count"], body["grown_count"]) == (1, 1)


def test_new_and_grown_filters_and_text(api, alice, pair):
    _, second = pair
    client = api(alice)

    def templates(query: str) -> list[str]:
        response = client.get(url(second, query))
        assert response.status_code == 200, response.content
        return [p["template"] for p in response.json()["results"]]

    assert templates("?new=1") == ["Failed password for <*> from <*> port <*>"]
    assert templates("?grown=true") == ["Disk <*> almost full"]
    assert templates("?new=1&grown=1") == [
        "Disk <*> almost full",
        "Failed password for <*> from <*> port <*>",
    ]
    assert templates("?q=PASSWORD") == [
        "Accepted password for <*> from <*>",
        "Failed password for <*> from <*> port <*>",
    ]
    assert templates("?q=password&new=1") == ["Failed password for <*> from <*> port <*>"]
    assert templates("?q=nothing") == []


def test_it_pages_like_the_other_lists(api, alice, pair):
    _, second = pair
    body = api(alice).get(url(second, "?page_size=3")).json()
    assert body["count"] == 4 and len(body["results"]) == 3 and body["previous"] is None
    after = api(alice).get(body["next"]).json()
    assert [p["count"] for p in after["results"]] == [40]
    assert after["next"] is None


def test_compare_picks_another_analysis_of_the_team(api, alice, team_a, tmp_path, pair):
    first, second = pair
    other = analysis_with_patterns(
        team_a, alice, tmp_path, [item("Kernel panic <*>", 5, errors=5)], name="other"
    )
    body = api(alice).get(url(second, f"?compare={other.pk}")).json()
    assert body["compared_with"]["id"] == other.pk and body["compared_with"]["chosen"] is True
    assert body["new_count"] == 4  # nothing of `second` is in `other`
    # And the other way round: a later analysis may be picked too.
    back = api(alice).get(url(first, f"?compare={second.pk}")).json()
    assert back["new_count"] == 0
    assert back["compared_with"]["id"] == second.pk


def test_the_previous_analysis_is_the_latest_succeeded_one_of_the_same_name_before_this_one(
    api, alice, team_a, tmp_path
):
    older = analysis_with_patterns(team_a, alice, tmp_path, [item("A <*>", 10)])
    latest = analysis_with_patterns(team_a, alice, tmp_path, [item("A <*>", 10), item("B <*>", 10)])
    # Neither another name nor a failed analysis of the same name counts.
    analysis_with_patterns(team_a, alice, tmp_path, [item("Z <*>", 10)], name="another.csv")
    failed = make_analysis(team_a, alice, tmp_path, name="x.csv")
    Analysis.objects.filter(pk=failed.pk).update(status=Status.FAILED, name="web.csv")
    current = analysis_with_patterns(team_a, alice, tmp_path, [item("A <*>", 10), item("B <*>", 10)])
    # A later one of the same name is not "previous".
    analysis_with_patterns(team_a, alice, tmp_path, [item("C <*>", 10)])
    body = api(alice).get(url(current)).json()
    assert body["compared_with"]["id"] == latest.pk != older.pk
    assert body["new_count"] == 0
    assert api(alice).get(url(older)).json()["compared_with"] is None


def test_a_first_analysis_marks_nothing_and_says_why(api, alice, team_a, tmp_path):
    only = analysis_with_patterns(team_a, alice, tmp_path, [item("A <*>", 10, errors=2)])
    body = api(alice).get(url(only)).json()
    assert body["compared_with"] is None
    assert "No earlier succeeded analysis" in body["comparison_note"]
    assert [(p["new"], p["grown"], p["previous_count"]) for p in body["results"]] == [(False, False, None)]


def test_a_previous_analysis_without_patterns_marks_nothing_and_says_why(api, alice, team_a, tmp_path):
    old = analysis_with_patterns(team_a, alice, tmp_path, None)
    now = analysis_with_patterns(team_a, alice, tmp_path, [item("A <*>", 10, errors=2)])
    body = api(alice).get(url(now)).json()
    assert body["compared_with"]["id"] == old.pk
    assert "re-run" in body["comparison_note"]
    assert body["new_count"] == 0 and not body["results"][0]["new"]


def test_an_analysis_without_patterns_is_409_no_patterns(api, alice, team_a, tmp_path):
    old = analysis_with_patterns(team_a, alice, tmp_path, None)
    response = api(alice).get(url(old))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_patterns"
    assert "re-run" in response.json()["error"]["message"]


def test_an_analysis_not_succeeded_is_409_not_ready(api, alice, team_a, tmp_path):
    queued = make_analysis(team_a, alice, tmp_path)
    response = api(alice).get(url(queued))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_ready"


def test_lines_url_filters_the_lines_api_by_pattern_when_lines_are_stored(api, alice, team_a, tmp_path):
    stored = analysis_with_patterns(team_a, alice, tmp_path, [item("A <*>", 10)], lines=True)
    (row,) = api(alice).get(url(stored)).json()["results"]
    assert row["lines_url"] == f"http://testserver/api/v1/analyses/{stored.pk}/lines/?pattern={row['id']}"


def test_another_teams_analysis_is_404(api, charlie, pair):
    _, second = pair
    response = api(charlie).get(url(second))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_compare_with_another_teams_analysis_is_404(api, alice, charlie, team_b, tmp_path, pair):
    _, second = pair
    theirs = analysis_with_patterns(team_b, charlie, tmp_path, [item("A <*>", 10)])
    response = api(alice).get(url(second, f"?compare={theirs.pk}"))
    assert response.status_code == 404
    # Exactly as an id that does not exist.
    assert api(alice).get(url(second, "?compare=999999")).json() == response.json()


def test_compare_with_an_analysis_of_another_of_my_teams_is_400(api, alice, charlie, team_b, tmp_path, pair):
    _, second = pair
    Membership.objects.create(user=alice, team=team_b, role=Role.MEMBER)
    mine_elsewhere = analysis_with_patterns(team_b, charlie, tmp_path, [item("A <*>", 10)])
    response = api(alice).get(url(second, f"?compare={mine_elsewhere.pk}"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_compare"
    assert "Team A" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?compare=abc", "compare"),
        ("?compare=0", "compare"),
        ("?new=maybe", "new"),
        ("?page_size=0", "page_size"),
    ],
)
def test_bad_query_parameters_are_400_naming_the_parameter(api, alice, pair, query, field):
    _, second = pair
    response = api(alice).get(url(second, query))
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_compare_with_itself_or_an_unfinished_analysis_is_400(api, alice, team_a, tmp_path, pair):
    _, second = pair
    queued = make_analysis(team_a, alice, tmp_path)
    for other in (second, queued):
        response = api(alice).get(url(second, f"?compare={other.pk}"))
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "invalid_compare"


def test_a_viewer_reads_patterns(api, victor, pair):
    _, second = pair
    assert api(victor).get(url(second)).status_code == 200


def test_it_requires_credentials(api, pair):
    _, second = pair
    assert api().get(url(second)).status_code == 401


def test_the_schema_describes_the_operation(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/analyses/{analysis_id}/patterns/"]["get"]
    assert operation["operationId"] == "analyses_patterns"
    names = {p["name"] for p in operation["parameters"]}
    assert {"analysis_id", "compare", "new", "grown", "q", "page", "page_size"} <= names
    assert {"200", "400", "401", "404", "409"} <= set(operation["responses"])
    page = schema["components"]["schemas"]["PatternPage"]["properties"]
    assert {"results", "compared_with", "comparison_note", "new_count", "grown_count"} <= set(page)
    pattern = schema["components"]["schemas"]["Pattern"]["properties"]
    assert {"id", "template", "new", "grown", "previous_count", "lines_url", "sparkline"} <= set(pattern)
