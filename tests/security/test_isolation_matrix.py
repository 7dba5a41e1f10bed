"""Tenant isolation, generated from the URL resolver: every URL (pages and API) x
every method x {another team, a viewer, an admin, signed out}. Team A owns every
object; charlie (team B) must never see or touch one, victor (viewer of A) must
never write, adam (admin of A) reads everything but never touches the owner's
membership nor anyone's personal objects, and nobody signed out gets anything but
a redirect to sign in (pages) or 401 (API). Lists, exports and searches must hold
no foreign row.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts import tokens
from accounts.invitations import invitation_create
from accounts.models import Membership, Role
from accounts.services import user_create
from analyses.models import Alert, AlertKind, AnalysisResult
from tests.analyses.helpers import make_analysis
from tests.conftest import BASE_DIR

pytestmark = pytest.mark.django_db

METHODS = ["get", "post", "put", "patch", "delete"]
SKIP_NAMESPACES = {"admin"}
# Public by design: sign-in pages, the token endpoint (it checks a password), the
# schema and its docs (no data).
PUBLIC = {"accounts:login", "accounts:logout", "api:auth-token", "api-schema", "api-docs"}
# Per-user, not per-team: every signed-in user may use these for themselves.
SELF_SERVICE = {
    "api:tokens",
    "api:me",
    "api:teams",
    "api:invitations",
    "accounts:team_switch",
    "accounts:tokens",
    "accounts:invitations",
    "accounts:password_change",
    # Leaves the caller's current team (a member may always leave).
    "accounts:team_leave",
}
# Objects of one *user* (alice's API token; an invitation addressed to zoe, who is in
# no team): anybody else gets 404.
PERSONAL = {
    "api:token",
    "api:invitation-accept",
    "api:invitation-decline",
    "accounts:invitation_accept",
    "accounts:invitation_decline",
}
# Leaving team A: the other team gets 404; the same team's personas are not sent
# (it would succeed: leaving needs no role).
LEAVE = {"api:team-leave"}
# The owner's membership (membership_id is alice's): an admin is refused too.
OWNER_ONLY = {"accounts:member_role", "accounts:member_remove", "api:team-member"}
SECRET = "TEAM-A-SECRET"


def named_patterns(resolver: URLResolver | None = None, prefix: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in SKIP_NAMESPACES:
                continue
            found += named_patterns(entry, f"{prefix}{entry.namespace}:" if entry.namespace else prefix)
        elif entry.name:
            found.append((f"{prefix}{entry.name}", entry))
    return found


@pytest.fixture
def world(team_a, alice, bob, victor, charlie, adam, tmp_path):
    analysis = make_analysis(team_a, alice, tmp_path, name=f"{SECRET}.csv")
    summary = {
        "total_logs": 1,
        "error_count": 1,
        "critical_count": 0,
        "warn_count": 0,
        "error_rate": 1.0,
        "levels": {"DEBUG": 0, "INFO": 0, "WARN": 0, "ERROR": 1, "CRITICAL": 0},
        "rows_without_timestamp": 0,
        "unparsed_lines": 0,
        "first_ts": None,
        "last_ts": None,
        "distinct_ips": 0,
        "distinct_services": 0,
        "distinct_error_types": 1,
    }
    tables = {
        name: []
        for name in (
            "errors_by_hour",
            "errors_by_day",
            "error_trends",
            "errors_by_type",
            "top_errors",
            "errors_per_ip",
            "errors_per_service",
            "errors_by_severity",
        )
    }
    patterns = {
        "items": [
            {
                "id": "0123456789abcdef",
                "template": f"{SECRET} failed for <*>",
                "count": 1,
                "errors": 1,
                "levels": {"ERROR": 1},
                "first_ts": None,
                "last_ts": None,
                "example": f"{SECRET} failed for x",
                "sparkline": [0],
            }
        ],
        "sparkline": {"start": None, "bucket_seconds": 3600, "buckets": 1},
        "total": 1,
        "distinct_messages": 1,
        "capped": False,
    }
    AnalysisResult.objects.create(
        analysis=analysis,
        document={"summary": summary, "files": [], "tables": tables, "patterns": patterns},
    )
    alert = Alert.objects.create(
        team=team_a,
        analysis=analysis,
        kind=AlertKind.ERROR_COUNT,
        value=1,
        threshold=0,
        severity="warning",
        message=f"{SECRET} alert",
    )
    token, _ = tokens.api_token_create(user=alice, name=SECRET)
    user_create(username="zoe", password="zoe-has-a-long-password")
    invitation = invitation_create(
        acting=Membership.objects.get(user=alice, team=team_a), username="zoe", role=Role.MEMBER
    )
    values = {
        "analysis_id": analysis.pk,
        "file_id": analysis.files.get().pk,
        "filename": "summary.json",
        "alert_id": alert.pk,
        "rule_id": team_a.alert_rules.first().pk,
        "token_id": token.pk,
        "team_id": team_a.pk,
        "membership_id": Membership.objects.get(user=alice, team=team_a).pk,
        "invitation_id": invitation.pk,
    }
    return values


def urls(world: dict) -> list[tuple[str, str, bool]]:
    """(name, path, has an object of team A in it)."""
    out = []
    for name, pattern in named_patterns():
        params = list(pattern.pattern.converters)
        if any(p not in world for p in params):
            raise AssertionError(f"the matrix does not know how to fill {params} of {name}")
        out.append((name, reverse(name, kwargs={p: world[p] for p in params}), bool(params)))
    return out


def call(client: Client, method: str, path: str, headers: dict) -> int:
    kwargs = {"content_type": "application/json", "data": "{}"} if method in ("post", "put", "patch") else {}
    return getattr(client, method)(path, **kwargs, **headers).status_code


def expected(status: int, *, method: str, has_object: bool, same_team: bool) -> bool:
    write = method in ("post", "put", "patch", "delete")
    if not same_team:
        # Another team's object does not exist; a collection may answer, but from
        # the caller's own team (checked by the list test below).
        return status in (404, 405) if has_object else status < 500
    if write:
        # A viewer never writes: refused (403), or the method does not exist (405),
        # or, on a collection, the body is refused (400, 415) before the role is checked.
        return status in (403, 405) if has_object else status in (400, 403, 405, 415)
    return status < 500  # a viewer reads (the form page of a write may say 403)


def token_client(user) -> tuple[Client, dict]:  # noqa: ANN001
    _, raw = tokens.api_token_create(user=user, name="matrix")
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def admin_expected(status: int, *, name: str, method: str) -> bool:
    """An admin of team A reads everything; of the writes, only those an admin must be
    refused are sent (the others succeed, and would change the world for later rows;
    tests/security/test_api_permissions.py covers them)."""
    if name in PERSONAL:
        return status in (404, 405)
    if method == "get":
        return status < 500 and status != 403
    return status in (403, 405)


def admin_sends(name: str, method: str) -> bool:
    return method == "get" or name in PERSONAL or name in OWNER_ONLY


# Every URL is in the matrix by construction; these are named so that they stay in it.
LINES = {
    "analyses:lines",
    "analyses:lines_context",
    "analyses:lines_export",
    "api:analysis-lines",
    "api:analysis-lines-context",
    "api:analysis-lines-export",
}


# The Patterns view (issue 21); `compare` to another team's analysis: tests/analyses/test_patterns_*.py.
PATTERNS = {"analyses:patterns", "api:analysis-patterns"}


def test_isolation_matrix(world, charlie, victor, adam, team_a):
    rows = urls(world)
    assert LINES | PATTERNS <= {name for name, _, _ in rows}
    checked = 0
    by_persona: dict[str, int] = {}
    problems = []
    outsiders = {"other team": (charlie, False), "viewer": (victor, True)}
    for name, path, has_object in rows:
        is_api = path.startswith("/api/")
        for method in METHODS:
            # Signed out: nothing but sign-in (pages) or 401 (API).
            if name not in PUBLIC:
                status = call(Client(), method, path, {})
                allowed = {401, 405} if is_api else {302, 405}
                if status not in allowed:
                    problems.append(f"signed out {method.upper()} {path}: {status}")
                checked += 1
                by_persona["signed out"] = by_persona.get("signed out", 0) + 1
            if name in PUBLIC or name in SELF_SERVICE:
                continue
            personas = dict(outsiders)
            if name in LEAVE:
                personas.pop("viewer")
            elif admin_sends(name, method):
                personas["admin"] = (adam, True)
            for persona, (user, same_team) in personas.items():
                if is_api:
                    client, headers = token_client(user)
                else:
                    client, headers = Client(), {}
                    client.force_login(user)
                status = call(client, method, path, headers)
                checked += 1
                by_persona[persona] = by_persona.get(persona, 0) + 1
                if persona == "admin":
                    good = admin_expected(status, name=name, method=method)
                elif name in PERSONAL:
                    good = status in (404, 405)
                else:
                    good = expected(status, method=method, has_object=has_object, same_team=same_team)
                if not good:
                    problems.append(f"{persona} {method.upper()} {path}: {status}")
    # Nobody above may have changed who is in team A, or as what.
    roles = dict(Membership.objects.filter(team=team_a).values_list("user__username", "role"))
    if roles != {"alice": "owner", "adam": "admin", "bob": "member", "victor": "viewer"}:
        problems.append(f"team A's members changed: {roles}")
    (BASE_DIR / "artifacts").mkdir(exist_ok=True)
    (BASE_DIR / "artifacts" / "isolation.json").write_text(
        json.dumps(
            {
                "urls": len(rows),
                "methods": len(METHODS),
                "checks": checked,
                "by_persona": by_persona,
                "problems": problems,
            },
            indent=2,
        )
    )
    assert problems == [], "\n".join(problems)
    assert checked > 300


def test_lists_exports_and_searches_hold_no_foreign_rows(world, charlie, team_b):
    client = Client()
    client.force_login(charlie)
    _, headers = token_client(charlie)
    pages = [
        reverse("analyses:history"),
        reverse("analyses:history") + f"?q={SECRET[:6]}",  # a search that would match it
        reverse("analyses:alerts") + "?show=all",
        reverse("analyses:rules"),
        reverse("accounts:members"),
        reverse("api:analyses") + f"?q={SECRET[:6]}",
        reverse("api:analyses"),
        reverse("api:alerts") + "?status=all",
        reverse("api:alert-rules"),
        reverse("api:teams"),
        reverse("api:tokens"),
        reverse("api:invitations"),
        reverse("accounts:invitations"),
        reverse("api:team-members", kwargs={"team_id": team_b.pk}),
        reverse("api:team-invitations", kwargs={"team_id": team_b.pk}),
    ]
    for path in pages:
        response = client.get(path, **(headers if path.startswith("/api/") else {}))
        assert response.status_code == 200, path
        body = response.content.decode()
        assert SECRET not in body, path
        assert "alice" not in body, path
