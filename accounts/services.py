"""Writes for accounts: teams, memberships, users."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

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
    # New teams start with the default alert rules of config.yaml.
    from analyses.alerting import alert_rules_create_defaults

    alert_rules_create_defaults(team=team)
    logger.info("team %s created", slug)
    return team


def team_get_or_create(*, slug: str, name: str | None = None) -> tuple[Team, bool]:
    team = Team.objects.filter(slug=slug).first()
    if team is not None:
        return team, False
    return team_create(name=name or slug, slug=slug), True


def membership_add(*, team: Team, username: str, role: str = Role.MEMBER) -> Membership:
    User = get_user_model()
    try:
        user = User.objects.get(username=username)
    except User.DoesNotExist:
        raise ValidationError(f"There is no user called {username!r}.") from None
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}.")
    membership, created = Membership.objects.get_or_create(user=user, team=team, defaults={"role": role})
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def membership_remove(*, team: Team, membership_id: int, acting: Membership) -> None:
    try:
        membership = team.memberships.get(pk=membership_id)
    except Membership.DoesNotExist:
        raise ValidationError("That person is not in this team.") from None
    owners = team.memberships.filter(role=Role.OWNER)
    if membership.role == Role.OWNER and owners.count() == 1:
        raise ValidationError("A team needs at least one owner; make someone else owner first.")
    if membership.role == Role.OWNER and acting.role != Role.OWNER:
        raise ValidationError("Only an owner can remove an owner.")
    membership.delete()


def user_create(*, username: str, password: str, email: str = "", is_staff: bool = False) -> AbstractBaseUser:
    User = get_user_model()
    user = User.objects.create_user(username=username, password=password, email=email)
    if is_staff:
        user.is_staff = True
        user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return user
