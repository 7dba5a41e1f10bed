from __future__ import annotations

from django import forms
from django.contrib.auth.models import AbstractBaseUser

from accounts.models import Role, TokenScope
from accounts.selectors import memberships_for_user


class InviteForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="Their username on this site.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.CharField(max_length=20)  # checked by accounts.roles, which says what is allowed


class TeamSwitchForm(forms.Form):
    team_id = forms.IntegerField()


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “nightly upload script”.")
    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        choices=[
            ("", "Never"),
            ("7", "In 7 days"),
            ("30", "In 30 days"),
            ("90", "In 90 days"),
            ("365", "In a year"),
        ],
        coerce=int,
        empty_value=None,
        required=False,
    )
    scope = forms.ChoiceField(
        label="Can", choices=TokenScope.choices, initial=TokenScope.FULL, required=False
    )
    team = forms.TypedChoiceField(label="Teams", coerce=int, empty_value=None, required=False)

    def __init__(self, *args, user: AbstractBaseUser, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.memberships = {m.team_id: m for m in memberships_for_user(user=user)}
        self.fields["team"].choices = [("", "All of my teams")] + [
            (team_id, f"Only {m.team.name}") for team_id, m in self.memberships.items()
        ]

    def clean_scope(self) -> str:
        return self.cleaned_data.get("scope") or TokenScope.FULL

    def clean_team(self):  # noqa: ANN201
        team_id = self.cleaned_data.get("team")
        return self.memberships[team_id].team if team_id is not None else None
