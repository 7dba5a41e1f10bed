import pytest
from django.urls import reverse

from accounts.models import Invitation, Membership, Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_signs_in_and_out(client, alice):
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("analyses:history")).status_code == 200
    client.post(reverse("accounts:logout"))
    response = client.get(reverse("analyses:history"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_it_rejects_a_wrong_password(client, alice):
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"did not match" in response.content


def test_team_admin_invites_and_removes_a_member(client_for, alice, charlie, team_a):
    client = client_for(alice)
    response = client.post(reverse("accounts:members"), {"username": "charlie", "role": Role.VIEWER})
    assert response.status_code == 302
    invitation = Invitation.objects.get(team=team_a, username="charlie")
    client_for(charlie).post(reverse("accounts:invitation_accept", args=[invitation.pk]))
    membership = Membership.objects.get(user=charlie, team=team_a)
    assert membership.role == Role.VIEWER
    client_for(alice).post(reverse("accounts:member_remove", args=[membership.pk]))
    assert not Membership.objects.filter(user=charlie, team=team_a).exists()


def test_a_member_cannot_change_members(client_for, bob, victor, team_a):
    response = client_for(bob).post(reverse("accounts:members"), {"username": "victor", "role": Role.OWNER})
    assert response.status_code == 403
    assert Membership.objects.get(user=victor, team=team_a).role == Role.VIEWER
    assert not Invitation.objects.exists()


def test_an_owner_cannot_remove_themselves_but_may_leave_another_owner_behind(client_for, alice, bob, team_a):
    own = Membership.objects.get(user=alice, team=team_a)
    client = client_for(alice)
    response = client.post(reverse("accounts:member_remove", args=[own.pk]), follow=True)
    assert b"Leave team" in response.content
    assert Membership.objects.filter(pk=own.pk).exists()
    Membership.objects.filter(user=bob, team=team_a).update(role=Role.OWNER)
    assert client.post(reverse("accounts:team_leave")).status_code == 302
    assert not Membership.objects.filter(pk=own.pk).exists()


def test_team_switcher_changes_the_current_team(client_for, alice, team_a, team_b):
    from accounts.services import membership_create

    membership_create(team=team_b, user=alice, role=Role.MEMBER)
    client = client_for(alice)
    assert client.get(reverse("analyses:history")).context["current_team"] == team_a
    client.post(reverse("accounts:team_switch"), {"team_id": team_b.pk})
    assert client.get(reverse("analyses:history")).context["current_team"] == team_b


def test_switching_to_a_foreign_team_is_404(client_for, alice, team_b):
    response = client_for(alice).post(reverse("accounts:team_switch"), {"team_id": team_b.pk})
    assert response.status_code == 404
