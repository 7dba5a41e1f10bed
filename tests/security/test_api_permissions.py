"""Every endpoint: 401 without credentials, 404 for another team's object, 403 for a
viewer's (or a member's, for admin-only) write, the happy path, and what an admin
(adam) may and may not do: everything an owner does except touching the owner role.

The table below is the permission matrix; one row per operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from accounts import invitations, tokens
from accounts import services as account_services
from accounts.models import Invitation, Membership, Role, Team
from analyses.models import Alert, AlertKind, AlertRule, Analysis, AnalysisResult, Severity
from tests.analyses import patterns_helpers
from tests.analyses.helpers import make_analysis, store_result, upload
from tests.analyses.lines_helpers import attach_lines, write_lines
from tests.conftest import PASSWORD
from tests.logdata import make_events, render_csv

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]


@dataclass
class World:
    alice: Any
    bob: Any
    victor: Any
    charlie: Any
    adam: Any
    team_a: Team
    analysis: Analysis
    alert: Alert
    rule: AlertRule
    token_id: int
    member: dict[str, int]  # username -> membership id in team A
    team_invitation: Invitation  # team A invites "zoe" (an account outside every team)
    alice_invitation: Invitation  # team B invites alice


@pytest.fixture
def world(team_a, team_b, alice, bob, victor, charlie, adam, tmp_path) -> World:
    events = make_events(300, seed=5)
    analysis = store_result(make_analysis(team_a, alice, tmp_path, text=render_csv(events)), events)
    result = AnalysisResult.objects.get(analysis=analysis)  # with patterns (issue 21)
    result.document = {
        **result.document,
        "patterns": patterns_helpers.section([patterns_helpers.item("Up <*>", 3)]),
    }
    result.save(update_fields=["document"])
    rule = AlertRule.objects.filter(team=team_a).first()
    alert = Alert.objects.create(
        team=team_a,
        rule=rule,
        analysis=analysis,
        kind=rule.kind,
        value=0.5,
        threshold=rule.threshold,
        severity=rule.severity,
        message="Error rate 50 % is above 10 %",
    )
    token, _ = tokens.api_token_create(user=alice, name="alice's script")
    account_services.user_create(username="zoe", password=PASSWORD)
    team_invitation = invitations.invitation_create(
        acting=Membership.objects.get(user=adam, team=team_a), username="zoe", role=Role.MEMBER
    )
    alice_invitation = invitations.invitation_create(
        acting=Membership.objects.get(user=charlie, team=team_b), username="alice", role=Role.VIEWER
    )
    member = {m.user.username: m.pk for m in Membership.objects.filter(team=team_a).select_related("user")}
    return World(
        alice,
        bob,
        victor,
        charlie,
        adam,
        team_a,
        analysis,
        alert,
        rule,
        token.pk,
        member,
        team_invitation,
        alice_invitation,
    )


def _files(w: World) -> dict:
    return {
        "team": "team-a",
        "files": [upload("x.csv", "timestamp,log_level,message\n2024-01-01 00:00:00,ERROR,x\n")],
    }


RULE = {"kind": AlertKind.ERROR_COUNT, "threshold": 50, "severity": Severity.CRITICAL}


@dataclass
class Op:
    name: str
    method: str
    url: Callable[[World], str]
    ok: int
    data: Callable[[World], dict] | None = None
    multipart: bool = False
    # read | write (members and up) | admin (owners and admins) | self (own objects or membership)
    role: str = "read"
    scoped: bool = True  # names a team's object (or a team): another team's answers 404
    happy_user: str = "alice"
    check: Callable[[World, Any], None] = field(default=lambda w, r: None)
    lines: bool = False  # answered from the analysis's stored lines, on Spark


def _id_is(attr: str) -> Callable[[World, Any], None]:
    def check(w: World, response: Any) -> None:
        assert response.json()["id"] == getattr(w, attr).pk

    return check


OPS = [
    Op(
        "me",
        "get",
        lambda w: "/api/v1/me/",
        200,
        scoped=False,
        check=lambda w, r: r.json()["username"] == "alice" or pytest.fail(r.json()),
    ),
    Op(
        "teams",
        "get",
        lambda w: "/api/v1/teams/",
        200,
        scoped=False,
        check=lambda w, r: [t["slug"] for t in r.json()] == ["team-a"] or pytest.fail(r.json()),
    ),
    Op("tokens-list", "get", lambda w: "/api/v1/tokens/", 200, scoped=False),
    Op(
        "tokens-create",
        "post",
        lambda w: "/api/v1/tokens/",
        201,
        # A token (every client here has one) creates a token only with the password.
        data=lambda w: {"name": "ci", "password": PASSWORD},
        scoped=False,
    ),
    Op("token-revoke", "delete", lambda w: f"/api/v1/tokens/{w.token_id}/", 204, role="self"),
    Op(
        "analyses-list",
        "get",
        lambda w: "/api/v1/analyses/?team=team-a",
        200,
        check=lambda w, r: [a["id"] for a in r.json()["results"]] == [w.analysis.pk] or pytest.fail(r.json()),
    ),
    Op(
        "analyses-create",
        "post",
        lambda w: "/api/v1/analyses/",
        202,
        data=_files,
        multipart=True,
        role="write",
    ),
    Op("analysis-get", "get", lambda w: f"/api/v1/analyses/{w.analysis.pk}/", 200, check=_id_is("analysis")),
    Op("analysis-delete", "delete", lambda w: f"/api/v1/analyses/{w.analysis.pk}/", 204, role="write"),
    Op("analysis-results", "get", lambda w: f"/api/v1/analyses/{w.analysis.pk}/results/", 200),
    Op("analysis-reports", "get", lambda w: f"/api/v1/analyses/{w.analysis.pk}/reports/", 200),
    Op("analysis-report", "get", lambda w: f"/api/v1/analyses/{w.analysis.pk}/reports/summary.json", 200),
    Op("analysis-zip", "get", lambda w: f"/api/v1/analyses/{w.analysis.pk}/reports.zip", 200),
    Op(
        "analysis-lines",
        "get",
        lambda w: f"/api/v1/analyses/{w.analysis.pk}/lines/?level=ERROR",
        200,
        lines=True,
        check=lambda w, r: {x["level"] for x in r.json()["results"]} == {"ERROR"} or pytest.fail(r.json()),
    ),
    Op(
        "analysis-lines-context",
        "get",
        lambda w: f"/api/v1/analyses/{w.analysis.pk}/lines/context/?file={w.analysis.files.get().pk}&line=30",
        200,
        lines=True,
        check=lambda w, r: [x["line"] for x in r.json()["lines"]] == list(range(10, 51))
        or pytest.fail(r.json()),
    ),
    Op(
        "analysis-lines-export",
        "get",
        lambda w: f"/api/v1/analyses/{w.analysis.pk}/lines/export/?format=jsonl",
        200,
        lines=True,
        # Read to the end: a stream is closed (and its query released) once read.
        check=lambda w, r: len(b"".join(r.streaming_content).splitlines()) == 1000 or pytest.fail("short"),
    ),
    Op(
        "analysis-patterns",
        "get",
        lambda w: f"/api/v1/analyses/{w.analysis.pk}/patterns/",
        200,
        check=lambda w, r: [p["template"] for p in r.json()["results"]] == ["Up <*>"]
        or pytest.fail(r.json()),
    ),
    Op("analysis-rerun", "post", lambda w: f"/api/v1/analyses/{w.analysis.pk}/rerun/", 202, role="write"),
    Op("alerts-list", "get", lambda w: "/api/v1/alerts/?team=team-a", 200),
    Op(
        "alert-ack",
        "post",
        lambda w: f"/api/v1/alerts/{w.alert.pk}/acknowledge/",
        200,
        role="write",
        happy_user="bob",
        check=_id_is("alert"),
    ),
    Op("rules-list", "get", lambda w: "/api/v1/alert-rules/?team=team-a", 200),
    Op(
        "rules-create",
        "post",
        lambda w: "/api/v1/alert-rules/",
        201,
        data=lambda w: {"team": "team-a", **RULE},
        role="admin",
    ),
    Op("rule-get", "get", lambda w: f"/api/v1/alert-rules/{w.rule.pk}/", 200, check=_id_is("rule")),
    Op(
        "rule-update",
        "patch",
        lambda w: f"/api/v1/alert-rules/{w.rule.pk}/",
        200,
        data=lambda w: {"enabled": False},
        role="admin",
    ),
    Op("rule-delete", "delete", lambda w: f"/api/v1/alert-rules/{w.rule.pk}/", 204, role="admin"),
    Op("team-members", "get", lambda w: f"/api/v1/teams/{w.team_a.pk}/members/", 200),
    Op(
        "team-member-role",
        "patch",
        lambda w: f"/api/v1/teams/{w.team_a.pk}/members/{w.member['bob']}/",
        200,
        data=lambda w: {"role": Role.VIEWER},
        role="admin",
    ),
    Op(
        "team-member-remove",
        "delete",
        lambda w: f"/api/v1/teams/{w.team_a.pk}/members/{w.member['bob']}/",
        204,
        role="admin",
    ),
    Op(
        "team-leave",
        "post",
        lambda w: f"/api/v1/teams/{w.team_a.pk}/leave/",
        204,
        role="self",
        happy_user="bob",
    ),
    Op(
        "team-invitations-list",
        "get",
        lambda w: f"/api/v1/teams/{w.team_a.pk}/invitations/",
        200,
        role="admin",
    ),
    Op(
        "team-invitations-create",
        "post",
        lambda w: f"/api/v1/teams/{w.team_a.pk}/invitations/",
        201,
        data=lambda w: {"username": "someone", "role": Role.MEMBER},
        role="admin",
    ),
    Op(
        "team-invitation-withdraw",
        "delete",
        lambda w: f"/api/v1/teams/{w.team_a.pk}/invitations/{w.team_invitation.pk}/",
        204,
        role="admin",
    ),
    Op("invitations-list", "get", lambda w: "/api/v1/invitations/", 200, scoped=False),
    Op(
        "invitation-accept",
        "post",
        lambda w: f"/api/v1/invitations/{w.alice_invitation.pk}/accept/",
        200,
        role="self",
    ),
    Op(
        "invitation-decline",
        "post",
        lambda w: f"/api/v1/invitations/{w.alice_invitation.pk}/decline/",
        204,
        role="self",
    ),
]
IDS = [op.name for op in OPS]


@pytest.fixture(scope="module")
def few_lines(spark, storage_root) -> tuple[str, list[list[int]]]:
    relative = "lines/permissions/run"
    return relative, write_lines(spark, relative, 1000, partitions=2)


def with_lines(request, op: Op, w: World) -> None:
    """The analysis gets stored lines when the operation reads them (Spark starts only then)."""
    if op.lines:
        attach_lines(w.analysis, *request.getfixturevalue("few_lines"))


def call(client, op: Op, w: World):
    kwargs: dict[str, Any] = {}
    if op.data is not None:
        kwargs["data"] = op.data(w)
        kwargs["format"] = "multipart" if op.multipart else "json"
    return getattr(client, op.method)(op.url(w), **kwargs)


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def test_every_api_operation_is_in_the_matrix():
    """A new endpoint fails this until it gets a row above."""
    from django.urls import get_resolver

    def endpoints(patterns: list, prefix: str = "") -> Iterator:
        # /api/v1/ includes each app's URL module (logplatform/urls.py).
        for p in patterns:
            if hasattr(p, "url_patterns"):
                yield from endpoints(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern), p

    api = next(p for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/")
    operations = set()
    for route, pattern in endpoints(api.url_patterns):
        methods = getattr(pattern.callback, "operations", None) or {"ONE": None}
        operations |= {(route, method) for method in methods if method != "HEAD"}
    # + auth/token/, the one public endpoint (tests/accounts/test_tokens.py).
    assert len(operations) == len(OPS) + 1


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_it_requires_credentials(world, api, op):
    response = call(api(), op, world)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("op", [op for op in OPS if op.scoped], ids=[op.name for op in OPS if op.scoped])
def test_it_hides_other_teams_objects(world, api, op):
    before = (Analysis.objects.count(), AlertRule.objects.count())
    response = call(api(world.charlie), op, world)
    assert_error(response, 404, "not_found")
    assert (Analysis.objects.count(), AlertRule.objects.count()) == before


WRITES = [op for op in OPS if op.role in ("write", "admin")]


@pytest.mark.parametrize("op", WRITES, ids=[op.name for op in WRITES])
def test_it_refuses_a_viewers_write(world, api, op):
    before = (
        Analysis.objects.count(),
        AlertRule.objects.count(),
        Alert.objects.filter(acknowledged_at=None).count(),
    )
    response = call(api(world.victor), op, world)
    assert_error(response, 403, "permission_denied")
    after = (
        Analysis.objects.count(),
        AlertRule.objects.count(),
        Alert.objects.filter(acknowledged_at=None).count(),
    )
    assert after == before
    if op.role == "admin":
        assert_error(call(api(world.bob), op, world), 403, "permission_denied")


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_it_works(world, api, op, request):
    with_lines(request, op, world)
    response = call(api(getattr(world, op.happy_user)), op, world)
    assert response.status_code == op.ok, response.content
    op.check(world, response)


# --------------------------------------------------------------------------- the admin persona

ADMIN_MAY = [op for op in OPS if op.role in ("read", "write", "admin")]


@pytest.mark.parametrize("op", ADMIN_MAY, ids=[op.name for op in ADMIN_MAY])
def test_an_admin_may(world, api, op, request):
    with_lines(request, op, world)
    response = call(api(world.adam), op, world)
    assert response.status_code == op.ok, response.content
    if response.streaming:
        b"".join(response.streaming_content)  # to its end, which closes its query


SELF = [op for op in OPS if op.role == "self" and op.name != "team-leave"]


@pytest.mark.parametrize("op", SELF, ids=[op.name for op in SELF])
def test_an_admin_cannot_use_someone_elses_token_or_invitation(world, api, op):
    assert_error(call(api(world.adam), op, world), 404, "not_found")


def _owner_ops(w: World) -> list[tuple[str, str, dict | None]]:
    a = f"/api/v1/teams/{w.team_a.pk}"
    return [
        ("patch", f"{a}/members/{w.member['adam']}/", {"role": Role.OWNER}),  # take it
        ("patch", f"{a}/members/{w.member['bob']}/", {"role": Role.OWNER}),  # grant it
        ("patch", f"{a}/members/{w.member['alice']}/", {"role": Role.ADMIN}),  # demote the owner
        ("delete", f"{a}/members/{w.member['alice']}/", None),  # remove the owner
        ("post", f"{a}/invitations/", {"username": "zoe", "role": Role.OWNER}),  # invite an owner
    ]


def test_an_admin_never_touches_the_owner_role(world, api):
    client = api(world.adam)
    roles_before = dict(Membership.objects.filter(team=world.team_a).values_list("user__username", "role"))
    for method, url, data in _owner_ops(world):
        response = getattr(client, method)(url, **({"data": data, "format": "json"} if data else {}))
        assert_error(response, 403, "permission_denied")
        assert "owner" in response.json()["error"]["message"].lower()
    roles_after = dict(Membership.objects.filter(team=world.team_a).values_list("user__username", "role"))
    assert roles_after == roles_before
    assert not Invitation.objects.filter(role=Role.OWNER).exists()
