"""Every endpoint: 401 without credentials, 404 for another team's object, 403 for a
viewer's (or a member's, for admin-only) write, and the happy path.

The table below is the permission matrix; one row per operation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from accounts import tokens
from analyses.models import Alert, AlertKind, AlertRule, Analysis, Severity
from tests.analyses.helpers import make_analysis, upload
from tests.api.conftest import store_result
from tests.logdata import make_events, render_csv

pytestmark = pytest.mark.django_db


@dataclass
class World:
    alice: Any
    bob: Any
    victor: Any
    charlie: Any
    analysis: Analysis
    alert: Alert
    rule: AlertRule
    token_id: int


@pytest.fixture
def world(team_a, team_b, alice, bob, victor, charlie, tmp_path) -> World:
    events = make_events(300, seed=5)
    analysis = store_result(make_analysis(team_a, alice, tmp_path, text=render_csv(events)), events)
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
    return World(alice, bob, victor, charlie, analysis, alert, rule, token.pk)


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
    role: str = "read"  # read | write (members and up) | admin (owners and admins) | self (own objects)
    scoped: bool = True  # names a team's object (or a team): another team's answers 404
    happy_user: str = "alice"
    check: Callable[[World, Any], None] = field(default=lambda w, r: None)


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
        "tokens-create", "post", lambda w: "/api/v1/tokens/", 201, data=lambda w: {"name": "ci"}, scoped=False
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
]
IDS = [op.name for op in OPS]


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

    api = next(p for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/")
    operations = set()
    for pattern in api.url_patterns:
        methods = getattr(pattern.callback, "operations", None) or {"ONE": None}
        operations |= {(str(pattern.pattern), method) for method in methods if method != "HEAD"}
    # + auth/token/, the one public endpoint (tests/api/test_tokens.py).
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
def test_it_works(world, api, op):
    response = call(api(getattr(world, op.happy_user)), op, world)
    assert response.status_code == op.ok, response.content
    op.check(world, response)
