"""The warm-up of a fresh Spark Connect server: real analyses of a few lines of
each common format, then (optionally) of real volumes, with the options analyses
run with, so the first user's analysis finds the query code compiled and the JIT
warm. Run by spark_client.server.local_server once the server answers.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from spark_client.engine import analyze
from spark_client.types import EngineOptions, InputFile

# A few lines of the common formats, for warming up a fresh server.
_WARM_UP_FILES = {
    "warm-up.csv": (
        "timestamp,log_level,message,ip,service,endpoint\n"
        '2024-01-01 10:00:00,INFO,"started, pid 42",10.0.0.1,api,/health\n'
        "2024-01-01 10:00:01,ERROR,Connection timeout after 30s to 10.0.0.7,,db,/orders\n"
        "2024-01-01 10:00:02,warn,Retrying job 7,10.0.0.2,worker,\n"
    ),
    "warm-up.log": (
        "2024-01-01 10:00:00,123 INFO [main] org.example.Api: started\n"
        "2024-01-01 10:00:01,456 ERROR [main] org.example.Db: failed to connect to 10.0.0.7\n"
        "\tat org.example.Db.connect(Db.java:12)\n"
    ),
}


def warm_up(
    spark,
    workdir: Path,
    *,
    options: EngineOptions,
    rounds: int = 2,
    volume_lines: int = 0,
    volume_rounds: int = 3,
    store_lines: bool = False,
) -> float:
    """Analyse a few lines of each common format on a fresh server; returns seconds.

    A new Spark JVM runs its first queries in the bytecode interpreter: planning,
    code generation and the Janino compiler itself are many times slower on the
    first analysis than once the JIT has seen them. Paying that at server start
    keeps it out of the first user's analysis. `workdir` must be readable by the
    server.

    `options` are the ones analyses run with (config.yaml's analytics, built by
    analyses.engine_config): Spark reuses compiled code only for identical
    expressions, so warming with them also saves the analyses the code generation;
    with other options only the JIT warm-up would help.

    With `volume_lines`, a CSV and a log4j file of that many lines are then
    analysed `volume_rounds` times each: a few lines compile the query's code, but
    HotSpot only optimises the generated per-row loops once they have run over
    real volumes, and until then they run markedly slower.

    With `store_lines` (analyses store their lines: config analytics.store_lines)
    every analysis stores them too, under `workdir`: their queries are the ones
    to compile and warm.
    """
    started = time.monotonic()
    # Large analyses are finished in Spark, small ones in the worker: the small
    # rounds compile both queries; the volume rounds warm the large analyses' one
    # (the per-row reading they share).
    in_spark = replace(options, finish_in_worker_max_bytes=0)
    workdir.mkdir(parents=True, exist_ok=True)
    lines_dir = str(workdir / "lines") if store_lines else None
    inputs = []
    for i, (name, text) in enumerate(sorted(_WARM_UP_FILES.items()), start=1):
        path = workdir / name
        path.write_text(text)
        inputs.append(InputFile(file_id=i, path=str(path), name=name))
    for _ in range(rounds):
        for single in inputs:
            analyze(spark, [single], options, lines_dir=lines_dir)
            analyze(spark, [single], in_spark, lines_dir=lines_dir)
    if volume_lines > 0:
        volume = [
            InputFile(file_id=i, path=str(path), name=path.name)
            for i, path in enumerate(volume_files(workdir, volume_lines), start=1)
        ]
        for _ in range(volume_rounds):
            for single in volume:
                analyze(spark, [single], in_spark, lines_dir=lines_dir)
    return time.monotonic() - started


_SERVICES = ("api", "auth", "db", "cache", "payments", "search", "worker", "gateway")
_LEVELS = ("INFO",) * 12 + ("DEBUG",) * 4 + ("WARN",) * 2 + ("ERROR", "CRITICAL")
_MESSAGES = (
    "GET /orders/{n} 200 in {m} ms",
    "Connection timeout after {m}s to 10.0.{a}.{b}",
    'Payment {n} failed: "card declined"',
    "Retrying request {u} attempt {a}",
    "Job {n} scheduled, queue depth {m}",
    "NullPointerException in handler {a} at 0x{n:x}",
)


def volume_files(workdir: Path, lines: int) -> list[Path]:
    """A CSV and a log4j file of `lines` varied lines each (kept for the next start)."""
    csv_path = workdir / f"volume-{lines}.csv"
    log_path = workdir / f"volume-{lines}.log"
    if csv_path.exists() and log_path.exists():
        return [csv_path, log_path]
    csv_rows = ["timestamp,log_level,message,ip,service,endpoint\n"]
    log_rows = []
    for i in range(lines):
        seconds = i * 86_400 // lines
        stamp = f"2024-01-01 {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        mixed = i * 2654435761 % 2**32  # Knuth's multiplicative hash: a fixed, varied mix
        level = _LEVELS[mixed % len(_LEVELS)]
        service = _SERVICES[(mixed >> 8) % len(_SERVICES)]
        message = _MESSAGES[(mixed >> 16) % len(_MESSAGES)].format(
            n=i * 7919 % 100_003, m=i % 997, a=i % 251, b=i * 3 % 253, u=f"{mixed:08x}-{i:04x}"
        )
        quoted = '"' + message.replace('"', '""') + '"'
        csv_rows.append(f"{stamp},{level},{quoted},10.1.{i % 200}.{i % 250},{service},/{service}/{i % 40}\n")
        log_rows.append(f"{stamp},{i % 1000:03d} {level:5s} [main] org.example.{service}: {message}\n")
    for path, rows in ((csv_path, csv_rows), (log_path, log_rows)):
        part = path.with_suffix(path.suffix + ".part")
        part.write_text("".join(rows))
        part.replace(path)
    return [csv_path, log_path]
