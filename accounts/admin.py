from django.contrib import admin

from accounts import signals
from accounts.models import ApiToken, Invitation, Membership, Team


class MembershipInline(admin.TabularInline):
    """Site administrators may put people in teams directly (the one path without an
    invitation besides `bootstrap`); team owners and admins invite on the site."""

    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change) -> None:  # noqa: ANN001
        super().save_model(request, obj, form, change)
        if not change:
            # Teams made here are set up like any other (accounts.services.team_create).
            signals.team_created.send(sender=Team, team=obj)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "team__name"]
    autocomplete_fields = ["user", "team"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["username", "team", "role", "state", "invited_by", "created_at", "expires_at"]
    list_filter = ["state", "role", "team"]
    search_fields = ["username", "team__name"]
    readonly_fields = ["team", "username", "invited_by", "created_at", "responded_at", "invitee"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Only the non-secret prefix and metadata are stored; the token itself never is."""

    list_display = [
        "name",
        "user",
        "prefix",
        "scope",
        "team",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at", "scope"]
    search_fields = ["name", "user__username", "prefix"]
    # Scope, team and expiry only narrow down here by being read-only: a token's
    # reach is decided when it is made (accounts.tokens).
    readonly_fields = [
        "prefix",
        "key_hash",
        "created_at",
        "last_used_at",
        "scope",
        "team",
        "parent",
        "expires_at",
    ]
