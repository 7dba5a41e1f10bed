"""Spark Connect sessions: one per process, a health check, clear errors.

The client is a plain module (no Django): callers pass the Spark Connect URL.
django-q2 forks its workers, and gRPC channels do not survive a fork, so the
session is created lazily in the process that uses it and cached there.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from spark_client.errors import SparkUnavailableError

logger = logging.getLogger(__name__)

SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"
START_HINT = "start it with `python manage.py spark_server start` (or `make run`), or set SPARK_CONNECT_URL to a running server"

_lock = threading.Lock()
# This process's sessions, by URL and gRPC channel options.
_cached: dict[tuple[str, tuple[tuple[str, Any], ...]], object] = {}

# gRPC options of a channel that streams large results to a slower reader (a web
# export): without BDP probing gRPC keeps the stream's receive window at its default
# instead of growing it to megabytes read ahead of the client (docs/performance.md,
# "Export memory"). Pages and exports are as fast on it.
STREAMING_CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (("grpc.http2.bdp_probe", 0),)


@dataclass(frozen=True)
class Endpoint:
    url: str
    host: str
    port: int


def parse_url(url: str) -> Endpoint:
    """`sc://host:port/;param=value` -> host and port (default port 15002)."""
    parsed = urlparse(url.replace("sc://", "http://", 1))
    if not url.startswith("sc://") or not parsed.hostname:
        raise SparkUnavailableError(f"SPARK_CONNECT_URL {redact(url)!r} is not of the form sc://host:port")
    return Endpoint(url=url, host=parsed.hostname, port=parsed.port or 15002)


def redact(url: str) -> str:
    """The URL without its token, for logs and messages."""
    head, _, params = url.partition("/;")
    if not params:
        return url
    kept = [p if not p.lower().startswith("token=") else "token=***" for p in params.split(";")]
    return head + "/;" + ";".join(kept)


def port_answers(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def unreachable_message(url: str) -> str:
    ep = parse_url(url)
    return f"Spark Connect server unreachable at {ep.host}:{ep.port}; {START_HINT}."


def _bounded_retries(session: object, total_seconds: float) -> None:
    """pyspark retries UNAVAILABLE for ~10 minutes by default; a dead server should
    fail the analysis in well under a minute instead (the analysis is retried by us)."""
    from pyspark.sql.connect.client.retries import DefaultPolicy

    retries, wait, backoff = 0, 0.0, 0.05
    while wait < total_seconds and retries < 30:
        wait += min(backoff, 10.0)
        backoff *= 4
        retries += 1
    session.client.set_retry_policies([DefaultPolicy(max_retries=retries, max_backoff=10000)])  # type: ignore[attr-defined]


def connect(
    url: str,
    *,
    conf: dict[str, str] | None = None,
    partitions_per_core: int = 0,
    session_id: str | None = None,
    timeout: float = 10.0,
    retry_seconds: float = 20.0,
    channel_options: Sequence[tuple[str, Any]] = (),
):
    """Open a new Spark Connect session, or raise SparkUnavailableError with a hint.

    `channel_options` are gRPC options of its channel (STREAMING_CHANNEL_OPTIONS).
    With `partitions_per_core` (and no explicit `spark.sql.shuffle.partitions` in
    `conf`) the session's shuffle partitions are that many per core of the server,
    asked once here: see `server_cores`.
    """
    ep = parse_url(url)
    if not port_answers(ep.host, ep.port, timeout=min(timeout, 5.0)):
        raise SparkUnavailableError(unreachable_message(url))
    remote = url
    if session_id:
        remote = f"{url}{'' if '/;' in url else '/'};session_id={session_id}"
    try:
        session = _new_session(remote, list(channel_options))
        _bounded_retries(session, retry_seconds)
        for key, value in (conf or {}).items():
            session.conf.set(key, str(value))
        session.version  # noqa: B018 - one round trip proves the server speaks Spark Connect
        if partitions_per_core > 0 and SHUFFLE_PARTITIONS not in (conf or {}):
            session.conf.set(SHUFFLE_PARTITIONS, str(partitions_per_core * server_cores(session)))
    except SparkUnavailableError:
        raise
    except Exception as exc:  # grpc and pyspark raise many types here
        raise SparkUnavailableError(
            f"Spark Connect server at {ep.host}:{ep.port} did not answer ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200] if str(exc) else 'no detail'}); {START_HINT}."
        ) from exc
    return session


def _new_session(remote: str, channel_options: list[tuple[str, Any]]):  # noqa: ANN202 - SparkSession
    if not channel_options:
        from pyspark.sql import SparkSession

        return SparkSession.builder.remote(remote).create()
    # The channel builder reads the URL's parameters (token, session_id) as
    # `remote()` does; pyspark's Column functions need to know they build for Connect.
    os.environ.setdefault("SPARK_CONNECT_MODE_ENABLED", "1")
    from pyspark.sql.connect.client import DefaultChannelBuilder
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    builder = DefaultChannelBuilder(remote, channelOptions=channel_options)
    return ConnectSession.builder.channelBuilder(builder).create()


def server_cores(session: object) -> int:
    """The cores the server runs tasks on: all of them under `local[*]`, the sum of
    every executor's on a cluster (Spark's default parallelism, which sizes a range
    without an explicit partition count). One small query."""
    from pyspark.sql import functions as F

    ids = session.range(0, 1 << 16).select(F.spark_partition_id().alias("p"))  # type: ignore[attr-defined]
    row = ids.agg(F.max("p")).first()
    return int(row[0]) + 1


def get_session(
    url: str,
    *,
    conf: dict[str, str] | None = None,
    partitions_per_core: int = 0,
    timeout: float = 10.0,
    channel_options: Sequence[tuple[str, Any]] = (),
):
    """The cached session of this process for `url` and these channel options,
    re-created if the server restarted."""
    key = (url, tuple(channel_options))
    with _lock:
        session = _cached.get(key)
        if session is not None and is_healthy(session):
            return session
        if session is not None:
            logger.warning("Spark Connect session to %s is gone; opening a new one", redact(url))
            _close_quietly(session)
        session = connect(
            url,
            conf=conf,
            partitions_per_core=partitions_per_core,
            timeout=timeout,
            channel_options=channel_options,
        )
        _cached[key] = session
        return session


def drop_session(url: str) -> None:
    """Forget this process's sessions to `url` (after the server went away)."""
    with _lock:
        sessions = [_cached.pop(key) for key in list(_cached) if key[0] == url]
    for session in sessions:
        _close_quietly(session)


def is_healthy(session: object) -> bool:
    try:
        session.version  # type: ignore[attr-defined]  # noqa: B018
        # `version` may be cached client-side; a config read is a real round trip.
        session.conf.get("spark.sql.session.timeZone")  # type: ignore[attr-defined]
        return True
    except Exception:
        return False


def health_check(url: str, timeout: float = 10.0) -> str:
    """Connect, run a trivial query and return the server's Spark version."""
    session = connect(url, timeout=timeout)
    try:
        value = session.range(1).count()
        if value != 1:
            raise SparkUnavailableError(f"Spark Connect server at {redact(url)} answered nonsense")
        return session.version
    finally:
        _close_quietly(session)


def interrupt_session_tag(url: str, session_id: str, tag: str) -> list[str]:
    """Interrupt operations tagged `tag` in another (possibly dead) client's session.

    A SIGKILLed worker leaves its query running on the server. Re-attaching to its
    session id lets the next attempt stop it before starting again.
    """
    try:
        uuid.UUID(session_id)
    except ValueError:
        return []
    ep = parse_url(url)
    if not port_answers(ep.host, ep.port):
        return []
    from pyspark.sql import SparkSession

    remote = f"{url}{'' if '/;' in url else '/'};session_id={session_id}"
    try:
        session = SparkSession.builder.remote(remote).create()
        _bounded_retries(session, 5)
        try:
            return list(session.interruptTag(tag))
        finally:
            # The dead worker's session is of no use to anyone: release it.
            _close_quietly(session)
    except Exception as exc:
        logger.warning("could not interrupt tag %s in session %s: %s", tag, session_id, exc)
        return []


def _close_quietly(session: object, release: bool = True) -> None:
    try:
        if release:
            session.stop()  # type: ignore[attr-defined]
        else:
            session.client.close()  # type: ignore[attr-defined]
    except Exception as exc:  # a dead server cannot release anything
        logger.debug("closing a Spark Connect session failed: %s", exc)
