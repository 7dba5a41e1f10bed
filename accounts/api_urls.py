"""accounts' part of /api/v1/: sign-in for scripts, who am I, teams, tokens, members,
invitations. Included with analyses' part under the `api` namespace (logplatform.urls)."""

from __future__ import annotations

from django.urls import path

from accounts import api, members_api
from logplatform.api.routing import operations  # also registers the `objid` converter

urlpatterns = [
    path("auth/token/", api.TokenObtainApi.as_view(), name="auth-token"),
    path("me/", api.MeApi.as_view(), name="me"),
    path("teams/", api.TeamListApi.as_view(), name="teams"),
    path("tokens/", operations(get=api.TokenListApi, post=api.TokenCreateApi), name="tokens"),
    path("tokens/<objid:token_id>/", operations(delete=api.TokenRevokeApi), name="token"),
    path("teams/<objid:team_id>/members/", members_api.TeamMemberListApi.as_view(), name="team-members"),
    path(
        "teams/<objid:team_id>/members/<objid:membership_id>/",
        operations(patch=members_api.TeamMemberRoleApi, delete=members_api.TeamMemberRemoveApi),
        name="team-member",
    ),
    path("teams/<objid:team_id>/leave/", members_api.TeamLeaveApi.as_view(), name="team-leave"),
    path(
        "teams/<objid:team_id>/invitations/",
        operations(get=members_api.TeamInvitationListApi, post=members_api.TeamInvitationCreateApi),
        name="team-invitations",
    ),
    path(
        "teams/<objid:team_id>/invitations/<objid:invitation_id>/",
        operations(delete=members_api.TeamInvitationWithdrawApi),
        name="team-invitation",
    ),
    path("invitations/", members_api.InvitationListApi.as_view(), name="invitations"),
    path(
        "invitations/<objid:invitation_id>/accept/",
        members_api.InvitationAcceptApi.as_view(),
        name="invitation-accept",
    ),
    path(
        "invitations/<objid:invitation_id>/decline/",
        members_api.InvitationDeclineApi.as_view(),
        name="invitation-decline",
    ),
]
