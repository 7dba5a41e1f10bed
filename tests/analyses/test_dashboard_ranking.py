"""Top-N tables of the analysis page and the count of the capped rest, from the
rollup rows alone (no Spark): one grouped query per table gives both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analyses import dashboard
from analyses.models import RollupErrorType, RollupIp, RollupService
from spark_client.rows import OTHER
from tests.analyses.helpers import make_analysis

pytestmark = pytest.mark.django_db

H1 = datetime(2024, 3, 1, 10, tzinfo=UTC)
H2 = datetime(2024, 3, 1, 11, tzinfo=UTC)


@pytest.fixture
def analysis(team_a, bob, tmp_path):
    analysis = make_analysis(team_a, bob, tmp_path)
    ips = {"10.0.0.1": 9, "10.0.0.2": 7, "10.0.0.3": 5, "10.0.0.4": 3, OTHER: 4}
    for hour in (H1, H2):
        RollupService.objects.create(analysis=analysis, hour=hour, level="ERROR", service="api", count=14)
        RollupService.objects.create(analysis=analysis, hour=hour, level="INFO", service="api", count=50)
        RollupService.objects.create(analysis=analysis, hour=hour, level="ERROR", service=OTHER, count=2)
        for ip, n in ips.items():
            RollupIp.objects.create(
                analysis=analysis, hour=hour, level="ERROR", service="api", ip=ip, count=n
            )
        RollupErrorType.objects.create(
            analysis=analysis, hour=hour, level="ERROR", service="api", error_type="Timeout <n>", count=10
        )
        RollupErrorType.objects.create(
            analysis=analysis, hour=hour, level="ERROR", service="api", error_type=OTHER, count=6
        )
    return analysis


def test_top_rows_exclude_the_rest_and_count_it_apart(analysis):
    data = dashboard.dashboard_data(analysis=analysis, filters=dashboard.Filters(), limit=3)
    assert data["errors_per_ip"] == [
        {"ip": "10.0.0.1", "count": 18},
        {"ip": "10.0.0.2", "count": 14},
        {"ip": "10.0.0.3", "count": 10},
    ]
    assert data["errors_by_type"] == [{"error_type": "Timeout <n>", "count": 20}]
    assert data["errors_per_service"] == [{"service": "api", "count": 28}]
    # The rest is only what the engine capped as OTHER, not what the limit cut off.
    assert data["other"] == {"error_types": 12, "ips": 8, "services": 4}


def test_filters_apply_to_the_rest_too(analysis):
    filters = dashboard.Filters(start=H2)
    data = dashboard.dashboard_data(analysis=analysis, filters=filters, limit=100)
    assert [row["count"] for row in data["errors_per_ip"]] == [9, 7, 5, 3]
    assert data["other"] == {"error_types": 6, "ips": 4, "services": 2}


def test_each_table_is_one_query(analysis):
    with CaptureQueriesContext(connection) as queries:
        dashboard.dashboard_data(analysis=analysis, filters=dashboard.Filters(), limit=3)
    rollup_queries = [q["sql"] for q in queries.captured_queries if "rollup" in q["sql"]]
    # levels, errors over time, and one per top-N table (types, IPs, services).
    assert len(rollup_queries) == 5, rollup_queries


def test_far_apart_runs_of_days_keep_hourly_buckets(team_a, bob, tmp_path):
    """Two three-day runs eleven years apart: each run is short, so the chart keeps
    hours (one panel per run, analyses.charts); a run of two weeks makes it days."""
    analysis = make_analysis(team_a, bob, tmp_path)

    def error_hour(at: datetime) -> None:
        RollupService.objects.create(analysis=analysis, hour=at, level="ERROR", service="", count=2)

    for start in (datetime(2015, 5, 17, tzinfo=UTC), datetime(2026, 12, 10, tzinfo=UTC)):
        for hours in (0, 30, 70):
            error_hour(start + timedelta(hours=hours))
    data = dashboard.dashboard_data(analysis=analysis, filters=dashboard.Filters())
    assert data["over_time_unit"] == "hour"
    assert len(data["over_time"]["ERROR"]) == 6
    for day in range(3, 16):  # the 2026 run goes on, a line a day, to two weeks
        error_hour(datetime(2026, 12, 10, tzinfo=UTC) + timedelta(days=day))
    data = dashboard.dashboard_data(analysis=analysis, filters=dashboard.Filters())
    assert data["over_time_unit"] == "day"
