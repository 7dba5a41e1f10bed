from django import forms

from accounts.models import Role


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class TeamSwitchForm(forms.Form):
    team_id = forms.IntegerField()
