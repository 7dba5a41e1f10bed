"""The real stack under fault: a Spark Connect server, qcluster and web server of
the test's own, each of which the test may SIGKILL and start again."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import requests
from django.db import connection
from django_q.models import Schedule

from logplatform.processes import Child, wait_until, web_start
from spark_client.server import local_server
from tests.conftest import PASSWORD, child_env, free_port

pytestmark = pytest.mark.chaos
T = TypeVar("T")

OVERRIDE = """
worker:
  lease_seconds: 8
  redispatch_after_seconds: 20
spark:
  reconnect_wait_seconds: 90
"""


def pg_restart() -> bool:
    """Restart the local PostgreSQL cluster; False when the tests do not use it."""
    if connection.vendor != "postgresql":
        return False
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True, timeout=120
    )
    connection.close()
    return True


@pytest.fixture
def chaos_spark(tmp_path_factory) -> Iterator[local_server.LocalServerConfig]:
    from analyses.engine_config import engine_options_from_config

    cfg = local_server.LocalServerConfig(
        run_dir=tmp_path_factory.mktemp("chaos-spark"),
        port=free_port(),
        driver_memory="2g",
        name="chaos-connect-server",
        warm_up_options=engine_options_from_config(),
    )
    local_server.start(cfg)
    yield cfg
    local_server.stop(cfg)


class Stack:
    """qcluster + gunicorn on the test database, pointed at the chaos Spark server."""

    def __init__(
        self, tmp_path: Path, spark_cfg: local_server.LocalServerConfig | None, faults: str = ""
    ) -> None:
        override = tmp_path / "chaos.yaml"
        override.write_text(OVERRIDE)
        self.tmp_path = tmp_path
        self.spark_cfg = spark_cfg
        self.env = child_env(
            SPARK_CONNECT_URL=f"sc://127.0.0.1:{spark_cfg.port if spark_cfg else free_port()}",
            LOGPLATFORM_CONFIG=str(override),
            LOGPLATFORM_FAULTS=faults,
            Q_WORKERS="2",
        )
        self.qclusters: list[Child] = []
        self.web_port = free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.web: Child | None = None
        # transactional tests flush the data migration's schedule: put it back.
        Schedule.objects.update_or_create(
            name="Reap expired analysis leases",
            defaults={
                "func": "analyses.tasks.reap_leases",
                "schedule_type": "I",
                "minutes": 1,
                "repeats": -1,
            },
        )

    def start_qcluster(self) -> Child:
        proc = Child(
            [sys.executable, "manage.py", "qcluster"],
            log=self.tmp_path / f"qcluster-{len(self.qclusters)}.log",
            env=self.env,
        )
        self.qclusters.append(proc)
        return proc

    def kill_qcluster(self) -> None:
        self.qclusters[-1].stop(sig=signal.SIGKILL)

    def start_web(self) -> None:
        self.web = web_start(
            port=self.web_port,
            env=self.env,
            log=self.tmp_path / f"web-{time.monotonic_ns()}.log",
            workers=2,
            threads=8,
            timeout=120,
        )

    def stop(self) -> None:
        for proc in self.qclusters:
            proc.stop(sig=signal.SIGKILL)
        if self.web:
            self.web.stop()

    def logs(self) -> str:
        return "\n".join(p.output() for p in self.qclusters)


def wait_for(condition: Callable[[], T], timeout: float, what: str, every: float = 0.3) -> T:
    """wait_until through a database restart: a failing query counts as "not yet", and
    the next try opens a new connection."""

    def probe() -> T:
        try:
            return condition()
        except Exception:
            connection.close()
            raise

    return wait_until(probe, timeout=timeout, message=what, interval=every, ignore=(Exception,))


@pytest.fixture
def stack(transactional_db, chaos_spark, tmp_path) -> Iterator[Callable[..., Stack]]:
    made: list[Stack] = []

    def make(faults: str = "") -> Stack:
        made.append(Stack(tmp_path, chaos_spark, faults))
        return made[-1]

    yield make
    for s in made:
        s.stop()


@pytest.fixture
def web_stack(transactional_db, tmp_path) -> Iterator[Stack]:
    """The web server alone (no Spark, no workers)."""
    made = Stack(tmp_path, None)
    yield made
    made.stop()


def browser_session(url: str, username: str) -> requests.Session:
    """A signed-in requests session with its CSRF token, like a browser's."""
    s = requests.Session()
    page = s.get(f"{url}/accounts/login/", timeout=10).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    s.post(
        f"{url}/accounts/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{url}/accounts/login/"},
        timeout=10,
    )
    s.headers["X-CSRFToken"] = s.cookies["csrftoken"]
    s.headers["Referer"] = f"{url}/analyses/upload/"
    return s


def page_upload(session: requests.Session, url: str, files: list[tuple[str, str]]) -> int:
    response = session.post(
        f"{url}/analyses/upload/",
        files=[("files", (name, text)) for name, text in files],
        headers={"Accept": "application/json"},
        timeout=120,
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def worker_pid(worker: str) -> int:
    return int(worker.rsplit(":", 1)[1])
