"""One analysis on a real Spark standalone cluster (a master and two workers from
the pip-installed pyspark, and a Spark Connect server whose executors run on
them) gives the local server's results, number for number."""

from __future__ import annotations

import json

import pytest

from analyses.engine_config import session_options
from spark_client.engine import analyze
from spark_client.server import cluster
from spark_client.server.session import SHUFFLE_PARTITIONS, connect
from spark_client.types import InputFile
from tests import logdata as ld
from tests.conftest import free_port
from tests.spark_client.conftest import engine_options

pytestmark = [pytest.mark.e2e, pytest.mark.spark]


@pytest.fixture(scope="module")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory):
    cfg = cluster.ClusterConfig(
        run_dir=tmp_path_factory.mktemp("cluster"),
        master_port=free_port(),
        master_ui_port=free_port(),
        worker_ui_port=0,
        connect_port=free_port(),
        startup_timeout=240,
    )
    try:
        cluster.start(cfg)
        yield cfg
    finally:
        cluster.stop(cfg)


@pytest.fixture
def inputs(tmp_path) -> list[InputFile]:
    """Three formats, with unparsed lines and stack-trace continuations, big enough
    for several tasks on two executors."""
    csv_events = ld.make_events(6000, seed=71, no_ts_every=97)
    log_events = ld.make_events(4000, seed=72)
    files = {
        "app.csv": ld.render_csv(csv_events) + "not,a,valid\n",
        "hadoop.log": ld.render_log4j_iso(log_events)
        + "java.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)\ngarbage line\n",
        "events.jsonl": ld.render_jsonl(ld.make_events(3000, seed=73)),
    }
    out = []
    for i, (name, text) in enumerate(files.items(), start=1):
        path = tmp_path / name
        path.write_text(text)
        out.append(InputFile(file_id=100 + i, path=str(path), name=name))
    return out


def _rollups(rows: list[dict]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


def test_an_analysis_on_the_cluster_equals_the_local_one(spark_cluster, spark, inputs):
    options = engine_options(rollup_cap=20, top_n=15)
    local = analyze(spark, inputs, options)

    session = connect(spark_cluster.connect_url, **session_options())
    try:
        # Shuffle partitions are sized to the cluster: every executor core counts.
        cores = spark_cluster.workers * spark_cluster.worker_cores
        per_core = session_options()["partitions_per_core"]
        assert session.conf.get(SHUFFLE_PARTITIONS) == str(per_core * cores)
        remote = analyze(session, inputs, options)
    finally:
        session.stop()

    assert remote.summary == local.summary
    assert remote.tables == local.tables
    assert [f.as_dict() for f in remote.files] == [f.as_dict() for f in local.files]
    assert remote.trend_bucket_seconds == local.trend_bucket_seconds
    assert _rollups(remote.rollup_service) == _rollups(local.rollup_service)
    assert _rollups(remote.rollup_error_type) == _rollups(local.rollup_error_type)
    assert _rollups(remote.rollup_ip) == _rollups(local.rollup_ip)
    # The data is not trivial: every kind of result is there, caps included.
    assert local.summary["total_logs"] >= 13000 and local.summary["unparsed_lines"] >= 1
    assert any(r["ip"] == "(other)" for r in local.rollup_ip)
    # And the work ran on the cluster's executors, not in a local driver.
    state = cluster.master_state(spark_cluster)
    assert cluster.alive_workers(spark_cluster) == 2
    apps = state["activeapps"] + state["completedapps"]
    assert apps and all(app["cores"] >= 1 for app in state["activeapps"])
