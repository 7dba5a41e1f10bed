import io

import pytest
from django.core.management import call_command

from accounts.models import Membership, Role

pytestmark = pytest.mark.django_db


def test_bootstrap_makes_the_first_admin_owner_of_the_first_team(monkeypatch):
    monkeypatch.setenv("LOGPLATFORM_ADMIN_USER", "root")
    monkeypatch.setenv("LOGPLATFORM_ADMIN_PASSWORD", "a-long-enough-password")
    monkeypatch.setenv("LOGPLATFORM_TEAM", "Ops")
    out = io.StringIO()
    call_command("bootstrap", stdout=out)
    membership = Membership.objects.get(user__username="root")
    assert (membership.team.name, membership.role) == ("Ops", Role.OWNER)
    assert "password: (from LOGPLATFORM_ADMIN_PASSWORD)" in out.getvalue()
    call_command("bootstrap", stdout=out)  # a second run changes nothing
    assert Membership.objects.count() == 1
