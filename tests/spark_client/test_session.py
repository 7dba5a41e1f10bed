"""Analysis sessions are sized to the server they run on: shuffle partitions per
core of the server (all executors' cores on a cluster), unless set explicitly."""

from __future__ import annotations

import os

import pytest

from spark_client.server.session import SHUFFLE_PARTITIONS, connect, server_cores

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
