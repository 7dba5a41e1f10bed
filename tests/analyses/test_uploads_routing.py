"""Which team an upload goes to is never guessed (issue 18, hole 2).

A team admin could add anyone to their team; an upload without a named team went to
the user's first team by name, so "Acme" (sorted first) captured the scripted uploads
of a user it had added. Now: one team is used; several need `team` (API) or the team
the upload page showed (pages), and the page says which team that is.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.middleware import SESSION_KEY
from accounts.models import Membership, Role, Team
from analyses.models import AlertRule, Analysis
from analyses.uploads import incoming_dir
from tests.analyses.helpers import upload

pytestmark = pytest.mark.django_db

CSV = "timestamp,log_level,message\n2024-01-01 00:00:00,ERROR,boom\n"


def leftovers() -> list:
    return list(incoming_dir().glob("*.part"))


@pytest.fixture
def acme(db) -> Team:
    # Sorts before "Team A": the team that captured uploads by being first by name.
    return Team.objects.create(name="Acme", slug="acme")


@pytest.fixture
def zoe_in_two_teams(alice, team_a, acme):
    """alice, added to "Acme" by its admin without asking her."""
    Membership.objects.create(team=acme, user=alice, role=Role.MEMBER)
    return alice


# --------------------------------------------------------------------------- API


def test_it_refuses_an_api_upload_without_team_when_the_user_has_two(api, zoe_in_two_teams):
    response = api(zoe_in_two_teams).post(
        "/api/v1/analyses/", {"files": [upload("a.csv", CSV)]}, format="multipart"
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "team_required"
    assert error["details"]["teams"] == ["acme", "team-a"]
    assert "acme" in error["message"] and "team-a" in error["message"] and "`team`" in error["message"]
    assert not Analysis.objects.exists() and leftovers() == []


def test_it_uploads_to_the_named_team_of_a_user_in_two(api, zoe_in_two_teams, team_a):
    response = api(zoe_in_two_teams).post(
        "/api/v1/analyses/", {"files": [upload("a.csv", CSV)], "team": "team-a"}, format="multipart"
    )
    assert response.status_code == 202, response.content
    assert Analysis.objects.get().team == team_a


def test_it_uploads_to_the_only_team_without_team(api, bob, team_a):
    response = api(bob).post("/api/v1/analyses/", {"files": [upload("a.csv", CSV)]}, format="multipart")
    assert response.status_code == 202, response.content
    assert Analysis.objects.get().team == team_a


def test_it_refuses_an_alert_rule_without_team_when_the_user_has_two(api, alice, team_a, acme):
    Membership.objects.create(team=acme, user=alice, role=Role.ADMIN)
    before = AlertRule.objects.count()
    response = api(alice).post(
        "/api/v1/alert-rules/", {"kind": "error_count", "threshold": 5, "severity": "warning"}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "team_required"
    assert AlertRule.objects.count() == before


def test_lists_without_team_still_cover_every_team(api, zoe_in_two_teams):
    assert api(zoe_in_two_teams).get("/api/v1/analyses/").status_code == 200


# --------------------------------------------------------------------------- page


def test_the_upload_page_says_which_team_the_upload_goes_to(client_for, zoe_in_two_teams, team_a, acme):
    client = client_for(zoe_in_two_teams)
    session = client.session
    session[SESSION_KEY] = team_a.pk
    session.save()
    page = client.get(reverse("analyses:upload")).content.decode()
    assert 'id="upload-team"' in page and "Uploading to <strong>Team A</strong>" in page
    assert f'name="team" value="{team_a.pk}"' in page
    # The switcher is on the page, beside what it changes.
    section = page.split('id="upload-team"', 1)[1].split("</section>", 1)[0]
    assert reverse("accounts:team_switch") in section


def test_a_page_upload_goes_to_the_team_the_page_showed(client_for, zoe_in_two_teams, acme):
    client = client_for(zoe_in_two_teams)
    session = client.session
    session[SESSION_KEY] = acme.pk
    session.save()
    response = client.post(
        reverse("analyses:upload"),
        {"files": [upload("a.csv", CSV)], "team": str(acme.pk)},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 202, response.content
    assert Analysis.objects.get().team == acme


def test_a_page_upload_is_refused_when_the_team_was_switched_in_another_tab(
    client_for, zoe_in_two_teams, team_a, acme
):
    client = client_for(zoe_in_two_teams)
    session = client.session
    session[SESSION_KEY] = acme.pk  # switched in another tab after the page showed Team A
    session.save()
    response = client.post(
        reverse("analyses:upload"),
        {"files": [upload("a.csv", CSV)], "team": str(team_a.pk)},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "team_changed"
    assert (
        "Team A" in error["message"] and "Acme" in error["message"] and "reload" in error["message"].lower()
    )
    assert not Analysis.objects.exists() and leftovers() == []


def test_a_page_upload_without_team_is_refused_when_the_user_has_two(client_for, zoe_in_two_teams):
    response = client_for(zoe_in_two_teams).post(
        reverse("analyses:upload"), {"files": [upload("a.csv", CSV)]}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "team_required"
    assert not Analysis.objects.exists() and leftovers() == []


def test_a_page_upload_for_a_team_one_is_not_in_is_refused(client_for, bob, team_b):
    response = client_for(bob).post(
        reverse("analyses:upload"),
        {"files": [upload("a.csv", CSV)], "team": str(team_b.pk)},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 409, response.content
    assert "Team B" not in response.json()["error"]["message"]  # another team's name stays hidden
    assert not Analysis.objects.exists()
