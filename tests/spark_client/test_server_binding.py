"""The local Spark Connect server listens on loopback, and nowhere else without a token."""

from __future__ import annotations

import pytest

from spark_client.errors import SparkServerError
from spark_client.server import local_server


def _conf(cfg: local_server.LocalServerConfig) -> dict[str, str]:
    args = local_server.command(cfg)
    return dict(args[i + 1].split("=", 1) for i, arg in enumerate(args) if arg == "--conf")


def test_it_binds_the_server_and_its_driver_to_loopback_by_default(tmp_path):
    conf = _conf(local_server.LocalServerConfig(run_dir=tmp_path))

    assert conf["spark.connect.grpc.binding.address"] == "127.0.0.1"
    assert conf["spark.driver.bindAddress"] == "127.0.0.1"
    assert conf["spark.ui.enabled"] == "false"
    assert conf["spark.master.rest.enabled"] == "false"


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "spark.example.org"])
def test_it_refuses_another_address_without_a_token(tmp_path, host):
    cfg = local_server.LocalServerConfig(run_dir=tmp_path, host=host, port=1)

    with pytest.raises(SparkServerError, match="without a token"):
        local_server.start(cfg)

    assert not (tmp_path / "tmp").exists()  # refused before anything was started
