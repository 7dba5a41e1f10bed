"""Members, invitations and roles through the API (the same rules as the members page)."""

from __future__ import annotations

import pytest

from accounts.models import Membership, Role

pytestmark = pytest.mark.django_db


def role_of(user, team) -> str | None:
    membership = Membership.objects.filter(user=user, team=team).first()
    return membership.role if membership else None


def member_id(user, team) -> int:
    return Membership.objects.get(user=user, team=team).pk


def invite(client, team, username: str, role: str = Role.MEMBER):
    return client.post(
        f"/api/v1/teams/{team.pk}/invitations/", {"username": username, "role": role}, format="json"
    )


def test_an_invitation_adds_nobody_until_accepted(api, adam, charlie, team_a):
    response = invite(api(adam), team_a, "charlie", Role.VIEWER)
    assert response.status_code == 201, response.content
    assert role_of(charlie, team_a) is None

    mine = api(charlie).get("/api/v1/invitations/").json()
    assert [(i["team"]["slug"], i["role"], i["invited_by"]) for i in mine] == [("team-a", "viewer", "adam")]
    accepted = api(charlie).post(f"/api/v1/invitations/{mine[0]['id']}/accept/")
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["team"]["slug"] == "team-a" and accepted.json()["role"] == "viewer"
    assert role_of(charlie, team_a) == Role.VIEWER
    assert api(charlie).get("/api/v1/invitations/").json() == []


def test_an_invitee_declines(api, alice, charlie, team_a):
    invite(api(alice), team_a, "charlie")
    invitation = api(charlie).get("/api/v1/invitations/").json()[0]
    assert api(charlie).post(f"/api/v1/invitations/{invitation['id']}/decline/").status_code == 204
    assert role_of(charlie, team_a) is None
    assert api(charlie).post(f"/api/v1/invitations/{invitation['id']}/accept/").status_code == 404


def test_the_answer_is_the_same_whether_or_not_the_username_exists(api, alice, charlie, team_a):
    client = api(alice)
    known, unknown = invite(client, team_a, "charlie"), invite(client, team_a, "zz-nobody")

    def shape(response) -> tuple:
        body = dict(response.json())
        for key in ("id", "created_at", "expires_at", "username"):
            body.pop(key)
        return response.status_code, body

    assert shape(known) == shape(unknown)
    assert known.json()["username"] == "charlie" and unknown.json()["username"] == "zz-nobody"
    listed = client.get(f"/api/v1/teams/{team_a.pk}/invitations/").json()
    assert sorted(i["username"] for i in listed) == ["charlie", "zz-nobody"]


def test_inviting_twice_renews_the_one_invitation(api, alice, charlie, team_a):
    first = invite(api(alice), team_a, "charlie", Role.VIEWER).json()
    second = invite(api(alice), team_a, "charlie", Role.MEMBER).json()
    assert first["id"] == second["id"]
    assert [i["role"] for i in api(charlie).get("/api/v1/invitations/").json()] == ["member"]


def test_inviting_a_member_says_so(api, alice, bob, team_a):
    response = invite(api(alice), team_a, "bob")
    assert response.status_code == 400
    assert "already a member" in response.json()["error"]["message"]


def test_only_owners_invite_owners(api, adam, alice, charlie, team_a):
    response = invite(api(adam), team_a, "charlie", Role.OWNER)
    assert response.status_code == 403
    assert "Only owners" in response.json()["error"]["message"]
    assert invite(api(alice), team_a, "charlie", Role.OWNER).status_code == 201


def test_members_and_viewers_cannot_invite_or_list_invitations(api, bob, victor, team_a):
    for user in (bob, victor):
        assert invite(api(user), team_a, "someone").status_code == 403
        assert api(user).get(f"/api/v1/teams/{team_a.pk}/invitations/").status_code == 403


def test_another_users_invitation_is_404(api, alice, bob, charlie, team_a):
    invite(api(alice), team_a, "charlie")
    invitation = api(charlie).get("/api/v1/invitations/").json()[0]
    assert api(bob).post(f"/api/v1/invitations/{invitation['id']}/accept/").status_code == 404
    assert api(bob).post(f"/api/v1/invitations/{invitation['id']}/decline/").status_code == 404
    assert role_of(bob, team_a) == Role.MEMBER and role_of(charlie, team_a) is None


def test_an_admin_withdraws_an_invitation(api, adam, charlie, team_a):
    created = invite(api(adam), team_a, "charlie").json()
    assert api(adam).delete(f"/api/v1/teams/{team_a.pk}/invitations/{created['id']}/").status_code == 204
    assert api(charlie).get("/api/v1/invitations/").json() == []


def test_another_teams_invitations_are_404(api, alice, charlie, team_a, team_b):
    created = invite(api(alice), team_a, "bob-not-yet").json()
    assert api(charlie).get(f"/api/v1/teams/{team_a.pk}/invitations/").status_code == 404
    assert api(charlie).delete(f"/api/v1/teams/{team_a.pk}/invitations/{created['id']}/").status_code == 404
    assert api(charlie).delete(f"/api/v1/teams/{team_b.pk}/invitations/{created['id']}/").status_code == 404


def test_the_members_list(api, alice, adam, bob, victor, charlie, team_a):
    listed = api(victor).get(f"/api/v1/teams/{team_a.pk}/members/").json()
    assert [(m["username"], m["role"]) for m in listed] == [
        ("adam", "admin"),
        ("alice", "owner"),
        ("bob", "member"),
        ("victor", "viewer"),
    ]
    assert api(charlie).get(f"/api/v1/teams/{team_a.pk}/members/").status_code == 404


def test_a_member_leaves(api, bob, team_a):
    assert api(bob).post(f"/api/v1/teams/{team_a.pk}/leave/").status_code == 204
    assert role_of(bob, team_a) is None


def test_the_last_owner_cannot_leave(api, alice, team_a):
    response = api(alice).post(f"/api/v1/teams/{team_a.pk}/leave/")
    assert response.status_code == 400
    assert "make someone else owner first" in response.json()["error"]["message"]
    assert role_of(alice, team_a) == Role.OWNER


def change(client, team, membership_id: int, role: str):
    return client.patch(f"/api/v1/teams/{team.pk}/members/{membership_id}/", {"role": role}, format="json")


def test_an_admin_cannot_take_or_touch_the_owner_role(api, adam, alice, bob, team_a):
    client = api(adam)
    assert change(client, team_a, member_id(adam, team_a), Role.OWNER).status_code == 403
    assert change(client, team_a, member_id(bob, team_a), Role.OWNER).status_code == 403
    assert change(client, team_a, member_id(alice, team_a), Role.ADMIN).status_code == 403
    response = client.delete(f"/api/v1/teams/{team_a.pk}/members/{member_id(alice, team_a)}/")
    assert response.status_code == 403
    assert "Only owners" in response.json()["error"]["message"]
    assert (role_of(adam, team_a), role_of(alice, team_a), role_of(bob, team_a)) == (
        "admin",
        "owner",
        "member",
    )


def test_an_admin_manages_non_owners(api, adam, bob, victor, team_a):
    client = api(adam)
    response = change(client, team_a, member_id(victor, team_a), Role.ADMIN)
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "admin"
    assert client.delete(f"/api/v1/teams/{team_a.pk}/members/{member_id(bob, team_a)}/").status_code == 204
    assert role_of(victor, team_a) == Role.ADMIN and role_of(bob, team_a) is None


def test_nobody_raises_their_own_role(api, bob, team_a):
    response = change(api(bob), team_a, member_id(bob, team_a), Role.ADMIN)
    assert response.status_code == 403
    assert role_of(bob, team_a) == Role.MEMBER


def test_the_last_owner_keeps_the_role(api, alice, team_a):
    response = change(api(alice), team_a, member_id(alice, team_a), Role.MEMBER)
    assert response.status_code == 400
    assert "make someone else owner first" in response.json()["error"]["message"]


def test_an_owner_hands_over_the_team(api, alice, bob, team_a):
    client = api(alice)
    assert change(client, team_a, member_id(bob, team_a), Role.OWNER).status_code == 200
    assert change(client, team_a, member_id(alice, team_a), Role.MEMBER).status_code == 200
    assert (role_of(alice, team_a), role_of(bob, team_a)) == ("member", "owner")


def test_an_unknown_role_is_400(api, alice, bob, team_a):
    response = change(api(alice), team_a, member_id(bob, team_a), "god")
    assert response.status_code == 400
    assert "role" in response.json()["error"]["details"]


def test_removing_yourself_points_to_leave(api, adam, team_a):
    response = api(adam).delete(f"/api/v1/teams/{team_a.pk}/members/{member_id(adam, team_a)}/")
    assert response.status_code == 400
    assert "leave" in response.json()["error"]["message"]
