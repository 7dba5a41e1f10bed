"""DRF authentication by personal API token: `Authorization: Bearer <token>` (or `Token <token>`).

A read-only token is refused (403) on any unsafe method; a token restricted to one
team marks the request's user so that memberships_for_user sees that team only.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from accounts.models import ApiToken, TokenScope
from accounts.selectors import user_limit_to_team
from accounts.tokens import TokenError, api_token_check, api_token_touch

KEYWORDS = (b"bearer", b"token")


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None  # not ours: let session authentication try
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header; send 'Authorization: Bearer <token>'."
            )
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid API token.") from None
        try:
            token = api_token_check(raw=raw)
        except TokenError as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        if token.scope == TokenScope.READ and request.method not in SAFE_METHODS:
            # Here rather than in a permission class: every API view authenticates
            # with this class, whatever permissions it declares.
            raise exceptions.PermissionDenied(
                f"This API token ({token.prefix}) is read-only; use a token with full scope to change things.",
                code="read_only_token",
            )
        api_token_touch(token=token)
        user = token.user
        if token.team_id is not None:
            user_limit_to_team(user=user, team_id=token.team_id)
        return user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (with this challenge) rather than 403 to anonymous requests.
        return 'Bearer realm="api"'
