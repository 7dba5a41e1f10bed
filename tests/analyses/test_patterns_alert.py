"""The alert kind "new error pattern": patterns with error lines absent from the
previous succeeded analysis of the same name (result documents written by the
tests; the real engine's path: test_patterns_real.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from analyses import alerting
from analyses.models import Alert, AlertKind, AlertRule, AnalysisResult, Delivery
from tests.analyses.alerting_helpers import form_data
from tests.analyses.patterns_helpers import analysis_with_patterns, item

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

BASE = [
    item("Started worker <*>", 500),
    item("Request <*> done in <*>", 400),
    item("Disk <*> slow", 5, errors=5),
]
NEW_ERROR = item("Connection refused by <*> port <*>", 7, errors=7)


@pytest.fixture(autouse=True)
def only_this_rule(team_a):
    AlertRule.objects.filter(team=team_a).delete()


def rule(team, threshold: float = 1, **extra) -> AlertRule:  # noqa: ANN001
    return AlertRule.objects.create(
        team=team, kind=AlertKind.NEW_ERROR_PATTERN, threshold=threshold, cooldown_minutes=0, **extra
    )


def evaluate(analysis) -> list[Alert]:  # noqa: ANN001
    return alerting.alerts_evaluate(
        analysis=analysis, document=AnalysisResult.objects.get(analysis=analysis).document
    )


def test_a_second_analysis_with_a_new_error_event_fires(team_a, alice, tmp_path):
    rule(team_a)
    first = analysis_with_patterns(team_a, alice, tmp_path, BASE)
    second = analysis_with_patterns(team_a, alice, tmp_path, [*BASE, NEW_ERROR])
    (alert,) = evaluate(second)
    assert alert.kind == AlertKind.NEW_ERROR_PATTERN and alert.value == 1 and alert.threshold == 1
    assert alert.message.startswith(f"1 new error pattern (threshold 1) in analysis #{second.pk} web.csv")
    assert f"against #{first.pk}: Connection refused by <*> port <*>" in alert.message


def test_the_same_content_stays_quiet(team_a, alice, tmp_path):
    rule(team_a)
    analysis_with_patterns(team_a, alice, tmp_path, BASE)
    again = analysis_with_patterns(team_a, alice, tmp_path, BASE)
    assert evaluate(again) == []


def test_a_first_analysis_of_its_name_stays_quiet(team_a, alice, tmp_path):
    # Every pattern of a first analysis is "new": that is not news.
    rule(team_a)
    analysis_with_patterns(team_a, alice, tmp_path, [NEW_ERROR], name="another-system.log")
    first = analysis_with_patterns(team_a, alice, tmp_path, [*BASE, NEW_ERROR])
    assert evaluate(first) == []


def test_a_previous_analysis_without_patterns_stays_quiet(team_a, alice, tmp_path):
    rule(team_a)
    analysis_with_patterns(team_a, alice, tmp_path, None)
    assert evaluate(analysis_with_patterns(team_a, alice, tmp_path, [*BASE, NEW_ERROR])) == []


def test_a_new_pattern_without_errors_stays_quiet(team_a, alice, tmp_path):
    rule(team_a)
    analysis_with_patterns(team_a, alice, tmp_path, BASE)
    assert (
        evaluate(analysis_with_patterns(team_a, alice, tmp_path, [*BASE, item("Cache warmed <*>", 50)])) == []
    )


def test_the_threshold_is_a_count_of_new_error_patterns(team_a, alice, tmp_path):
    rule(team_a, threshold=2)
    analysis_with_patterns(team_a, alice, tmp_path, BASE)
    assert evaluate(analysis_with_patterns(team_a, alice, tmp_path, [*BASE, NEW_ERROR])) == []
    two = [*BASE, NEW_ERROR, item("Out of memory in <*>", 1, errors=1)]
    # Compared with the previous analysis, which is now the one just above.
    analysis_with_patterns(team_a, alice, tmp_path, BASE)
    (alert,) = evaluate(analysis_with_patterns(team_a, alice, tmp_path, two))
    assert alert.value == 2
    assert "Connection refused by <*> port <*> | Out of memory in <*>" in alert.message


def test_the_message_names_the_first_three_templates_and_counts_the_rest(team_a, alice, tmp_path):
    rule(team_a)
    analysis_with_patterns(team_a, alice, tmp_path, BASE)
    news = [item(f"Failure {name} <*>", 10 - i, errors=1) for i, name in enumerate("abcde")]
    (alert,) = evaluate(analysis_with_patterns(team_a, alice, tmp_path, [*BASE, *news]))
    assert alert.message.endswith("Failure a <*> | Failure b <*> | Failure c <*> and 2 more")
    assert len(alert.message) <= 500


def test_cooldown_records_but_does_not_notify_again(
    team_a, alice, tmp_path, django_capture_on_commit_callbacks
):
    r = rule(team_a, emails="ops@example.com")
    r.cooldown_minutes = 60
    r.save(update_fields=["cooldown_minutes"])
    analysis_with_patterns(team_a, alice, tmp_path, BASE)
    second = analysis_with_patterns(team_a, alice, tmp_path, [*BASE, NEW_ERROR])
    third = analysis_with_patterns(team_a, alice, tmp_path, [*BASE, item("Segfault in <*>", 2, errors=2)])
    with django_capture_on_commit_callbacks(execute=True):
        (fired,) = evaluate(second)
        (again,) = evaluate(third)
    assert (fired.notified, again.notified) == (True, False)
    assert Delivery.objects.count() == 1


def test_the_message_is_escaped_on_the_alerts_page(client_for, bob, team_a, alice, tmp_path):
    rule(team_a)
    analysis_with_patterns(team_a, alice, tmp_path, BASE)
    hostile = item('<script>alert("x")</script> failed <*>', 3, errors=3)
    (alert,) = evaluate(analysis_with_patterns(team_a, alice, tmp_path, [*BASE, hostile]))
    assert "<script>" in alert.message
    html = client_for(bob).get(reverse("analyses:alerts") + "?show=all").content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; failed &lt;*&gt;" in html
    assert '<script>alert("x")</script>' not in html


def test_the_rule_form_and_the_api_accept_the_kind_and_refuse_a_threshold_below_one(
    client_for, api, alice, team_a
):
    page = client_for(alice).post(
        reverse("analyses:rule_new"), form_data(kind="new_error_pattern", threshold="0")
    )
    assert page.status_code == 200 and "at least 1" in page.content.decode()
    assert not AlertRule.objects.filter(team=team_a).exists()
    response = api(alice).post(
        "/api/v1/alert-rules/",
        {"team": "team-a", "kind": "new_error_pattern", "threshold": 0.5},
        format="json",
    )
    assert response.status_code == 400
    assert "at least 1" in response.json()["error"]["details"]["threshold"][0]
    response = api(alice).post(
        "/api/v1/alert-rules/", {"team": "team-a", "kind": "new_error_pattern", "threshold": 1}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "new_error_pattern"
    page = client_for(alice).post(
        reverse("analyses:rule_new"), form_data(kind="new_error_pattern", threshold="2")
    )
    assert page.status_code == 302
    assert AlertRule.objects.filter(team=team_a, kind="new_error_pattern").count() == 2
