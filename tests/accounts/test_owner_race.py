"""Two owners demoting each other at the same moment must not leave a team without an owner.

Each check reads the team's owners; without a row lock both changes read "two owners"
before either writes. The test holds the first change inside its transaction (after
its check, at its write) and lets the second one run meanwhile: with the lock the
second waits, then sees the first one's result and is refused.
"""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from accounts import services
from accounts.models import Membership, Role

pytestmark = pytest.mark.django_db(transaction=True)


def run_in_thread(results: dict, key: str, fn) -> threading.Thread:  # noqa: ANN001
    def target() -> None:
        try:
            fn()
            results[key] = "ok"
        except (ValidationError, PermissionDenied) as exc:
            results[key] = f"refused: {exc}"
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    return thread


def hold_first_write(monkeypatch) -> tuple[threading.Event, threading.Event]:  # noqa: ANN001
    """The first Membership.save() (or delete()) waits for `go`; `arrived` says it got there."""
    arrived, go = threading.Event(), threading.Event()
    first = threading.Lock()
    save, delete = Membership.save, Membership.delete

    def hold() -> None:
        if first.acquire(blocking=False):
            arrived.set()
            go.wait(timeout=30)

    def held_save(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        hold()
        return save(self, *args, **kwargs)

    def held_delete(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        hold()
        return delete(self, *args, **kwargs)

    monkeypatch.setattr(Membership, "save", held_save)
    monkeypatch.setattr(Membership, "delete", held_delete)
    return arrived, go


def race(monkeypatch, first, second) -> dict:  # noqa: ANN001
    arrived, go = hold_first_write(monkeypatch)
    results: dict[str, str] = {}
    a = run_in_thread(results, "first", first)
    assert arrived.wait(timeout=30), results
    b = run_in_thread(results, "second", second)
    # Without a lock the second change finishes now; with it, it waits for the first.
    b.join(timeout=2)
    go.set()
    a.join(timeout=30)
    b.join(timeout=30)
    return results


@pytest.fixture
def two_owners(team_a, alice, adam):
    Membership.objects.filter(user=adam, team=team_a).update(role=Role.OWNER)
    return (
        Membership.objects.get(user=alice, team=team_a),
        Membership.objects.get(user=adam, team=team_a),
    )


def owners(team) -> int:  # noqa: ANN001
    return Membership.objects.filter(team=team, role=Role.OWNER).count()


def test_two_owners_demoting_each_other_leave_one_owner(monkeypatch, team_a, two_owners):
    alice, adam = two_owners
    results = race(
        monkeypatch,
        lambda: services.membership_role_change(acting=alice, membership=adam, role=Role.MEMBER),
        lambda: services.membership_role_change(acting=adam, membership=alice, role=Role.MEMBER),
    )
    assert owners(team_a) == 1, results
    assert results["first"] == "ok" and results["second"].startswith("refused"), results


def test_two_owners_stepping_down_at_once_leave_one_owner(monkeypatch, team_a, two_owners):
    alice, adam = two_owners
    results = race(
        monkeypatch,
        lambda: services.membership_role_change(acting=alice, membership=alice, role=Role.ADMIN),
        lambda: services.membership_role_change(acting=adam, membership=adam, role=Role.ADMIN),
    )
    assert owners(team_a) == 1, results
    assert "make someone else owner first" in results["second"], results


def test_two_owners_leaving_at_once_leave_one_owner(monkeypatch, team_a, two_owners):
    alice, adam = two_owners
    results = race(
        monkeypatch,
        lambda: services.membership_leave(membership=alice),
        lambda: services.membership_leave(membership=adam),
    )
    assert owners(team_a) == 1, results
    assert "make someone else owner first" in results["second"], results
