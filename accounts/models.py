from __future__ import annotations

from django.conf import settings
from django.db import models


class Team(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


# What each role may do. Views and services ask these, never compare role names.
CAN_UPLOAD = {Role.OWNER, Role.ADMIN, Role.MEMBER}
CAN_ADMIN = {Role.OWNER, Role.ADMIN}


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="unique_membership"),
        ]
        ordering = ["team__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def can_upload(self) -> bool:
        return self.role in CAN_UPLOAD

    @property
    def can_admin(self) -> bool:
        return self.role in CAN_ADMIN


class InvitationState(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Invitation(models.Model):
    """An offer of a role in a team; membership starts only when the invitee accepts.

    It names the invitee by username, not by user: a row is written whether or not an
    account of that name exists, so neither the answer to the inviter nor the team's
    list of pending invitations tells whether a username exists. The account called
    `username` (if any) sees it and may accept or decline.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    username = models.CharField(max_length=150)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=InvitationState.choices, default=InvitationState.PENDING)
    responded_at = models.DateTimeField(null=True, blank=True)
    # Who accepted or declined (set then; the account called `username` at that time).
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "username"],
                condition=models.Q(state="pending"),
                name="unique_pending_invitation",
            ),
        ]
        # The invitee's list and the count in the nav, on every page.
        indexes = [models.Index(fields=["username", "state"], name="invitation_username_state")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.username} to {self.team} as {self.role} ({self.state})"


class TokenScope(models.TextChoices):
    FULL = "full", "Everything you may do"
    READ = "read", "Read only"


class ApiToken(models.Model):
    """A personal API token. Only a hash is stored; the token itself is shown once.

    The token reads `lpt_<prefix>_<secret>`: the prefix is not secret (it is shown
    in lists and finds the row), the secret has 256 random bits, so a plain SHA-256
    of the whole token is as safe to store as a slow password hash would be.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    scope = models.CharField(max_length=10, choices=TokenScope.choices, default=TokenScope.FULL)
    # Set: the token sees this team only (accounts.selectors.memberships_for_user).
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # The token whose request created this one: it never outlives it, nor sees more.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}, {self.user})"

    def state_at(self, now) -> str:  # noqa: ANN001
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"
