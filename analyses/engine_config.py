"""The bridge from Django settings and models to spark_client's plain inputs, its
sessions, its local server and cluster. Used by the worker side
(analyses.services.execute) and the management commands; analysis options are
checked before they get here (analyses.options)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings

from analyses.models import Analysis, AnalysisFile
from analyses.uploads import stored_path_resolve
from spark_client.mining import miner_config
from spark_client.types import EngineOptions, InputFile


def engine_options(analysis: Analysis) -> EngineOptions:
    """The engine's options for `analysis`: config.yaml's, with the analysis's own on top."""
    options = analysis.options or {}
    defaults = engine_options_from_config()
    return replace(
        defaults,
        assume_year=int(options.get("assume_year") or defaults.assume_year),
        format=options.get("format") or None,
    )


def engine_options_from_config() -> EngineOptions:
    """The engine's options from config.yaml (analytics, uploads) alone: those of an
    analysis that sets none of its own, which the server's warm-up also runs with."""
    cfg = settings.LOGPLATFORM["analytics"]
    uploads = settings.LOGPLATFORM["uploads"]
    return EngineOptions(
        assume_year=int(cfg["assume_year"] or dt.date.today().year),
        top_n=cfg["top_n"],
        rollup_cap=cfg["rollup_cap"],
        unparsed_samples_per_file=cfg["unparsed_samples_per_file"],
        csv_multiline_max_bytes=cfg["csv_multiline_max_mb"] * 1024 * 1024,
        finish_in_worker_max_bytes=cfg["finish_in_worker_max_mb"] * 1024 * 1024,
        finish_in_worker_max_rows=cfg["finish_in_worker_max_rows"],
        detect_sample_lines=cfg["detect_sample_lines"],
        max_line_chars=cfg["max_line_chars"],
        trend_max_buckets=cfg["trend_max_buckets"],
        error_levels=tuple(cfg["error_levels"]),
        level_aliases=cfg["levels"],
        level_inference=[(rule["level"], rule["pattern"]) for rule in cfg["level_inference"]],
        column_aliases=cfg["column_aliases"],
        max_uncompressed_bytes=uploads["max_file_mb"] * 1024 * 1024 * 4,
        **_pattern_options(cfg["patterns"]),
    )


def _pattern_options(section: dict[str, Any]) -> dict[str, Any]:
    """EngineOptions' pattern fields from `analytics.patterns` (docs/patterns.md)."""
    if not section["enabled"]:
        return {}
    return {
        "patterns": miner_config(section),
        "patterns_max_listed": section["max_listed"],
        "pattern_key_masks": tuple(section["key_masks"]),
    }


def input_files(files: list[AnalysisFile]) -> list[InputFile]:
    """Spark's inputs; uploads.StoredPathError for a row pointing outside storage."""
    return [
        InputFile(
            file_id=f.pk,
            path=str(stored_path_resolve(f.stored_path)),
            name=f.original_name,
            format=f.format_override or None,
            assume_year=f.assume_year_override,
        )
        for f in files
    ]


def session_conf() -> dict[str, str]:
    return {k: str(v) for k, v in settings.LOGPLATFORM["spark"]["session_conf"].items()}


def session_options() -> dict[str, Any]:
    """Keyword arguments of spark_client.session.connect for an analysis session."""
    return {
        "conf": session_conf(),
        "partitions_per_core": settings.LOGPLATFORM["spark"]["shuffle_partitions_per_core"],
    }


def spark_session(*, wait: bool = False, streaming: bool = False):
    """This process's Spark Connect session. With `wait`, give a server that is
    restarting `spark.reconnect_wait_seconds` to come back before failing. With
    `streaming`, the session whose channel streams large results to a slower reader
    (the Lines view's exports: STREAMING_CHANNEL_OPTIONS)."""
    import time

    from spark_client.errors import SparkUnavailableError
    from spark_client.server.session import STREAMING_CHANNEL_OPTIONS, get_session

    spark = settings.LOGPLATFORM["spark"]
    deadline = time.monotonic() + (spark["reconnect_wait_seconds"] if wait else 0)
    while True:
        try:
            return get_session(
                settings.SPARK_CONNECT_URL,
                **session_options(),
                timeout=spark["connect_timeout_seconds"],
                channel_options=STREAMING_CHANNEL_OPTIONS if streaming else (),
            )
        except SparkUnavailableError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(2)


def forget_spark_session() -> None:
    from spark_client.server.session import drop_session

    drop_session(settings.SPARK_CONNECT_URL)


def spark_tag(analysis_id: int) -> str:
    return f"logplatform-analysis-{analysis_id}"


def interrupt_previous(session_id: str, tag: str) -> list[str]:
    from spark_client.server.session import interrupt_session_tag

    return interrupt_session_tag(settings.SPARK_CONNECT_URL, session_id, tag)


def local_server_config():
    """The local Spark Connect server of `manage.py spark_server`, from config.yaml,
    warmed up with the options analyses run with.

    Its port follows SPARK_CONNECT_URL when that points at this machine, so one
    variable moves both the server and its clients.
    """
    from spark_client.server.local_server import LocalServerConfig
    from spark_client.server.session import parse_url

    spark = settings.LOGPLATFORM["spark"]
    local = spark["local_server"]
    endpoint = parse_url(settings.SPARK_CONNECT_URL)
    port = endpoint.port if endpoint.host in ("127.0.0.1", "localhost", "::1") else local["port"]
    return LocalServerConfig(
        run_dir=settings.DATA_DIR / "spark",
        host=local["host"],
        port=port,
        master=os.environ.get("SPARK_MASTER", local["master"]),
        driver_memory=os.environ.get("SPARK_DRIVER_MEMORY", local["driver_memory"]),
        ui_enabled=local["ui_enabled"],
        ui_port=local["ui_port"],
        startup_timeout=local["startup_timeout_seconds"],
        warm_up_options=engine_options_from_config(),
        warm_up_lines=local["warm_up_lines"],
        warm_up_store_lines=settings.LOGPLATFORM["analytics"]["store_lines"],
        conf={k: str(v) for k, v in local["conf"].items()},
        session_conf=session_conf(),
        partitions_per_core=spark["shuffle_partitions_per_core"],
        token=os.environ.get("SPARK_CONNECT_TOKEN") or None,
        name=f"connect-server-{port}",
    )


def cluster_config():
    """The Spark standalone cluster of `manage.py spark_cluster` (docs/scaling.md):
    its run files under DATA_DIR/cluster (or SPARK_CLUSTER_DIR), its Connect
    server warmed up like the local one."""
    from spark_client.server.cluster import ClusterConfig

    run_dir = os.environ.get("SPARK_CLUSTER_DIR") or Path(settings.DATA_DIR) / "cluster"
    return ClusterConfig(run_dir=Path(run_dir), warm_up_options=engine_options_from_config())


def spark_is_local() -> bool:
    from spark_client.server.session import parse_url

    return parse_url(settings.SPARK_CONNECT_URL).host in ("127.0.0.1", "localhost", "::1")
