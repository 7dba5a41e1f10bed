"""API views of team membership: members and roles, leaving, invitations (both sides).

The same services and rules as the members page (accounts.services, accounts.roles,
accounts.invitations). A team in the path must be one of the caller's (else 404).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import invitations, roles, services
from accounts.models import CAN_ADMIN, Membership, Role
from accounts.selectors import membership_get, team_member_get, team_members
from logplatform.api.errors import ApiError
from logplatform.api.fields import JsonCharField

TEAM_ID = OpenApiParameter("team_id", OpenApiTypes.INT, OpenApiParameter.PATH)
MEMBERSHIP_ID = OpenApiParameter("membership_id", OpenApiTypes.INT, OpenApiParameter.PATH)
INVITATION_ID = OpenApiParameter("invitation_id", OpenApiTypes.INT, OpenApiParameter.PATH)


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The membership's id (for role changes and removal).")
    user_id = serializers.IntegerField()
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=Role.choices)
    created_at = serializers.DateTimeField(help_text="Member since.")


class InvitationTeamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()


class MyInvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    team = InvitationTeamSerializer()
    role = serializers.ChoiceField(choices=Role.choices)
    invited_by = serializers.CharField(source="invited_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class TeamInvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField(help_text="The name invited (whether or not such an account exists).")
    role = serializers.ChoiceField(choices=Role.choices)
    invited_by = serializers.CharField(source="invited_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class JoinedSerializer(serializers.Serializer):
    team = InvitationTeamSerializer()
    role = serializers.ChoiceField(choices=Role.choices)


def _acting(request: Request, team_id: int) -> Membership:
    return membership_get(user=request.user, team_id=team_id)


def _require_admin(acting: Membership, action: str) -> None:
    if acting.role not in CAN_ADMIN:
        raise ApiError(
            status_code=403,
            code="permission_denied",
            message=f"Only team owners and admins can {action}.",
            details={},
        )


# --------------------------------------------------------------------------- members


class TeamMemberListApi(APIView):
    """The members of one of your teams, with their roles."""

    error_codes = (404,)

    @extend_schema(
        operation_id="team_members_list", parameters=[TEAM_ID], responses=MemberSerializer(many=True)
    )
    def get(self, request: Request, team_id: int) -> Response:
        acting = _acting(request, team_id)
        return Response(MemberSerializer(team_members(team=acting.team), many=True).data)


class TeamMemberRoleApi(APIView):
    """Change a member's role. Only owners grant, change or revoke the owner role; admins
    manage the other roles of non-owners; nobody raises their own; a team keeps an owner."""

    error_codes = (403, 404)

    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=Role.choices)

    @extend_schema(
        operation_id="team_members_partial_update",
        parameters=[TEAM_ID, MEMBERSHIP_ID],
        request=InputSerializer,
        responses=MemberSerializer,
    )
    def patch(self, request: Request, team_id: int, membership_id: int) -> Response:
        acting = _acting(request, team_id)
        target = team_member_get(team=acting.team, membership_id=membership_id)
        # Who may touch this member at all comes before what the body asks.
        refusal = roles.role_manage_refusal(acting_role=acting.role, target_role=target.role)
        if refusal:
            refusal.raise_it()
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changed = services.membership_role_change(
            acting=acting, membership=target, role=serializer.validated_data["role"]
        )
        return Response(MemberSerializer(changed).data)


class TeamMemberRemoveApi(APIView):
    """Remove someone else from the team (owners and admins; only owners remove owners)."""

    error_codes = (400, 403, 404)

    @extend_schema(
        operation_id="team_members_destroy", parameters=[TEAM_ID, MEMBERSHIP_ID], responses={204: None}
    )
    def delete(self, request: Request, team_id: int, membership_id: int) -> Response:
        acting = _acting(request, team_id)
        target = team_member_get(team=acting.team, membership_id=membership_id)
        services.membership_remove(acting=acting, membership=target)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamLeaveApi(APIView):
    """Leave the team. The last owner cannot: make someone else owner first."""

    error_codes = (404,)

    @extend_schema(operation_id="team_leave", parameters=[TEAM_ID], request=None, responses={204: None})
    def post(self, request: Request, team_id: int) -> Response:
        services.membership_leave(membership=_acting(request, team_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------- a team's invitations


class TeamInvitationListApi(APIView):
    """The team's pending invitations (owners and admins)."""

    error_codes = (403, 404)

    @extend_schema(
        operation_id="team_invitations_list",
        parameters=[TEAM_ID],
        responses=TeamInvitationSerializer(many=True),
    )
    def get(self, request: Request, team_id: int) -> Response:
        acting = _acting(request, team_id)
        _require_admin(acting, "see the team's invitations")
        return Response(
            TeamInvitationSerializer(invitations.invitations_for_team(team=acting.team), many=True).data
        )


class TeamInvitationCreateApi(APIView):
    """Invite someone by username (owners and admins; only owners invite owners).

    The answer is the same whether or not an account of that name exists; if one
    does, it sees the invitation and may accept. Inviting again renews it.
    """

    error_codes = (403, 404)

    class InputSerializer(serializers.Serializer):
        username = JsonCharField(max_length=150)
        role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)

    @extend_schema(
        operation_id="team_invitations_create",
        parameters=[TEAM_ID],
        request=InputSerializer,
        responses={201: TeamInvitationSerializer},
    )
    def post(self, request: Request, team_id: int) -> Response:
        acting = _acting(request, team_id)
        _require_admin(acting, "invite people")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation = invitations.invitation_create(acting=acting, **serializer.validated_data)
        return Response(TeamInvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class TeamInvitationWithdrawApi(APIView):
    """Withdraw a pending invitation of the team (owners and admins)."""

    error_codes = (403, 404)

    @extend_schema(
        operation_id="team_invitations_destroy", parameters=[TEAM_ID, INVITATION_ID], responses={204: None}
    )
    def delete(self, request: Request, team_id: int, invitation_id: int) -> Response:
        invitations.invitation_withdraw(acting=_acting(request, team_id), invitation_id=invitation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------- my invitations


class InvitationListApi(APIView):
    """Invitations to teams addressed to you, pending."""

    @extend_schema(operation_id="invitations_list", responses=MyInvitationSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(
            MyInvitationSerializer(invitations.invitations_for_user(user=request.user), many=True).data
        )


class InvitationAcceptApi(APIView):
    """Accept an invitation: you join the team with the role it offers."""

    error_codes = (404,)

    @extend_schema(
        operation_id="invitations_accept",
        parameters=[INVITATION_ID],
        request=None,
        responses=JoinedSerializer,
    )
    def post(self, request: Request, invitation_id: int) -> Response:
        membership = invitations.invitation_accept(user=request.user, invitation_id=invitation_id)
        return Response(JoinedSerializer(membership).data)


class InvitationDeclineApi(APIView):
    """Decline an invitation."""

    error_codes = (404,)

    @extend_schema(
        operation_id="invitations_decline", parameters=[INVITATION_ID], request=None, responses={204: None}
    )
    def post(self, request: Request, invitation_id: int) -> Response:
        invitations.invitation_decline(user=request.user, invitation_id=invitation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
