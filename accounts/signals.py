"""accounts' signals: the one it sends, and the receivers it connects.

`team_created` is sent once for every new team, by `accounts.services.team_create`
and by the admin's team form, inside the transaction that made it. Apps above
accounts set a team up from it (analyses: the default alert rules), so accounts
imports none of them.

A new password revokes the user's API tokens, whichever way it was set.
The password-change page, the admin's password form, `manage.py changepassword`
and `user.set_password(...); user.save()` all go through `set_password`, which
keeps the new plain password on the instance (`_password`) until the save;
Django's own `password_changed` hook keys on the same attribute. A stored hash
upgraded at sign-in (same password, stronger hasher) does not set it, so tokens
stay.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import Signal, receiver

from accounts import tokens

# Sent with `team` (accounts.models.Team).
team_created = Signal()


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.password_revokes_tokens")
def revoke_tokens_on_password_change(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created and getattr(instance, "_password", None) is not None:
        tokens.api_tokens_revoke_for_user(user=instance)
