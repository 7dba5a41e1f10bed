"""API views of accounts: who am I, my teams, my API tokens, a token for a password."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import tokens
from accounts.models import ApiToken, Role
from accounts.selectors import memberships_for_user
from analyses.api.errors import ApiError
from analyses.api.fields import JsonCharField, JsonIntegerField
from analyses.api.pagination import PageQuerySerializer, paginated, paginated_response

TOKEN_ID = OpenApiParameter("token_id", OpenApiTypes.INT, OpenApiParameter.PATH)


class TeamSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="team.id")
    slug = serializers.CharField(source="team.slug")
    name = serializers.CharField(source="team.name")
    role = serializers.ChoiceField(choices=Role.choices)
    can_upload = serializers.BooleanField(help_text="Upload, delete, re-run, acknowledge alerts.")
    can_admin = serializers.BooleanField(help_text="Manage members and alert rules.")


class TokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The start of the token (lpt_<prefix>_…), to tell tokens apart.")
    state = serializers.ChoiceField(choices=["active", "expired", "revoked"])
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
        help_text="Default: never.",
    )


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
            allow_null=True, help_text="id, name, prefix, expires_at of the token used."
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
    """Create an API token. The response holds the token; it is not shown again."""

    @extend_schema(
        operation_id="tokens_create", request=TokenInputSerializer, responses={201: NewTokenSerializer}
    )
    def post(self, request: Request) -> Response:
        serializer = TokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, raw = tokens.api_token_create(
            user=request.user,
            name=serializer.validated_data.get("name") or "",
            expires_in_days=serializer.validated_data.get("expires_in_days"),
        )
        return _new_token_response(token, raw)


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

    Repeated failures for one username from one address are locked out (429).
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
        token, raw = tokens.api_token_create(
            user=user, name=data.get("name") or "", expires_in_days=data.get("expires_in_days")
        )
        return _new_token_response(token, raw)
