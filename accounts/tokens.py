"""Personal API tokens: create (shown once), list, revoke, and check a presented token.

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
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import ApiToken

logger = logging.getLogger(__name__)

TOKEN_KIND = "lpt"  # noqa: S105 - the fixed start of every token, not a secret
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_LIFETIME_DAYS = 3650


class TokenError(Exception):
    """A presented token is not usable; the message says why and what to do."""


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(
    *, user: AbstractBaseUser, name: str, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """A new token for the user; returns the row and the plain token (shown once, never stored)."""
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
        raise ValueError(f"A token lives between 1 and {MAX_LIFETIME_DAYS} days.")
    while True:
        prefix = secrets.token_hex(4)
        if not ApiToken.objects.filter(prefix=prefix).exists():
            break
    raw = f"{TOKEN_KIND}_{prefix}_{secrets.token_urlsafe(32)}"
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken.objects.create(
        user=user,
        name=(name.strip() or "API token")[:100],
        prefix=prefix,
        key_hash=_digest(raw),
        expires_at=expires_at,
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
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        logger.info("API token %s revoked", token.prefix)
    return token


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
        ApiToken.objects.select_related("user").filter(prefix=prefix).first() if prefix is not None else None
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
