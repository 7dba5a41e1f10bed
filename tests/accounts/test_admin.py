"""The Django admin: site administrators see invitations and tokens, and may still put
someone in a team directly (the one consent-free path besides `bootstrap`)."""

from __future__ import annotations

import pytest

from accounts import invitations, tokens
from accounts.models import Membership, Role
from accounts.services import user_create
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(client):
    user = user_create(username="root", password=PASSWORD, is_staff=True)
    client.force_login(user)
    return client


def test_the_admin_lists_and_shows_invitations_and_tokens(root, alice, team_a):
    invitation = invitations.invitation_create(
        acting=Membership.objects.get(user=alice, team=team_a), username="zoe", role=Role.VIEWER
    )
    token, _ = tokens.api_token_create(user=alice, name="ci", scope="read", team=team_a)
    for url in (
        "/admin/accounts/invitation/",
        f"/admin/accounts/invitation/{invitation.pk}/change/",
        "/admin/accounts/apitoken/",
        f"/admin/accounts/apitoken/{token.pk}/change/",
        "/admin/accounts/membership/",
    ):
        response = root.get(url)
        assert response.status_code == 200, url
    assert "zoe" in root.get("/admin/accounts/invitation/").content.decode()


def test_a_site_administrator_adds_a_member_directly(root, charlie, team_a):
    response = root.post(
        "/admin/accounts/membership/add/", {"user": charlie.pk, "team": team_a.pk, "role": Role.MEMBER}
    )
    assert response.status_code == 302, response.content
    assert Membership.objects.get(user=charlie, team=team_a).role == Role.MEMBER
