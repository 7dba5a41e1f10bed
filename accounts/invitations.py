"""Invitations: the only way into a team from the pages and the API.

A team owner or admin invites a username with a role; the account of that name
sees the invitation and accepts (membership starts) or declines. The inviter hears
the same answer whether or not such an account exists, and the team's pending list
holds the row either way (see accounts.models.Invitation).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts import roles
from accounts.models import CAN_ADMIN, Invitation, InvitationState, Membership, Team
from accounts.selectors import user_team_limit

logger = logging.getLogger(__name__)

LIFETIME = timedelta(days=14)
# Pending invitations per team: rows are written for any name typed, so a cap keeps
# an admin from filling the table (it counts names, not accounts: no enumeration).
MAX_PENDING_PER_TEAM = 100


def invitation_sent_message(*, username: str, team: Team) -> str:
    """What the inviter is told, the same whether or not the account exists."""
    return f"If an account called {username} exists, it has an invitation to {team.name} now."


def _pending(now=None) -> QuerySet[Invitation]:  # noqa: ANN001
    return Invitation.objects.filter(state=InvitationState.PENDING, expires_at__gt=now or timezone.now())


# --------------------------------------------------------------------------- reads


def invitations_for_user(*, user: AbstractBaseUser) -> QuerySet[Invitation]:
    """The pending invitations addressed to this user's username.

    None for a request whose token is restricted to one team: accepting would act
    outside that team."""
    if not user.is_authenticated or user_team_limit(user=user) is not None:
        return Invitation.objects.none()
    return (
        _pending()
        .filter(username=user.get_username())
        .select_related("team", "invited_by")
        .order_by("-created_at", "-id")
    )


def invitation_get_for_user(*, user: AbstractBaseUser, invitation_id: int) -> Invitation:
    """One of the user's pending invitations; anybody else's (or an answered one) is 404."""
    try:
        return invitations_for_user(user=user).get(pk=invitation_id)
    except (Invitation.DoesNotExist, ValueError, TypeError):
        raise Http404("No such invitation") from None


def invitations_for_team(*, team: Team) -> QuerySet[Invitation]:
    return _pending().filter(team=team).select_related("invited_by").order_by("username")


def invitation_get_for_team(*, team: Team, invitation_id: int) -> Invitation:
    try:
        return invitations_for_team(team=team).get(pk=invitation_id)
    except (Invitation.DoesNotExist, ValueError, TypeError):
        raise Http404("No such invitation") from None


# --------------------------------------------------------------------------- writes


@transaction.atomic
def invitation_create(*, acting: Membership, username: str, role: str) -> Invitation:
    """Invite `username` to the acting person's team; inviting again renews the invitation."""
    refusal = roles.invite_refusal(acting_role=acting.role, role=role)
    if refusal:
        refusal.raise_it()
    username = username.strip()
    if not username:
        raise ValidationError("Type the username of the person to invite.")
    team = acting.team
    # The one thing told apart: someone already in the inviter's own team (the
    # members list shows them anyway).
    if team.memberships.filter(user__username=username).exists():
        raise ValidationError(
            f"{username} is already a member of {team.name}; change their role in the list."
        )
    now = timezone.now()
    fields = {"role": role, "invited_by": acting.user, "expires_at": now + LIFETIME}
    invitation = (
        Invitation.objects.select_for_update()
        .filter(team=team, username=username, state=InvitationState.PENDING)
        .first()
    )
    if invitation is None:
        if _pending(now).filter(team=team).count() >= MAX_PENDING_PER_TEAM:
            raise ValidationError(
                f"{team.name} has {MAX_PENDING_PER_TEAM} pending invitations; withdraw some first."
            )
        try:
            with transaction.atomic():
                invitation = Invitation.objects.create(team=team, username=username, **fields)
        except IntegrityError:  # the same invitation, sent at the same moment
            invitation = Invitation.objects.get(team=team, username=username, state=InvitationState.PENDING)
    for name, value in fields.items():
        setattr(invitation, name, value)
    invitation.save(update_fields=[*fields])
    logger.info("team %s: %s invited as %s by %s", team.pk, username, role, acting.user_id)
    return invitation


def _answer(*, invitation: Invitation, user: AbstractBaseUser, state: str) -> Invitation:
    invitation.state = state
    invitation.responded_at = timezone.now()
    invitation.invitee = user
    invitation.save(update_fields=["state", "responded_at", "invitee"])
    return invitation


@transaction.atomic
def invitation_accept(*, user: AbstractBaseUser, invitation_id: int) -> Membership:
    """The invitee joins the team with the invited role (a member already keeps theirs)."""
    invitation = invitation_get_for_user(user=user, invitation_id=invitation_id)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.state != InvitationState.PENDING:
        raise Http404("No such invitation")
    membership, created = Membership.objects.get_or_create(
        user=user, team=invitation.team, defaults={"role": invitation.role}
    )
    _answer(invitation=invitation, user=user, state=InvitationState.ACCEPTED)
    logger.info("team %s: %s accepted (%s)", invitation.team_id, user.pk, membership.role)
    return membership


@transaction.atomic
def invitation_decline(*, user: AbstractBaseUser, invitation_id: int) -> Invitation:
    invitation = invitation_get_for_user(user=user, invitation_id=invitation_id)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.state != InvitationState.PENDING:
        raise Http404("No such invitation")
    return _answer(invitation=invitation, user=user, state=InvitationState.DECLINED)


def invitation_withdraw(*, acting: Membership, invitation_id: int) -> Invitation:
    """A team owner or admin takes back a pending invitation of their team."""
    if acting.role not in CAN_ADMIN:
        raise PermissionDenied("Only team owners and admins can withdraw invitations.")
    invitation = invitation_get_for_team(team=acting.team, invitation_id=invitation_id)
    updated = Invitation.objects.filter(pk=invitation.pk, state=InvitationState.PENDING).update(
        state=InvitationState.WITHDRAWN, responded_at=timezone.now()
    )
    if not updated:
        raise Http404("No such invitation")
    invitation.state = InvitationState.WITHDRAWN
    return invitation


def invitation_count_for_user(*, user: AbstractBaseUser) -> int:
    return invitations_for_user(user=user).count()
