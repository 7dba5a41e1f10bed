"""Create the first team and an admin account on an empty database (used by `make run`)."""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from accounts import services
from accounts.models import Role, Team


class Command(BaseCommand):
    help = (
        "On an empty database, create a first team and an admin who owns it, and print the credentials once."
    )

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        if User.objects.exists():
            self.stdout.write("Accounts exist already; nothing to bootstrap.")
            return
        username = os.environ.get("LOGPLATFORM_ADMIN_USER", "admin")
        password = os.environ.get("LOGPLATFORM_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        team_name = os.environ.get("LOGPLATFORM_TEAM", "My team")
        user = services.user_create(username=username, password=password, is_staff=True)
        team = Team.objects.filter(name=team_name).first() or services.team_create(name=team_name)
        services.membership_create(team=team, user=user, role=Role.OWNER)
        self.stdout.write(self.style.SUCCESS("Created the first team and admin account:"))
        self.stdout.write(f"  team:     {team.name}")
        self.stdout.write(f"  username: {username}")
        if os.environ.get("LOGPLATFORM_ADMIN_PASSWORD"):
            self.stdout.write("  password: (from LOGPLATFORM_ADMIN_PASSWORD)")
        else:
            self.stdout.write(f"  password: {password}")
            self.stdout.write("  (shown once; change it in the admin panel)")
