"""Alerts (list with filters, acknowledge) and alert rules (the rule form's rules, as JSON)."""

from __future__ import annotations

import pytest

from analyses.models import Alert, AlertKind, AlertRule, Severity
from tests.analyses.helpers import make_analysis

pytestmark = pytest.mark.django_db


def fire(analysis, severity: str, *, acknowledged: bool = False) -> Alert:
    from django.utils import timezone

    return Alert.objects.create(
        team=analysis.team,
        analysis=analysis,
        kind=AlertKind.ERROR_COUNT,
        value=120,
        threshold=100,
        severity=severity,
        message=f"120 errors, above 100 in analysis #{analysis.pk}",
        acknowledged_at=timezone.now() if acknowledged else None,
    )


@pytest.fixture
def alerts(team_a, team_b, alice, charlie, tmp_path):
    first = make_analysis(team_a, alice, tmp_path, name="one.csv")
    second = make_analysis(team_a, alice, tmp_path, name="two.csv")
    theirs = make_analysis(team_b, charlie, tmp_path, name="theirs.csv")
    return {
        "open_warning": fire(first, Severity.WARNING),
        "acked_critical": fire(first, Severity.CRITICAL, acknowledged=True),
        "second_critical": fire(second, Severity.CRITICAL),
        "theirs": fire(theirs, Severity.CRITICAL),
        "first": first,
    }


def listed(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [a["id"] for a in response.json()["results"]]


def test_alerts_list_your_teams_and_filter(api, victor, alerts):
    client = api(victor)
    every = [alerts["second_critical"].pk, alerts["acked_critical"].pk, alerts["open_warning"].pk]
    assert listed(client.get("/api/v1/alerts/")) == every
    assert listed(client.get("/api/v1/alerts/", {"status": "open"})) == [
        alerts["second_critical"].pk,
        alerts["open_warning"].pk,
    ]
    assert listed(client.get("/api/v1/alerts/", {"status": "acknowledged"})) == [alerts["acked_critical"].pk]
    assert listed(client.get("/api/v1/alerts/", {"severity": "critical"})) == every[:2]
    assert listed(client.get("/api/v1/alerts/", {"analysis": alerts["first"].pk, "status": "open"})) == [
        alerts["open_warning"].pk
    ]
    item = client.get("/api/v1/alerts/", {"status": "acknowledged"}).json()["results"][0]
    assert item["acknowledged"] is True and item["team"] == "team-a" and item["analysis_name"] == "one.csv"


def test_naming_another_teams_analysis_in_the_filter_is_404(api, victor, alerts):
    theirs = alerts["theirs"].analysis_id
    assert api(victor).get("/api/v1/alerts/", {"analysis": theirs}).status_code == 404


@pytest.mark.parametrize("query", [{"status": "closed"}, {"severity": "loud"}, {"analysis": "x"}])
def test_bad_alert_filters_are_400(api, victor, query):
    response = api(victor).get("/api/v1/alerts/", query)
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == set(query)


def test_acknowledging_is_recorded_once(api, bob, alice, alerts):
    alert = alerts["open_warning"]
    first = api(bob).post(f"/api/v1/alerts/{alert.pk}/acknowledge/")
    assert first.status_code == 200
    assert first.json()["acknowledged"] is True and first.json()["acknowledged_by"] == "bob"
    at = first.json()["acknowledged_at"]
    again = api(alice).post(f"/api/v1/alerts/{alert.pk}/acknowledge/").json()
    assert again["acknowledged_at"] == at and again["acknowledged_by"] == "bob"


# --------------------------------------------------------------------------- rules


def test_rules_list_your_teams_rules(api, victor, team_a, team_b):
    body = api(victor).get("/api/v1/alert-rules/").json()
    assert body["count"] == AlertRule.objects.filter(team=team_a).count() == 3
    assert {r["team"] for r in body["results"]} == {"team-a"}


def test_an_admin_creates_a_rule(api, alice, team_a):
    data = {
        "team": "team-a",
        "kind": "error_rate",
        "threshold": 0.25,
        "min_rows": 10,
        "severity": "critical",
        "emails": ["ops@example.com", " oncall@example.com "],
        "webhook_url": "https://hooks.example.com/logplatform",
    }
    response = api(alice).post("/api/v1/alert-rules/", data, format="json")
    assert response.status_code == 201, response.content
    rule = AlertRule.objects.get(pk=response.json()["id"])
    assert rule.team == team_a and rule.threshold == 0.25 and rule.min_rows == 10
    assert rule.email_list == ["ops@example.com", "oncall@example.com"]
    assert response.json()["emails"] == ["ops@example.com", "oncall@example.com"]
    assert response.json()["enabled"] is True and response.json()["cooldown_minutes"] == 60


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({"kind": "error_rate", "threshold": 10}, "threshold", "fraction between 0 and 1"),
        ({"kind": "error_count", "threshold": -1}, "threshold", "greater than or equal to 0"),
        ({"kind": "error_count", "threshold": "NaN"}, "threshold", "valid number"),
        ({"kind": "error_count", "threshold": True}, "threshold", "valid number"),
        ({"kind": "error_count", "threshold": "5"}, "threshold", "valid number"),
        ({"kind": "error_count", "threshold": 1, "enabled": 0}, "enabled", "valid boolean"),
        ({"kind": "error_count", "threshold": 1, "team": ["team-a"]}, "team", "slug or an id"),
        (
            {"kind": "error_count", "threshold": 1, "emails": ["not-an-address"]},
            "emails",
            "not an e-mail address",
        ),
        (
            {"kind": "error_count", "threshold": 1, "webhook_url": "ftp://x.example.com/"},
            "webhook_url",
            "http(s)",
        ),
        (
            {"kind": "error_count", "threshold": 1, "severity": "apocalyptic"},
            "severity",
            "not a valid choice",
        ),
        ({"threshold": 1}, "kind", "required"),
    ],
)
def test_rule_input_follows_the_rule_forms_rules(api, alice, data, field, text):
    before = AlertRule.objects.count()
    response = api(alice).post("/api/v1/alert-rules/", data, format="json")
    assert response.status_code == 400, response.content
    assert text in str(response.json()["error"]["details"][field])
    assert AlertRule.objects.count() == before


def test_a_partial_update_checks_the_threshold_against_the_stored_kind(api, alice, team_a):
    rate = AlertRule.objects.get(team=team_a, kind=AlertKind.ERROR_RATE)
    count = AlertRule.objects.get(team=team_a, kind=AlertKind.ERROR_COUNT)
    client = api(alice)
    assert client.patch(f"/api/v1/alert-rules/{rate.pk}/", {"threshold": 5}, format="json").status_code == 400
    assert (
        client.patch(f"/api/v1/alert-rules/{count.pk}/", {"kind": "error_rate"}, format="json").status_code
        == 400
    )
    ok = client.patch(f"/api/v1/alert-rules/{rate.pk}/", {"threshold": 0.05, "enabled": False}, format="json")
    assert ok.status_code == 200
    rate.refresh_from_db()
    assert rate.threshold == 0.05 and rate.enabled is False and rate.severity == Severity.WARNING


def test_deleting_a_rule_keeps_its_alerts(api, alice, team_a, tmp_path):
    rule = AlertRule.objects.filter(team=team_a).first()
    alert = fire(make_analysis(team_a, alice, tmp_path), Severity.WARNING)
    Alert.objects.filter(pk=alert.pk).update(rule=rule)
    assert api(alice).delete(f"/api/v1/alert-rules/{rule.pk}/").status_code == 204
    assert not AlertRule.objects.filter(pk=rule.pk).exists()
    alert.refresh_from_db()
    assert alert.rule_id is None


# --------------------------------------------------------------------------- channels (issue 18)


def _with_channels(team) -> AlertRule:
    rule = AlertRule.objects.filter(team=team).order_by("pk").first()
    rule.emails = "ops@example.com"
    rule.webhook_url = "https://hooks.example.com/secret-token"
    rule.save()
    return rule


@pytest.mark.parametrize("persona", ["bob", "victor"])
def test_members_and_viewers_do_not_see_channel_settings(api, request, team_a, persona):
    rule = _with_channels(team_a)
    client = api(request.getfixturevalue(persona))
    listed = client.get("/api/v1/alert-rules/")
    one = client.get(f"/api/v1/alert-rules/{rule.pk}/")
    assert listed.status_code == one.status_code == 200
    for item in [*listed.json()["results"], one.json()]:
        assert "webhook_url" not in item and "emails" not in item
    for response in (listed, one):
        assert b"secret-token" not in response.content and b"ops@example.com" not in response.content


def test_owners_and_admins_see_channel_settings(api, alice, team_a):
    rule = _with_channels(team_a)
    one = api(alice).get(f"/api/v1/alert-rules/{rule.pk}/").json()
    assert one["emails"] == ["ops@example.com"]
    assert one["webhook_url"] == "https://hooks.example.com/secret-token"
    listed = api(alice).get("/api/v1/alert-rules/").json()["results"]
    assert all("webhook_url" in item and "emails" in item for item in listed)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/",
        "http://localhost:15002/",
        "http://[::1]/x",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0:8080/",
    ],
)
def test_a_webhook_to_an_internal_address_is_refused_at_save(api, alice, team_a, url):
    before = AlertRule.objects.count()
    data = {"team": "team-a", "kind": "error_count", "threshold": 1, "webhook_url": url}
    response = api(alice).post("/api/v1/alert-rules/", data, format="json")
    assert response.status_code == 400, response.content
    assert "not allowed" in str(response.json()["error"]["details"]["webhook_url"])
    rule = AlertRule.objects.filter(team=team_a).first()
    patched = api(alice).patch(f"/api/v1/alert-rules/{rule.pk}/", {"webhook_url": url}, format="json")
    assert patched.status_code == 400
    assert AlertRule.objects.count() == before


def test_a_team_has_at_most_the_configured_number_of_rules(api, alice, team_a, settings):
    from tests.analyses.alerting_helpers import alerts_override

    alerts_override(settings, max_rules_per_team=4)  # the team starts with the 3 default rules
    data = {"team": "team-a", "kind": "error_count", "threshold": 1}
    assert api(alice).post("/api/v1/alert-rules/", data, format="json").status_code == 201
    refused = api(alice).post("/api/v1/alert-rules/", data, format="json")
    assert refused.status_code == 400, refused.content
    assert "at most 4 alert rules" in refused.json()["error"]["message"]
    assert AlertRule.objects.filter(team=team_a).count() == 4


def test_a_rule_has_at_most_the_configured_number_of_recipients(api, alice, team_a, settings):
    from tests.analyses.alerting_helpers import alerts_override

    alerts_override(settings, max_recipients_per_rule=2)
    three = [f"ops{i}@example.com" for i in range(3)]
    data = {"team": "team-a", "kind": "error_count", "threshold": 1, "emails": three}
    refused = api(alice).post("/api/v1/alert-rules/", data, format="json")
    assert refused.status_code == 400, refused.content
    assert "at most 2 e-mail recipients" in str(refused.json()["error"]["details"]["emails"])
    rule = AlertRule.objects.filter(team=team_a).first()
    patched = api(alice).patch(f"/api/v1/alert-rules/{rule.pk}/", {"emails": three}, format="json")
    assert patched.status_code == 400
    rule.refresh_from_db()
    assert rule.emails == ""
    ok = api(alice).patch(f"/api/v1/alert-rules/{rule.pk}/", {"emails": three[:2]}, format="json")
    assert ok.status_code == 200 and ok.json()["emails"] == three[:2]
