"""Who may change whose membership: the rules as plain functions of roles.

The services enforce them (under a lock on the team's memberships, with the roles
read there); the members page asks the same functions which actions to offer.

- Only owners and admins manage members; only owners grant, change or revoke the
  owner role (an admin cannot make anyone owner, nor change or remove an owner).
- Nobody raises their own role.
- A team always keeps at least one owner (role changes, removals and leaving).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import CAN_ADMIN, Role

RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}
LAST_OWNER = "A team needs at least one owner; make someone else owner first."


@dataclass(frozen=True)
class Refusal:
    message: str
    # True: the acting person's role does not allow it (403). False: the team's state
    # or the input does not (400).
    forbidden: bool = True
    field: str | None = None  # the input field at fault, if any

    def raise_it(self) -> None:
        if self.forbidden:
            raise PermissionDenied(self.message)
        raise ValidationError({self.field: self.message} if self.field else self.message)


OWNER_ROLE = "Only owners can grant, change or revoke the owner role."


def role_manage_refusal(*, acting_role: str, target_role: str) -> Refusal | None:
    """Whether the acting person may change this member's role at all (whatever to)."""
    if acting_role not in CAN_ADMIN:
        return Refusal("Only team owners and admins can change roles.")
    if target_role == Role.OWNER and acting_role != Role.OWNER:
        return Refusal(OWNER_ROLE)
    return None


def role_change_refusal(
    *, acting_role: str, target_role: str, new_role: str, is_self: bool, owners: int
) -> Refusal | None:
    refusal = role_manage_refusal(acting_role=acting_role, target_role=target_role)
    if refusal:
        return refusal
    if new_role not in Role.values:
        choices = ", ".join(Role.values)
        return Refusal(f"Unknown role {new_role!r}. Choose one of: {choices}.", forbidden=False, field="role")
    if new_role == target_role:
        return None
    if is_self and RANK[Role(new_role)] > RANK[Role(target_role)]:
        return Refusal("Nobody can raise their own role; ask an owner.")
    if new_role == Role.OWNER and acting_role != Role.OWNER:
        return Refusal(OWNER_ROLE)
    if target_role == Role.OWNER and owners <= 1:
        return Refusal(LAST_OWNER, forbidden=False)
    return None


def removal_refusal(*, acting_role: str, target_role: str, is_self: bool, owners: int) -> Refusal | None:
    if acting_role not in CAN_ADMIN:
        return Refusal("Only team owners and admins can remove members; to leave yourself, use Leave team.")
    if is_self:
        return Refusal("To leave the team yourself, use Leave team.", forbidden=False)
    if target_role == Role.OWNER and acting_role != Role.OWNER:
        return Refusal("Only owners can remove an owner.")
    if target_role == Role.OWNER and owners <= 1:
        return Refusal(LAST_OWNER, forbidden=False)
    return None


def leave_refusal(*, role: str, owners: int) -> Refusal | None:
    if role == Role.OWNER and owners <= 1:
        return Refusal(
            "You are the last owner of this team; make someone else owner first, then leave.",
            forbidden=False,
        )
    return None


def invite_refusal(*, acting_role: str, role: str) -> Refusal | None:
    if acting_role not in CAN_ADMIN:
        return Refusal("Only team owners and admins can invite people.")
    if role not in Role.values:
        choices = ", ".join(Role.values)
        return Refusal(f"Unknown role {role!r}. Choose one of: {choices}.", forbidden=False, field="role")
    if role == Role.OWNER and acting_role != Role.OWNER:
        return Refusal("Only owners can invite an owner.")
    return None


def roles_offered(*, acting_role: str, target_role: str, is_self: bool) -> list[str]:
    """The roles the acting person may give this member (the current one included);
    whether the team would be left without an owner is answered when they try."""
    return [
        role
        for role in Role.values
        if role_change_refusal(
            acting_role=acting_role, target_role=target_role, new_role=role, is_self=is_self, owners=2
        )
        is None
    ]
