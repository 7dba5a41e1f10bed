"""All aggregates of an analysis come from one Spark query that reads each input once.

Verified from the outside: the Spark UI's REST API lists the SQL executions the
server ran while the analysis ran, with their physical plans.
"""

from __future__ import annotations

import os

import pytest
import requests

from tests import logdata as ld

pytestmark = pytest.mark.spark


@pytest.fixture
def spark_ui(spark):
    url = os.environ.get("TEST_SPARK_UI_URL")
    if not url:
        pytest.skip("the Spark UI is only known for the server the test session starts")
    apps = requests.get(f"{url}/api/v1/applications", timeout=10).json()
    return f"{url}/api/v1/applications/{apps[0]['id']}"


def executions(api: str) -> list[dict]:
    return requests.get(
        f"{api}/sql", params={"details": "true", "planDescription": "true", "length": 100000}, timeout=30
    ).json()


def test_an_analysis_is_one_query_reading_each_file_once(run, spark_ui):
    seen = {e["id"] for e in executions(spark_ui)}
    events = ld.make_events(3000, seed=51)
    out = run(
        {
            "a.csv": ld.render_csv(events[:1000]),
            "b.log": ld.render_log4j_iso(events[1000:2000]),
            "c.jsonl": ld.render_jsonl(events[2000:]),
        }
    )
    assert out.summary["total_logs"] == 3000
    new = [e for e in executions(spark_ui) if e["id"] not in seen]
    assert len(new) == 1, [e["description"] for e in new]
    # One scan node per input file in the executed plan (no re-reads, no branches).
    scans = sorted(n["nodeName"] for n in new[0]["nodes"] if n["nodeName"].startswith("Scan"))
    assert scans == ["Scan csv", "Scan text", "Scan text"], scans
    final_plan = new[0]["planDescription"].split("== Initial Plan ==")[0]
    assert "ReusedExchange" not in final_plan


def test_progress_is_reported_while_spark_runs(spark, tmp_path):
    from spark_client.engine import analyze
    from spark_client.types import InputFile
    from tests.spark_client.conftest import engine_options

    path = tmp_path / "p.csv"
    path.write_text(ld.render_csv(ld.make_events(2000, seed=52)))
    seen = []
    analyze(spark, [InputFile(1, str(path), "p.csv")], engine_options(), progress=seen.append)
    stages = [p.stage for p in seen]
    assert stages[0] == "Detecting formats"
    assert "Reading and aggregating in Spark" in stages
    assert stages[-1] == "Assembling results"
    spark_percents = [p.percent for p in seen if p.stage == "Reading and aggregating in Spark"]
    assert min(spark_percents) >= 10 and max(spark_percents) <= 90
    assert max(spark_percents) > 10


def compilations(ui: str) -> int:
    """Classes the server's code generator has compiled so far (Spark's metrics servlet)."""
    metrics = requests.get(f"{ui}/metrics/json/", timeout=10).json()["histograms"]
    (count,) = [m["count"] for name, m in metrics.items() if name.endswith("CodeGenerator.compilationTime")]
    return count


def test_a_new_session_reuses_the_code_another_session_compiled(spark, spark_url, spark_ui, tmp_path):
    """Each qcluster worker has its own Spark Connect session. The server shares
    generated code between sessions (spark_client/server/driver/connect_main.py), so a
    worker's first analysis does not compile and JIT the whole query again."""
    from analyses.engine_config import session_options
    from spark_client.engine import analyze
    from spark_client.server.session import connect
    from spark_client.types import InputFile
    from tests.spark_client.conftest import engine_options

    path = tmp_path / "shared.csv"
    path.write_text(ld.render_csv(ld.make_events(500, seed=53)))
    files = [InputFile(1, str(path), "shared.csv")]
    first = analyze(spark, files, engine_options())
    before = compilations(os.environ["TEST_SPARK_UI_URL"])
    assert before > 0

    other = connect(spark_url, **session_options())
    try:
        second = analyze(other, files, engine_options())
    finally:
        other.stop()
    assert second.summary == first.summary
    assert compilations(os.environ["TEST_SPARK_UI_URL"]) == before


def test_rollups_come_out_in_hour_order_per_partition(spark, tmp_path):
    """The rollups are stored in the order Spark sends them; in hour order, a page's
    hour-range index scan reads neighbouring table rows (docs/performance.md)."""
    from spark_client.engine import analyze
    from spark_client.server.session import SHUFFLE_PARTITIONS
    from spark_client.types import InputFile
    from tests.spark_client.conftest import engine_options

    path = tmp_path / "hours.csv"
    path.write_text(ld.render_csv(ld.make_events(6000, seed=54, span_hours=72)))
    out = analyze(spark, [InputFile(1, str(path), "hours.csv")], engine_options(rollup_cap=50))
    partitions = int(spark.conf.get(SHUFFLE_PARTITIONS))
    for rollup in (out.rollup_service, out.rollup_error_type, out.rollup_ip):
        hours = [row["hour"] for row in rollup]
        assert len(set(hours)) >= 72
        # Each partition is one ascending run: a step back only where the next begins.
        steps_back = sum(1 for earlier, later in zip(hours, hours[1:], strict=False) if later < earlier)
        assert steps_back <= partitions - 1, (steps_back, partitions)
