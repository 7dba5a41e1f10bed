"""Shared fixtures: storage, a real Spark Connect server, personas, API clients, and
real child processes (a qcluster, a web server) on the test database.

Personas encode the permission matrix (healthchecks style):
    alice   owner of team A        bob     member of team A
    adam    admin of team A        victor  viewer of team A
    charlie owner of team B (no access to A)
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts import tokens
from accounts.models import Role
from logplatform.processes import Child, wait_until, web_start
from tests.logdata import make_events

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
    from analyses.engine_config import engine_options_from_config
    from spark_client.server import local_server

    given = os.environ.get("TEST_SPARK_CONNECT_URL") or os.environ.get("SPARK_CONNECT_URL")
    if given:
        settings.SPARK_CONNECT_URL = given
        os.environ["SPARK_CONNECT_URL"] = given
        yield given
        return
    port = free_port()
    ui_port = free_port()
    cfg = local_server.LocalServerConfig(
        run_dir=tmp_path_factory.mktemp("spark"),
        port=port,
        driver_memory="2g",
        # The UI (on loopback) lets tests count the SQL executions of an analysis.
        ui_enabled=True,
        ui_port=ui_port,
        conf={"spark.ui.retainedExecutions": "10000"},
        name="test-connect-server",
        warm_up_options=engine_options_from_config(),
    )
    local_server.start(cfg)
    os.environ["TEST_SPARK_UI_URL"] = f"http://127.0.0.1:{ui_port}"
    url = f"sc://127.0.0.1:{port}"
    settings.SPARK_CONNECT_URL = url
    os.environ["SPARK_CONNECT_URL"] = url
    try:
        yield url
    finally:
        local_server.stop(cfg)


@pytest.fixture(scope="session")
def spark(spark_url: str):
    from analyses.engine_config import session_options
    from spark_client.server.session import connect

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


@pytest.fixture
def fast_passwords(settings) -> None:
    """The personas' passwords hash with PBKDF2's million rounds otherwise (~1 s each).
    Not for tests whose child processes check a password: they hash with the
    project's own hashers."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api():
    """api(user) -> an APIClient sending a fresh token of that user; api() -> no credentials."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            _, raw = tokens.api_token_create(user=user, name="tests")
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make


@pytest.fixture
def events():
    """900 events over 30 hours (tests.logdata), the input of the API's analyses."""
    return make_events(900, seed=606, span_hours=30)


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


@pytest.fixture
def qcluster(transactional_db, spark_url, tmp_path) -> Iterator[Child]:
    """A real `manage.py qcluster` on the test database, yielded once its cluster runs."""
    proc = Child(
        [sys.executable, "manage.py", "qcluster"], log=tmp_path / "qcluster.log", env=child_env(Q_WORKERS="2")
    )
    try:
        wait_until(
            lambda: "running." in proc.output() or not proc.alive(),
            timeout=60,
            message=lambda: f"the qcluster to run; its log:\n{proc.tail()}",
        )
        assert proc.alive(), proc.output()
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def web_server(transactional_db, tmp_path) -> Iterator[Callable[..., str]]:
    """web_server(threads=4, **env) -> the URL of a real gunicorn (as `make web` starts
    it) on the test database, once it answers; `env` adds to its environment (e.g.
    LOGPLATFORM_CONFIG). Stopped at the end of the test."""
    started: list[Child] = []

    def start(*, threads: int = 4, **env: str) -> str:
        port = free_port()
        started.append(
            web_start(
                port=port,
                env=child_env(**env),
                log=tmp_path / f"web-{len(started)}.log",
                threads=threads,
            )
        )
        return f"http://127.0.0.1:{port}"

    try:
        yield start
    finally:
        for proc in started:
            proc.stop()
