"""Personal API tokens: create (shown once), list, revoke, and check a presented token.

A token may be read-only (`scope`) and restricted to one team (`team`). A token
made by a request authenticated with a token (`parent`) never outlives it, nor
reads or writes more; revoking a token revokes those made with it. Changing the
password revokes all of a user's tokens (accounts.signals).

A token reads `lpt_<prefix>_<secret>`. Only `prefix` (to find the row and to show
the user which token is which) and the SHA-256 of the whole token are stored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import ApiToken, Membership, Team, TokenScope

logger = logging.getLogger(__name__)

TOKEN_KIND = "lpt"  # noqa: S105 - the fixed start of every token, not a secret
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_LIFETIME_DAYS = 3650


class TokenError(Exception):
    """A presented token is not usable; the message says why and what to do."""


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _expiry(*, now: datetime, expires_in_days: int | None, parent: ApiToken | None) -> datetime | None:
    expires_at = now + timedelta(days=expires_in_days) if expires_in_days else None
    if parent is not None and parent.expires_at is not None:
        # A token made with a token never outlives it.
        expires_at = min(expires_at or parent.expires_at, parent.expires_at)
    return expires_at


def api_token_create(
    *,
    user: AbstractBaseUser,
    name: str,
    expires_in_days: int | None = None,
    scope: str = TokenScope.FULL,
    team: Team | None = None,
    parent: ApiToken | None = None,
) -> tuple[ApiToken, str]:
    """A new token for the user; returns the row and the plain token (shown once, never stored).

    `team` restricts it to one of the user's teams; `parent` is the token the request
    that asks for it was made with: the new one then expires no later, is read-only
    if that one is, and is restricted to the same team.
    """
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
        raise ValueError(f"A token lives between 1 and {MAX_LIFETIME_DAYS} days.")
    if scope not in TokenScope.values:
        raise ValidationError(
            {"scope": f"Unknown scope {scope!r}; choose one of {', '.join(TokenScope.values)}."}
        )
    if parent is not None:
        if parent.scope == TokenScope.READ:
            scope = TokenScope.READ
        if parent.team_id is not None:
            if team is not None and team.pk != parent.team_id:
                raise ValidationError(
                    {"team": "A token restricted to one team can only make tokens for that team."}
                )
            team = parent.team
    if team is not None and not Membership.objects.filter(user=user, team=team).exists():
        raise ValidationError({"team": f"You are not in a team {team.slug!r}."})
    while True:
        prefix = secrets.token_hex(4)
        if not ApiToken.objects.filter(prefix=prefix).exists():
            break
    raw = f"{TOKEN_KIND}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        name=(name.strip() or "API token")[:100],
        prefix=prefix,
        key_hash=_digest(raw),
        expires_at=_expiry(now=timezone.now(), expires_in_days=expires_in_days, parent=parent),
        scope=scope,
        team=team,
        parent=parent,
    )
    logger.info("API token %s created for %s", prefix, user)
    return token, raw


def api_tokens_for_user(*, user: AbstractBaseUser) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def api_token_get_for_user(*, user: AbstractBaseUser, token_id: int) -> ApiToken:
    try:
        return api_tokens_for_user(user=user).get(pk=token_id)
    except (ApiToken.DoesNotExist, ValueError, TypeError):
        raise Http404("No such API token") from None


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke the token and every token made with it (and with those)."""
    now = timezone.now()
    if token.revoked_at is None:
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
        logger.info("API token %s revoked", token.prefix)
    parents = [token.pk]
    while parents:
        children = list(ApiToken.objects.filter(parent_id__in=parents).values_list("pk", flat=True))
        ApiToken.objects.filter(pk__in=children, revoked_at=None).update(revoked_at=now)
        parents = children
    return token


def api_tokens_revoke_for_user(*, user: AbstractBaseUser) -> int:
    """Revoke every active token of the user (their password changed)."""
    revoked = ApiToken.objects.filter(user=user, revoked_at=None).update(revoked_at=timezone.now())
    if revoked:
        logger.info("%d API tokens of %s revoked: the password changed", revoked, user)
    return revoked


def _parse(raw: str) -> str | None:
    """The prefix of a well-formed token, else None."""
    kind, _, rest = raw.partition("_")
    prefix, _, secret = rest.partition("_")
    if kind != TOKEN_KIND or len(prefix) != 8 or not secret or prefix.strip("0123456789abcdef"):
        return None
    return prefix


def api_token_check(*, raw: str, now: datetime | None = None) -> ApiToken:
    """The token row for a presented token, or TokenError saying why it is refused."""
    now = now or timezone.now()
    prefix = _parse(raw)
    token = (
        ApiToken.objects.select_related("user", "team").filter(prefix=prefix).first()
        if prefix is not None
        else None
    )
    # compare_digest: the comparison takes the same time wherever the first difference is.
    if token is None or not hmac.compare_digest(token.key_hash, _digest(raw)):
        raise TokenError("Invalid API token; create one on the API tokens page (Account → API tokens).")
    state = token.state_at(now)
    if state == "revoked":
        raise TokenError(f"This API token ({token.prefix}) was revoked; create a new one.")
    if state == "expired":
        raise TokenError(
            f"This API token ({token.prefix}) expired on {token.expires_at:%Y-%m-%d %H:%M} UTC; create a new one."
        )
    if not token.user.is_active:
        raise TokenError("The account of this API token is disabled.")
    return token


def api_token_touch(*, token: ApiToken, now: datetime | None = None) -> None:
    """Record use, at most once per LAST_USED_RESOLUTION (one UPDATE, no read)."""
    now = now or timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
