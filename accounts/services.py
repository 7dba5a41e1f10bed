"""Writes for accounts: teams, memberships and roles, users.

Invitations live in accounts.invitations, API tokens in accounts.tokens."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from accounts import roles, signals
from accounts.models import Membership, Role, Team

logger = logging.getLogger(__name__)


@transaction.atomic
def team_create(*, name: str, slug: str | None = None, owner: AbstractBaseUser | None = None) -> Team:
    slug = slug or slugify(name) or "team"
    if Team.objects.filter(slug=slug).exists():
        raise ValidationError(f"A team with the slug {slug!r} already exists.")
    team = Team.objects.create(name=name, slug=slug)
    if owner is not None:
        Membership.objects.create(user=owner, team=team, role=Role.OWNER)
    # Apps above accounts set the team up here (analyses: the default alert rules).
    signals.team_created.send(sender=Team, team=team)
    logger.info("team %s created", slug)
    return team


def team_get_or_create(*, slug: str, name: str | None = None) -> tuple[Team, bool]:
    team = Team.objects.filter(slug=slug).first()
    if team is not None:
        return team, False
    return team_create(name=name or slug, slug=slug), True


def membership_create(*, team: Team, user: AbstractBaseUser, role: str = Role.MEMBER) -> Membership:
    """Put a user in a team directly, without asking them.

    Internal: for `bootstrap` and test fixtures (site administrators do the same
    in the Django admin). No page or API path calls it; people join a team by
    accepting an invitation (accounts.invitations).
    """
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}.")
    membership, created = Membership.objects.get_or_create(user=user, team=team, defaults={"role": role})
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def _lock_team(team_id: int) -> dict[int, Membership]:
    """Lock every membership of the team (until the transaction ends) and read them
    afresh: two concurrent changes then see each other's result, so both cannot
    pass the "at least one owner" check against the same old state."""
    return {m.pk: m for m in Membership.objects.select_for_update().filter(team_id=team_id).order_by("pk")}


def _owners(memberships: dict[int, Membership]) -> int:
    return sum(1 for m in memberships.values() if m.role == Role.OWNER)


def _locked(memberships: dict[int, Membership], membership_id: int) -> Membership:
    try:
        return memberships[membership_id]
    except KeyError:
        raise ValidationError("That person is no longer in this team.") from None


@transaction.atomic
def membership_role_change(*, acting: Membership, membership: Membership, role: str) -> Membership:
    """Give a member of the acting person's team another role (accounts.roles has the rules)."""
    if membership.team_id != acting.team_id:
        raise ValidationError("That person is not in this team.")
    memberships = _lock_team(acting.team_id)
    acting_now = _locked(memberships, acting.pk)
    target = _locked(memberships, membership.pk)
    refusal = roles.role_change_refusal(
        acting_role=acting_now.role,
        target_role=target.role,
        new_role=role,
        is_self=target.pk == acting_now.pk,
        owners=_owners(memberships),
    )
    if refusal:
        refusal.raise_it()
    if target.role != role:
        logger.info(
            "%s: role of %s %s -> %s by %s", target.team_id, target.user_id, target.role, role, acting.user_id
        )
        target.role = role
        target.save(update_fields=["role"])
    return target


@transaction.atomic
def membership_remove(*, acting: Membership, membership: Membership) -> None:
    """Remove someone else from the acting person's team."""
    if membership.team_id != acting.team_id:
        raise ValidationError("That person is not in this team.")
    memberships = _lock_team(acting.team_id)
    acting_now = _locked(memberships, acting.pk)
    target = _locked(memberships, membership.pk)
    refusal = roles.removal_refusal(
        acting_role=acting_now.role,
        target_role=target.role,
        is_self=target.pk == acting_now.pk,
        owners=_owners(memberships),
    )
    if refusal:
        refusal.raise_it()
    logger.info("%s: %s removed by %s", target.team_id, target.user_id, acting.user_id)
    target.delete()


@transaction.atomic
def membership_leave(*, membership: Membership) -> None:
    """The member leaves the team; the last owner cannot."""
    memberships = _lock_team(membership.team_id)
    own = _locked(memberships, membership.pk)
    refusal = roles.leave_refusal(role=own.role, owners=_owners(memberships))
    if refusal:
        refusal.raise_it()
    logger.info("%s: %s left", own.team_id, own.user_id)
    own.delete()


def user_create(*, username: str, password: str, email: str = "", is_staff: bool = False) -> AbstractBaseUser:
    User = get_user_model()
    user = User.objects.create_user(username=username, password=password, email=email)
    if is_staff:
        user.is_staff = True
        user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return user
