"""Shared fixtures: storage, a real Spark Connect server, personas, a real qcluster.

Personas encode the permission matrix (healthchecks style):
    alice   owner of team A        bob     member of team A
    adam    admin of team A        victor  viewer of team A
    charlie owner of team B (no access to A)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from accounts import services as account_services
from accounts.models import Role

BASE_DIR = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery-staple"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:
    """A test database of this session's own, so two test runs on one machine
    (or a run beside `make run`) never share one."""
    from django.db import connections

    suffix = f"_{os.getpid()}"
    for alias in connections:
        test = connections[alias].settings_dict.setdefault("TEST", {})
        name = test.get("NAME") or ""
        if name.endswith(".sqlite3"):
            test["NAME"] = name.replace(".sqlite3", f"{suffix}.sqlite3")
        elif connections[alias].vendor == "postgresql":
            test["NAME"] = f"test_{connections[alias].settings_dict['NAME']}{suffix}"


@pytest.fixture(scope="session", autouse=True)
def storage_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test session stores uploads in its own directory."""
    root = tmp_path_factory.mktemp("storage")
    settings.STORAGE_ROOT = root
    os.environ["STORAGE_ROOT"] = str(root)
    reports = tmp_path_factory.mktemp("reports")
    settings.REPORTS_DIR = reports
    os.environ["REPORTS_DIR"] = str(reports)
    return root


@pytest.fixture(autouse=True)
def clean_cache() -> None:
    """Throttle counters and the like live in the shared cache: start each test clean."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def static_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pages render with the production (manifest) storage, so collect once."""
    from django.core.management import call_command

    root = tmp_path_factory.mktemp("static")
    settings.STATIC_ROOT = root
    call_command("collectstatic", interactive=False, verbosity=0)
    return root


@pytest.fixture(scope="session")
def spark_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Spark Connect server: SPARK_CONNECT_URL if given, else one started here."""
    from spark_client import server

    given = os.environ.get("TEST_SPARK_CONNECT_URL") or os.environ.get("SPARK_CONNECT_URL")
    if given:
        settings.SPARK_CONNECT_URL = given
        os.environ["SPARK_CONNECT_URL"] = given
        yield given
        return
    port = free_port()
    ui_port = free_port()
    cfg = server.LocalServerConfig(
        run_dir=tmp_path_factory.mktemp("spark"),
        port=port,
        driver_memory="2g",
        # The UI (on loopback) lets tests count the SQL executions of an analysis.
        ui_enabled=True,
        ui_port=ui_port,
        conf={"spark.ui.retainedExecutions": "10000"},
        name="test-connect-server",
    )
    server.start(cfg)
    os.environ["TEST_SPARK_UI_URL"] = f"http://127.0.0.1:{ui_port}"
    url = f"sc://127.0.0.1:{port}"
    settings.SPARK_CONNECT_URL = url
    os.environ["SPARK_CONNECT_URL"] = url
    try:
        yield url
    finally:
        server.stop(cfg)


@pytest.fixture(scope="session")
def spark(spark_url: str):
    from analyses.engine_config import session_options
    from spark_client.session import connect

    session = connect(spark_url, **session_options())
    yield session
    try:
        session.stop()
    except Exception:  # noqa: S110 - the server may already be gone
        pass


# --------------------------------------------------------------------------- personas


@pytest.fixture
def team_a(db):
    return account_services.team_create(name="Team A", slug="team-a")


@pytest.fixture
def team_b(db):
    return account_services.team_create(name="Team B", slug="team-b")


def _person(username: str, team, role: str):
    user = account_services.user_create(username=username, password=PASSWORD)
    account_services.membership_create(team=team, user=user, role=role)
    return user


@pytest.fixture
def alice(team_a):
    return _person("alice", team_a, Role.OWNER)


@pytest.fixture
def bob(team_a):
    return _person("bob", team_a, Role.MEMBER)


@pytest.fixture
def adam(team_a):
    return _person("adam", team_a, Role.ADMIN)


@pytest.fixture
def victor(team_a):
    return _person("victor", team_a, Role.VIEWER)


@pytest.fixture
def charlie(team_b):
    return _person("charlie", team_b, Role.OWNER)


@pytest.fixture
def client_for(client):
    """client_for(user) -> a test client signed in as that user."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


# --------------------------------------------------------------------------- processes


def test_database_url() -> str:
    """The URL of the database the tests use, for child processes."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or ""
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=test_database_url(),
        STORAGE_ROOT=str(settings.STORAGE_ROOT),
        REPORTS_DIR=str(settings.REPORTS_DIR),
        SPARK_CONNECT_URL=settings.SPARK_CONNECT_URL,
        STATIC_ROOT=str(settings.STATIC_ROOT),
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class Process:
    def __init__(self, argv: list[str], log: Path, env: dict[str, str]) -> None:
        self.log = log
        self.handle = log.open("wb")
        self.proc = subprocess.Popen(
            argv,
            cwd=BASE_DIR,
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        self.handle.flush()
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        # Signal the whole process group even if its leader is gone: its children
        # (qcluster workers, gunicorn workers) may still run.
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.handle.close()


@pytest.fixture
def qcluster(transactional_db, spark_url, tmp_path) -> Iterator[Process]:
    """A real `manage.py qcluster` on the test database."""
    proc = Process(
        [sys.executable, "manage.py", "qcluster"], tmp_path / "qcluster.log", child_env(Q_WORKERS="2")
    )
    time.sleep(1.0)
    assert proc.proc.poll() is None, proc.output()
    try:
        yield proc
    finally:
        proc.stop()
