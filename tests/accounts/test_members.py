"""Team membership on the pages: invitations the invitee accepts, leaving, role changes.

Personas (tests/conftest.py): alice owns team A, adam is its admin, bob a member,
victor a viewer; charlie owns team B.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import Membership, Role

pytestmark = pytest.mark.django_db

MEMBERS = "/accounts/team/members/"


def role_of(user, team) -> str | None:
    membership = Membership.objects.filter(user=user, team=team).first()
    return membership.role if membership else None


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def member_url(user, team, action: str) -> str:
    membership = Membership.objects.get(user=user, team=team)
    return f"/accounts/team/members/{membership.pk}/{action}/"


# --------------------------------------------------------------------------- consent


def test_an_admin_cannot_add_someone_without_their_consent(client_for, adam, charlie, team_a):
    client = client_for(adam)
    response = client.post(MEMBERS, {"username": "charlie", "role": Role.VIEWER}, follow=True)
    assert response.status_code == 200
    # Nothing changes for charlie until charlie says yes.
    assert role_of(charlie, team_a) is None

    invitations = client_for(charlie).get("/accounts/invitations/")
    assert invitations.status_code == 200
    page = invitations.content.decode()
    assert "Team A" in page and "Viewer" in page
    invitation_id = re.search(r"/accounts/invitations/(\d+)/accept/", page).group(1)
    client_for(charlie).post(f"/accounts/invitations/{invitation_id}/accept/")
    assert role_of(charlie, team_a) == Role.VIEWER


def test_a_declined_invitation_adds_nobody(client_for, alice, charlie, team_a):
    client_for(alice).post(MEMBERS, {"username": "charlie", "role": Role.MEMBER})
    page = client_for(charlie).get("/accounts/invitations/").content.decode()
    invitation_id = re.search(r"/accounts/invitations/(\d+)/decline/", page).group(1)
    response = client_for(charlie).post(f"/accounts/invitations/{invitation_id}/decline/")
    assert response.status_code == 302
    assert role_of(charlie, team_a) is None
    # Declined: it cannot be accepted afterwards.
    client_for(charlie).post(f"/accounts/invitations/{invitation_id}/accept/")
    assert role_of(charlie, team_a) is None


def test_inviting_does_not_tell_whether_a_username_exists(client_for, alice):
    client = client_for(alice)
    answers = []
    for username in ("charlie-who-exists", "nobody-by-that-name"):
        if username == "charlie-who-exists":
            from accounts.services import user_create

            user_create(username=username, password="x-long-enough-password")
        response = client.post(MEMBERS, {"username": username, "role": Role.MEMBER}, follow=True)
        answers.append((response.status_code, [m.replace(username, "NAME") for m in messages_of(response)]))
    assert answers[0] == answers[1]
    assert answers[0][0] == 200
    assert answers[0][1] == ["If an account called NAME exists, it has an invitation to Team A now."]
    # Both show as pending invitations, alike.
    page = client.get(MEMBERS).content.decode()
    assert "charlie-who-exists" in page and "nobody-by-that-name" in page


def test_another_users_invitation_is_404(client_for, alice, bob, charlie, team_a):
    client_for(alice).post(MEMBERS, {"username": "charlie", "role": Role.MEMBER})
    page = client_for(charlie).get("/accounts/invitations/").content.decode()
    invitation_id = re.search(r"/accounts/invitations/(\d+)/accept/", page).group(1)
    assert client_for(bob).post(f"/accounts/invitations/{invitation_id}/accept/").status_code == 404
    assert client_for(bob).post(f"/accounts/invitations/{invitation_id}/decline/").status_code == 404
    assert role_of(charlie, team_a) is None


def test_the_nav_counts_pending_invitations(client_for, alice, charlie):
    client_for(alice).post(MEMBERS, {"username": "charlie", "role": Role.MEMBER})
    page = client_for(charlie).get(reverse("analyses:history")).content.decode()
    assert re.search(r'href="/accounts/invitations/"[^>]*>Invitations <span[^>]*>1</span>', page)


def test_only_owners_invite_owners(client_for, adam, charlie, team_a):
    response = client_for(adam).post(MEMBERS, {"username": "charlie", "role": Role.OWNER})
    assert response.status_code == 403
    assert b"Only owners" in response.content
    assert not client_for(charlie).get("/accounts/invitations/").context["invitations"]


def test_an_admin_withdraws_a_pending_invitation(client_for, adam, charlie):
    client_for(adam).post(MEMBERS, {"username": "charlie", "role": Role.MEMBER})
    page = client_for(adam).get(MEMBERS).content.decode()
    invitation_id = re.search(r"/accounts/team/invitations/(\d+)/withdraw/", page).group(1)
    client_for(adam).post(f"/accounts/team/invitations/{invitation_id}/withdraw/")
    assert not client_for(charlie).get("/accounts/invitations/").context["invitations"]


def test_a_member_cannot_invite_or_withdraw(client_for, alice, bob, charlie):
    response = client_for(bob).post(MEMBERS, {"username": "charlie", "role": Role.MEMBER})
    assert response.status_code == 403
    assert not client_for(charlie).get("/accounts/invitations/").context["invitations"]


# --------------------------------------------------------------------------- leaving


def test_a_member_leaves_a_team(client_for, bob, team_a):
    response = client_for(bob).post("/accounts/team/leave/")
    assert response.status_code == 302
    assert role_of(bob, team_a) is None


def test_leaving_the_last_team_lands_on_the_invitations_page(client_for, bob):
    response = client_for(bob).post("/accounts/team/leave/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("accounts:invitations")


def test_the_last_owner_cannot_leave(client_for, alice, team_a):
    response = client_for(alice).post("/accounts/team/leave/", follow=True)
    assert role_of(alice, team_a) == Role.OWNER
    assert any("make someone else owner first" in m for m in messages_of(response))


# --------------------------------------------------------------------------- roles


def test_an_admin_cannot_make_themselves_owner(client_for, adam, team_a):
    client = client_for(adam)
    # Through "add" (how it was done before roles had their own action)...
    client.post(MEMBERS, {"username": "adam", "role": Role.OWNER})
    assert role_of(adam, team_a) == Role.ADMIN
    # ...and through the role action.
    response = client.post(member_url(adam, team_a, "role"), {"role": Role.OWNER})
    assert response.status_code == 403
    assert role_of(adam, team_a) == Role.ADMIN


def test_an_admin_cannot_demote_or_remove_the_owner(client_for, adam, alice, team_a):
    client = client_for(adam)
    client.post(MEMBERS, {"username": "alice", "role": Role.MEMBER})
    client.post(MEMBERS, {"remove": Membership.objects.get(user=alice, team=team_a).pk})
    assert role_of(alice, team_a) == Role.OWNER
    assert client.post(member_url(alice, team_a, "role"), {"role": Role.MEMBER}).status_code == 403
    assert client.post(member_url(alice, team_a, "remove")).status_code == 403
    assert role_of(alice, team_a) == Role.OWNER


def test_an_admin_changes_and_removes_non_owners(client_for, adam, bob, victor, team_a):
    client = client_for(adam)
    assert client.post(member_url(victor, team_a, "role"), {"role": Role.MEMBER}).status_code == 302
    assert role_of(victor, team_a) == Role.MEMBER
    assert client.post(member_url(bob, team_a, "role"), {"role": Role.ADMIN}).status_code == 302
    assert role_of(bob, team_a) == Role.ADMIN
    assert client.post(member_url(bob, team_a, "remove")).status_code == 302
    assert role_of(bob, team_a) is None


def test_a_member_cannot_change_roles(client_for, bob, victor, team_a):
    client = client_for(bob)
    assert client.post(member_url(victor, team_a, "role"), {"role": Role.MEMBER}).status_code == 403
    assert client.post(member_url(bob, team_a, "role"), {"role": Role.ADMIN}).status_code == 403
    assert client.post(member_url(victor, team_a, "remove")).status_code == 403
    assert (role_of(bob, team_a), role_of(victor, team_a)) == (Role.MEMBER, Role.VIEWER)


def test_an_owner_grants_and_revokes_the_owner_role(client_for, alice, adam, team_a):
    client = client_for(alice)
    assert client.post(member_url(adam, team_a, "role"), {"role": Role.OWNER}).status_code == 302
    assert role_of(adam, team_a) == Role.OWNER
    assert client.post(member_url(adam, team_a, "role"), {"role": Role.MEMBER}).status_code == 302
    assert role_of(adam, team_a) == Role.MEMBER


def test_a_team_always_keeps_an_owner(client_for, alice, team_a):
    client = client_for(alice)
    # Before: "add" yourself with another role demoted the last owner.
    client.post(MEMBERS, {"username": "alice", "role": Role.MEMBER})
    assert role_of(alice, team_a) == Role.OWNER
    response = client.post(member_url(alice, team_a, "role"), {"role": Role.ADMIN}, follow=True)
    assert any("make someone else owner first" in m for m in messages_of(response))
    assert role_of(alice, team_a) == Role.OWNER


def test_an_owner_steps_down_when_another_owner_exists(client_for, alice, adam, team_a):
    Membership.objects.filter(user=adam, team=team_a).update(role=Role.OWNER)
    client = client_for(alice)
    assert client.post(member_url(alice, team_a, "role"), {"role": Role.ADMIN}).status_code == 302
    assert role_of(alice, team_a) == Role.ADMIN
    # ...and, now an admin, cannot take it back.
    assert client.post(member_url(alice, team_a, "role"), {"role": Role.OWNER}).status_code == 403


def test_an_unknown_role_is_refused_with_a_message(client_for, alice, bob, team_a):
    response = client_for(alice).post(member_url(bob, team_a, "role"), {"role": "god"}, follow=True)
    assert any("Choose one of" in m for m in messages_of(response))
    assert role_of(bob, team_a) == Role.MEMBER


def test_another_teams_membership_is_404(client_for, alice, charlie, team_b):
    client = client_for(alice)
    assert client.post(member_url(charlie, team_b, "role"), {"role": Role.VIEWER}).status_code == 404
    assert client.post(member_url(charlie, team_b, "remove")).status_code == 404
    assert role_of(charlie, team_b) == Role.OWNER


def test_the_members_page_shows_each_persona_its_actions(client_for, alice, adam, bob, victor, team_a):
    def actions(user) -> dict[str, set[str]]:
        """username -> the actions offered on that member's row."""
        html = client_for(user).get(MEMBERS).content.decode()
        rows = re.findall(r'<tr data-member="([^"]+)">(.*?)</tr>', html, re.S)
        return {
            name: set(re.findall(r'data-action="([^"]+)"', row))
            | {f"role:{r}" for r in re.findall(r'<option value="(\w+)"', row)}
            for name, row in rows
        }

    owner = actions(alice)
    assert owner["adam"] == {"role", "remove", "role:owner", "role:admin", "role:member", "role:viewer"}
    assert owner["alice"] == {"role", "leave", "role:owner", "role:admin", "role:member", "role:viewer"}
    admin = actions(adam)
    assert admin["alice"] == set()  # an admin does not touch an owner
    assert admin["bob"] == {"role", "remove", "role:admin", "role:member", "role:viewer"}
    assert admin["adam"] == {"role", "leave", "role:admin", "role:member", "role:viewer"}
    member = actions(bob)
    assert member["bob"] == {"leave"}
    assert all(not a for name, a in member.items() if name != "bob")
    assert actions(victor)["victor"] == {"leave"}
