"""The OpenAPI schema, the docs page, and a schemathesis run of every operation.

Schemathesis loads /api/schema/ from the real WSGI application and sends generated
requests (valid and invalid) to every operation, on the real test database,
authenticated with a real token; any 5xx or any answer the schema does not
describe fails the test.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from accounts import tokens
from accounts.models import ApiToken
from analyses.models import Alert, AlertRule, AnalysisResult
from tests.analyses import patterns_helpers
from tests.analyses.helpers import make_analysis, store_result
from tests.analyses.lines_helpers import attach_lines, write_lines
from tests.logdata import make_events, render_csv

pytestmark = pytest.mark.django_db


def test_the_schema_is_openapi_3_and_describes_every_operation(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    operations = {(m.upper(), p) for p, item in schema["paths"].items() for m in item}
    assert len(operations) == 36
    assert ("POST", "/api/v1/analyses/") in operations
    assert ("GET", "/api/v1/analyses/{analysis_id}/results/") in operations
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["tokenAuth"]["description"],
    }
    upload = schema["paths"]["/api/v1/analyses/"]["post"]
    assert list(upload["requestBody"]["content"]) == ["multipart/form-data"]
    assert set(upload["responses"]) == {"202", "400", "401", "403", "404", "413", "415", "429", "507"}
    ids = [op["operationId"] for item in schema["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_the_docs_page_uses_only_local_assets(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") for s in sources), sources
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        if source.startswith("/static/"):
            assert b"".join(asset.streaming_content if asset.streaming else [asset.content])
    assert "/api/schema/" in client.get("/api/docs/?script=").content.decode()


# --------------------------------------------------------------------------- schemathesis

MAX_EXAMPLES = 12


class Credentials:
    """Alice's token; a new one when a generated DELETE /tokens/{id}/ revoked it."""

    def __init__(self, user) -> None:
        self.user = user
        self.token: ApiToken | None = None
        self.raw = ""

    def header(self) -> dict[str, str]:
        if self.token is None or ApiToken.objects.filter(pk=self.token.pk, revoked_at=None).count() == 0:
            self.token, self.raw = tokens.api_token_create(user=self.user, name="schemathesis")
        return {"Authorization": f"Bearer {self.raw}"}


def _examples(raw: dict, values: dict[tuple[str, str, str], int]) -> None:
    """Give path parameters real ids, per operation, so generated requests reach real objects."""
    for (method, path, name), value in values.items():
        for parameter in raw["paths"][path][method]["parameters"]:
            if parameter["name"] == name:
                parameter["schema"]["examples"] = [value]


@pytest.fixture
def credentials(alice) -> Credentials:
    return Credentials(alice)


@pytest.fixture(scope="module")
def schema_lines(spark, storage_root) -> tuple[str, list[list[int]]]:
    return "lines/schema/run", write_lines(spark, "lines/schema/run", 1000, partitions=2)


@pytest.fixture
def api_schema(team_a, alice, bob, tmp_path, credentials, schema_lines):
    events = make_events(200, seed=9)
    analysis = store_result(make_analysis(team_a, alice, tmp_path, text=render_csv(events)), events)
    # Stored lines, so the Lines operations run their queries on Spark.
    attach_lines(analysis, *schema_lines)
    # Patterns, so the Patterns operation answers its list (issue 21).
    result = AnalysisResult.objects.get(analysis=analysis)
    result.document = {
        **result.document,
        "patterns": patterns_helpers.section(
            [patterns_helpers.item("Disk <*> full", 5, errors=5), patterns_helpers.item("Up <*>", 9)]
        ),
    }
    result.save(update_fields=["document"])
    doomed = make_analysis(team_a, alice, tmp_path, name="doomed.csv")
    rules = list(AlertRule.objects.filter(team=team_a))
    alert = Alert.objects.create(
        team=team_a,
        analysis=analysis,
        rule=rules[0],
        kind=rules[0].kind,
        value=1,
        threshold=0,
        severity="warning",
        message="m",
    )
    spare, _ = tokens.api_token_create(user=alice, name="spare")

    # Django closes "old" connections around each request, which would end the test's
    # transaction; the test client switches that off the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    config = schemathesis.Config.from_dict(
        {
            "seed": 606,
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
            "phases": {"stateful": {"enabled": False}},
            "operations": [
                {
                    # The rule form's checks (an error-rate threshold is a fraction; a webhook
                    # is a reachable-looking http(s) URL) are beyond JSON Schema, so a
                    # schema-valid rule may still be refused with 400.
                    "include-operation-id": ["alert_rules_create", "alert_rules_partial_update"],
                    "checks": {"positive_data_acceptance": {"enabled": False}},
                },
                {
                    # A re-run's `files[].id` must be a file of that analysis, which the
                    # schema cannot say, so a schema-valid body may still be refused with 400.
                    "include-operation-id": ["analyses_rerun"],
                    "checks": {"positive_data_acceptance": {"enabled": False}},
                },
                {
                    # Likewise a Lines `file` (a file of that analysis), a `cursor` (one the
                    # API gave out), `from` before `to`, and a `q` that is a pattern.
                    "include-operation-id": [
                        "analyses_lines_list",
                        "analyses_lines_context",
                        "analyses_lines_export",
                    ],
                    "checks": {"positive_data_acceptance": {"enabled": False}},
                },
            ],
        }
    )
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler(), config=config)
    a, r = "/api/v1/analyses/{analysis_id}/", "/api/v1/alert-rules/{rule_id}/"
    _examples(
        schema.raw_schema,
        {
            ("get", a, "analysis_id"): analysis.pk,
            ("delete", a, "analysis_id"): doomed.pk,
            **{
                ("get", a + tail, "analysis_id"): analysis.pk
                for tail in (
                    "results/",
                    "reports/",
                    "reports.zip",
                    "lines/",
                    "lines/context/",
                    "lines/export/",
                    "patterns/",
                )
            },
            ("get", a + "reports/{filename}", "analysis_id"): analysis.pk,
            ("post", a + "rerun/", "analysis_id"): analysis.pk,
            ("post", "/api/v1/alerts/{alert_id}/acknowledge/", "alert_id"): alert.pk,
            ("get", r, "rule_id"): rules[0].pk,
            ("patch", r, "rule_id"): rules[1].pk,
            ("delete", r, "rule_id"): rules[2].pk,
            ("delete", "/api/v1/tokens/{token_id}/", "token_id"): spare.pk,
        },
    )
    yield schema
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_to_the_schema(case, credentials):
    case.call_and_validate(headers=credentials.header())
