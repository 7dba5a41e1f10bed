"""The alert and rule pages: channel settings only for owners and admins, the rule
form's caps and address check, generic delivery errors, a safe acknowledge redirect
(issue 18, holes 4, 6 and 8)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from analyses import tasks
from analyses.models import Alert, AlertKind, AlertRule, Delivery, Severity
from tests.analyses.alerting_helpers import alerts_override, form_data
from tests.analyses.helpers import make_analysis
from tests.conftest import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(team_a, alice, tmp_path) -> Alert:
    return Alert.objects.create(
        team=team_a,
        analysis=make_analysis(team_a, alice, tmp_path),
        kind=AlertKind.ERROR_COUNT,
        value=120,
        threshold=100,
        severity=Severity.WARNING,
        message="120 errors, above 100",
    )


@pytest.mark.parametrize("persona", ["bob", "victor"])
def test_members_and_viewers_do_not_see_channel_settings_on_the_rules_page(
    client_for, request, team_a, alice, persona
):
    rule = team_a.alert_rules.order_by("pk").first()
    rule.emails = "ops@example.com"
    rule.webhook_url = "https://hooks.example.com/secret-token"
    rule.save()
    html = client_for(request.getfixturevalue(persona)).get(reverse("analyses:rules")).content.decode()
    assert "ops@example.com" not in html and "secret-token" not in html
    assert 'id="deliveries"' not in html


def test_owners_see_channel_settings_on_the_rules_page(client_for, team_a, alice):
    rule = team_a.alert_rules.order_by("pk").first()
    rule.emails = "ops@example.com"
    rule.save()
    html = client_for(alice).get(reverse("analyses:rules")).content.decode()
    assert "ops@example.com" in html


def test_the_rules_page_shows_generic_delivery_errors(client_for, alice, alert, allow_loopback, settings):
    alerts_override(settings, webhook_max_attempts=1, webhook_timeout_seconds=1)
    closed = Delivery.objects.create(
        alert=alert, channel=Delivery.Channel.WEBHOOK, target=f"http://127.0.0.1:{free_port()}/hook"
    )
    tasks.deliver_notification(closed.pk)
    html = client_for(alice).get(reverse("analyses:rules")).content.decode()
    assert "could not deliver: the receiver refused, was unreachable or did not answer in time" in html
    assert "Errno" not in html and "ConnectionRefused" not in html and "URLError" not in html


def test_the_rule_form_refuses_an_internal_webhook(client_for, alice, team_a):
    before = AlertRule.objects.count()
    response = client_for(alice).post(
        reverse("analyses:rule_new"), form_data(webhook_url="http://127.0.0.1:5432/")
    )
    assert response.status_code == 200
    assert "not allowed" in response.content.decode()
    assert AlertRule.objects.count() == before


def test_the_rule_form_enforces_the_caps(client_for, alice, team_a, settings):
    alerts_override(settings, max_rules_per_team=4, max_recipients_per_rule=2)
    client = client_for(alice)
    three = "a@example.com, b@example.com, c@example.com"
    too_many = client.post(reverse("analyses:rule_new"), form_data(emails=three))
    assert "at most 2 e-mail recipients" in too_many.content.decode()
    assert client.post(reverse("analyses:rule_new"), form_data()).status_code == 302
    refused = client.post(reverse("analyses:rule_new"), form_data())
    assert refused.status_code == 200
    assert "at most 4 alert rules" in refused.content.decode()
    assert AlertRule.objects.filter(team=team_a).count() == 4
    rule = AlertRule.objects.filter(team=team_a).first()
    edit = client.post(reverse("analyses:rule_edit", args=[rule.pk]), form_data(emails=three))
    assert "at most 2 e-mail recipients" in edit.content.decode()
    rule.refresh_from_db()
    assert rule.emails == ""


def test_the_rule_form_saves_a_rule(client_for, alice, team_a):
    response = client_for(alice).post(
        reverse("analyses:rule_new"),
        form_data(
            threshold="7", emails="ops@example.com\nlead@example.com", webhook_url="https://example.com/h"
        ),
    )
    assert response.status_code == 302
    rule = AlertRule.objects.get(team=team_a, threshold=7)
    assert rule.email_list == ["ops@example.com", "lead@example.com"]
    assert rule.webhook_url == "https://example.com/h"


@pytest.mark.parametrize("target", ["/\\evil.com", "https://evil.com/", "//evil.com/", "\\\\evil.com"])
def test_acknowledge_never_redirects_off_site(client_for, bob, alert, target):
    response = client_for(bob).post(reverse("analyses:alert_ack", args=[alert.pk]), {"next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("analyses:alerts")


def test_acknowledge_returns_to_a_page_of_this_site(client_for, bob, alert):
    back = reverse("analyses:alerts") + "?show=all"
    response = client_for(bob).post(reverse("analyses:alert_ack", args=[alert.pk]), {"next": back})
    assert response["Location"] == back
    alert.refresh_from_db()
    assert alert.acknowledged
