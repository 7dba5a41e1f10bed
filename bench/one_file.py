"""The command line the one-file bench tools share (bench.patterns_cost,
bench.key_cost): one generated bench file, the bench's local Spark Connect server
(or a given one), one session, the options analyses run with (config.yaml)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

# measure(spark, path of the bench file, EngineOptions, work dir, reps) -> figures
Measure = Callable[[Any, str, Any, Path, int], dict[str, Any]]


def run_on_one_file(description: str, measure: Measure, *, fmt: str, reps: int) -> dict[str, Any]:
    """Parse `--size --format --reps --seed --spark-url`, run `measure` on the file
    and return its figures with the file's and the server's."""
    from bench import datagen
    from bench.run import parse_size, spark_start

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--size", default="1M")
    parser.add_argument("--format", default=fmt, choices=("log4j", "csv"))
    parser.add_argument("--reps", type=int, default=reps)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--spark-url", default=None)
    args = parser.parse_args()
    root = datagen.data_dir()
    gen = datagen.generate(args.format, parse_size(args.size), args.seed)
    url, cfg, server = spark_start(root, args.spark_url)
    from analyses import engine_config
    from spark_client.server.session import connect

    spark = connect(url, **engine_config.session_options())
    try:
        options = engine_config.engine_options_from_config()
        figures = measure(spark, gen.path, options, root, args.reps)
    finally:
        spark.stop()
        if cfg is not None:
            from spark_client.server import local_server

            local_server.stop(cfg)
    return {
        "data": {"format": gen.fmt, "lines": gen.lines, "bytes": gen.bytes},
        "spark_server": server,
        **figures,
    }
