"""API views of accounts: who am I, my teams, my API tokens, a token for a password."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import tokens
from accounts.models import ApiToken, Role, Team, TokenScope
from accounts.permissions import team_membership
from accounts.selectors import memberships_for_user
from logplatform.api.errors import ApiError
from logplatform.api.fields import JsonCharField, JsonIntegerField, TeamField
from logplatform.api.pagination import PageQuerySerializer, paginated, paginated_response

TOKEN_ID = OpenApiParameter("token_id", OpenApiTypes.INT, OpenApiParameter.PATH)


class TeamSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="team.id")
    slug = serializers.CharField(source="team.slug")
    name = serializers.CharField(source="team.name")
    role = serializers.ChoiceField(choices=Role.choices)
    can_upload = serializers.BooleanField(help_text="Upload, delete, re-run, acknowledge alerts.")
    can_admin = serializers.BooleanField(help_text="Manage members and alert rules.")


class TokenTeamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()


class TokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The start of the token (lpt_<prefix>_…), to tell tokens apart.")
    state = serializers.ChoiceField(choices=["active", "expired", "revoked"])
    scope = serializers.ChoiceField(
        choices=TokenScope.values, help_text="`read`: safe methods only (GET, HEAD, OPTIONS)."
    )
    team = TokenTeamSerializer(allow_null=True, help_text="The one team it sees; null: all of yours.")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True, help_text="To the minute.")
    revoked_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: ApiToken) -> dict[str, Any]:
        instance.state = instance.state_at(timezone.now())
        return super().to_representation(instance)


class NewTokenSerializer(TokenSerializer):
    token = serializers.CharField(help_text="The token. Shown this once: store it now.")


class TokenInputSerializer(serializers.Serializer):
    name = JsonCharField(required=False, allow_blank=True, max_length=100, help_text="What it is for.")
    expires_in_days = JsonIntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=tokens.MAX_LIFETIME_DAYS,
        help_text="Default: never (a token made with a token: no later than that token).",
    )
    scope = serializers.ChoiceField(
        required=False,
        choices=TokenScope.values,
        default=TokenScope.FULL,
        help_text="`full` (default): whatever you may do; `read`: reads only.",
    )
    team = TeamField(
        required=False, help_text="Slug or id of one of your teams: the token sees only that team."
    )


def _token_team(*, user: AbstractBaseUser, team: str | None) -> Team | None:
    """The team named for a token's restriction, one of the caller's (a 400, not a 404: it is input)."""
    if team is None:
        return None
    try:
        return team_membership(user=user, team=team).team
    except Http404 as exc:
        raise serializers.ValidationError({"team": [str(exc)]}) from None


def _token_create(*, user: AbstractBaseUser, data: dict, parent: ApiToken | None) -> tuple[ApiToken, str]:
    try:
        return tokens.api_token_create(
            user=user,
            name=data.get("name") or "",
            expires_in_days=data.get("expires_in_days"),
            scope=data.get("scope") or TokenScope.FULL,
            team=_token_team(user=user, team=data.get("team")),
            parent=parent,
        )
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict) from None


def _new_token_response(token: ApiToken, raw: str) -> Response:
    token.token = raw
    return Response(NewTokenSerializer(token).data, status=status.HTTP_201_CREATED)


class MeApi(APIView):
    """Who the credentials belong to, and their teams."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        email = serializers.CharField(allow_blank=True)
        auth = serializers.ChoiceField(
            choices=["token", "session"], help_text="How this request was authenticated."
        )
        token = serializers.DictField(
            allow_null=True, help_text="id, name, prefix, expires_at, scope, team of the token used."
        )
        teams = TeamSerializer(many=True)

    @extend_schema(operation_id="me_retrieve", responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        token = request.auth if isinstance(request.auth, ApiToken) else None
        user = request.user
        data = {
            "id": user.pk,
            "username": user.get_username(),
            "email": user.email,
            "auth": "token" if token else "session",
            "token": (
                {
                    "id": token.pk,
                    "name": token.name,
                    "prefix": token.prefix,
                    "expires_at": token.expires_at.isoformat() if token.expires_at else None,
                    "scope": token.scope,
                    "team": token.team.slug if token.team else None,
                }
                if token
                else None
            ),
            "teams": memberships_for_user(user=user),
        }
        return Response(self.OutputSerializer(data).data)


class TeamListApi(APIView):
    """Your teams and your role in each."""

    @extend_schema(operation_id="teams_list", responses=TeamSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(TeamSerializer(memberships_for_user(user=request.user), many=True).data)


class TokenListApi(APIView):
    """Your API tokens (never the tokens themselves: only their prefixes)."""

    error_codes = (400, 404)

    @extend_schema(
        operation_id="tokens_list",
        parameters=[PageQuerySerializer],
        responses=paginated(TokenSerializer, "TokenPage"),
    )
    def get(self, request: Request) -> Response:
        PageQuerySerializer(data=request.query_params).is_valid(raise_exception=True)
        return paginated_response(
            queryset=tokens.api_tokens_for_user(user=request.user),
            serializer_class=TokenSerializer,
            request=request,
            view=self,
        )


class TokenCreateApi(APIView):
    """Create an API token. The response holds the token; it is not shown again.

    Signed in (the browser session), that is all. With a token, send your password
    too: a stolen token alone cannot make itself a successor. A token made with a
    token expires no later than it, is read-only if it is, and sees only its team if
    it is restricted to one.
    """

    error_codes = (403,)

    class InputSerializer(TokenInputSerializer):
        password = JsonCharField(
            required=False,
            max_length=4096,
            style={"input_type": "password"},
            trim_whitespace=False,
            help_text="Your password; required when this request is authenticated with a token.",
        )

    @extend_schema(operation_id="tokens_create", request=InputSerializer, responses={201: NewTokenSerializer})
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        parent = request.auth if isinstance(request.auth, ApiToken) else None
        if parent is not None:
            _check_password(request, password=serializer.validated_data.get("password"))
        token, raw = _token_create(user=request.user, data=serializer.validated_data, parent=parent)
        return _new_token_response(token, raw)


def _check_password(request: Request, *, password: str | None) -> None:
    if not password:
        raise ApiError(
            status_code=403,
            code="password_required",
            message="A token cannot create a token on its own: send your password as `password` too, "
            "or create the token on the API tokens page.",
            details={},
        )
    # The Django request, so django-axes counts a wrong password and locks out.
    user = authenticate(request._request, username=request.user.get_username(), password=password)
    if user is None or user.pk != request.user.pk:
        raise ApiError(
            status_code=403,
            code="wrong_password",
            message="Wrong password; no token was created.",
            details={},
        )


class TokenRevokeApi(APIView):
    """Revoke one of your API tokens; requests with it answer 401 from now on."""

    error_codes = (404,)

    @extend_schema(operation_id="tokens_destroy", parameters=[TOKEN_ID], responses={204: None})
    def delete(self, request: Request, token_id: int) -> Response:
        token = tokens.api_token_get_for_user(user=request.user, token_id=token_id)
        tokens.api_token_revoke(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenObtainApi(APIView):
    """Trade a username and password for a new API token (for scripts that cannot open the page).

    Repeated failures lock out (429): 5 for one username from one address, 20 for
    one username from any addresses, for 15 minutes.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    error_codes = (400, 401)

    class InputSerializer(TokenInputSerializer):
        username = JsonCharField(max_length=150)
        password = JsonCharField(max_length=4096, style={"input_type": "password"}, trim_whitespace=False)

    @extend_schema(
        operation_id="auth_token_create", request=InputSerializer, responses={201: NewTokenSerializer}
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # The Django request, so django-axes can count failures and lock out.
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if user is None:
            error = ApiError(
                status_code=401, code="invalid_credentials", message="Wrong username or password.", details={}
            )
            error.auth_header = 'Bearer realm="api"'
            raise error
        token, raw = _token_create(user=user, data=data, parent=None)
        return _new_token_response(token, raw)
