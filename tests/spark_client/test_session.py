"""Analysis sessions are sized to the server they run on: shuffle partitions per
core of the server (all executors' cores on a cluster), unless set explicitly."""

from __future__ import annotations

import os

import pytest

from spark_client.server.session import SHUFFLE_PARTITIONS, STREAMING_CHANNEL_OPTIONS, connect, server_cores

pytestmark = pytest.mark.spark


@pytest.fixture
def open_session(spark_url):
    opened = []

    def _open(**kwargs):
        session = connect(spark_url, **kwargs)
        opened.append(session)
        return session

    yield _open
    for session in opened:
        session.stop()


def test_server_cores_are_the_cores_of_a_local_server(spark):
    # The test server runs local[*]: one task slot per core this machine gives us.
    assert server_cores(spark) == len(os.sched_getaffinity(0))


def test_shuffle_partitions_follow_the_server_cores(open_session, spark):
    session = open_session(partitions_per_core=3)
    assert session.conf.get(SHUFFLE_PARTITIONS) == str(3 * server_cores(spark))


def test_an_explicit_shuffle_partitions_conf_wins(open_session):
    session = open_session(conf={SHUFFLE_PARTITIONS: "5"}, partitions_per_core=3)
    assert session.conf.get(SHUFFLE_PARTITIONS) == "5"


def test_zero_per_core_leaves_the_server_default(open_session):
    session = open_session(partitions_per_core=0)
    assert session.conf.get(SHUFFLE_PARTITIONS) == "200"


def test_the_worker_session_uses_the_shipped_config(spark_url, settings):
    from analyses.engine_config import spark_session

    session = spark_session()
    per_core = settings.LOGPLATFORM["spark"]["shuffle_partitions_per_core"]
    assert per_core >= 1
    assert session.conf.get(SHUFFLE_PARTITIONS) == str(per_core * server_cores(session))
    for key, value in settings.LOGPLATFORM["spark"]["session_conf"].items():
        assert session.conf.get(key) == str(value)


def test_a_session_opened_with_channel_options_has_them_and_runs_queries(open_session):
    from pyspark.sql import functions as F

    session = open_session(conf={SHUFFLE_PARTITIONS: "2"}, channel_options=STREAMING_CHANNEL_OPTIONS)
    options = dict(session.client._builder._channel_options)
    for key, value in STREAMING_CHANNEL_OPTIONS:
        assert options[key] == value
    assert session.conf.get(SHUFFLE_PARTITIONS) == "2"
    rows = session.range(10).where(F.col("id") % 2 == 0).agg(F.sum("id")).collect()
    assert rows[0][0] == 0 + 2 + 4 + 6 + 8


def test_the_lines_view_streams_on_its_own_channel_and_the_worker_keeps_the_default(spark_url):
    """The web's Lines session (its exports stream to slow clients) has the streaming
    options; the worker's session has gRPC's defaults; forgetting the server drops both."""
    from analyses.engine_config import forget_spark_session, spark_session
    from analyses.lines.guard import _session

    worker, lines = spark_session(), _session()
    assert lines is not worker
    assert _session() is lines and spark_session() is worker
    assert dict(lines.client._builder._channel_options)["grpc.http2.bdp_probe"] == 0
    assert "grpc.http2.bdp_probe" not in dict(worker.client._builder._channel_options)
    assert lines.range(3).count() == 3
    forget_spark_session()
    assert spark_session() is not worker and _session() is not lines
