"""What the pattern step (issue 21) adds to an analysis: the engine's analysis of one
bench file with its lines stored, with patterns and without, alternately, on one
server and one session, with the options analyses run with (config.yaml); and the
worker's memory (RSS) around each run.

    python -m bench.patterns_cost [--size 1M] [--format log4j] [--reps 3] [--spark-url sc://...]

Prints one JSON object and writes it to bench/results/patterns-<stamp>.json. The
issue's target: the analysis with patterns at most 1.2 times the one without, as
a ratio of medians in the same run, and the worker's memory flat.
"""

from __future__ import annotations

import json
import resource
import shutil
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent


def rss_mb() -> float:
    """This process's resident memory now (the worker's, in the bench)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def patterns_cost(
    spark,  # noqa: ANN001
    path: str,
    options,  # noqa: ANN001
    workdir: Path,
    *,
    reps: int,
    warm_up: bool = True,
) -> dict[str, Any]:
    """Seconds per analysis with patterns and without (lines stored both times),
    `reps` of each in turns (which goes first alternates), the ratio of the
    medians, the pattern step's own seconds, and RSS before and after each run.
    `warm_up` runs each once untimed first (make bench skips it at 10M, where
    one run is minutes and the JIT is long warm)."""
    from spark_client.engine import analyze
    from spark_client.types import InputFile

    files = [InputFile(file_id=1, path=path, name=Path(path).name)]
    lines_dir = workdir / "patterns-cost"
    off = replace(options, patterns=None)
    timed: dict[bool, list[float]] = {False: [], True: []}
    memory: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    info: dict[str, Any] = {}

    def once(mine: bool) -> float:
        shutil.rmtree(lines_dir, ignore_errors=True)
        before = rss_mb()
        started = time.monotonic()
        output = analyze(spark, files, options if mine else off, lines_dir=str(lines_dir))
        seconds = time.monotonic() - started
        memory[mine].append((before, rss_mb()))
        if mine:
            info["patterns_seconds"] = output.stats.get("patterns_seconds")
            info["patterns"] = output.patterns["total"]
            info["distinct_messages"] = output.patterns["distinct_messages"]
            info["capped"] = output.patterns["capped"]
            info["rows"] = output.lines.rows
        return seconds

    if warm_up:  # both paths compiled and JIT-warmed before either is timed
        once(False)
        once(True)
    for rep in range(reps):
        for mine in (False, True) if rep % 2 == 0 else (True, False):
            timed[mine].append(round(once(mine), 3))
    shutil.rmtree(lines_dir, ignore_errors=True)
    without, with_patterns = statistics.median(timed[False]), statistics.median(timed[True])
    return {
        "without": {"runs": timed[False], "median": round(without, 3)},
        "with": {"runs": timed[True], "median": round(with_patterns, 3)},
        "ratio": round(with_patterns / without, 3),
        "rss_mb_before_after": {"without": memory[False], "with": memory[True]},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **info,
    }


def main() -> None:
    from bench.one_file import run_on_one_file

    started = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    figures = run_on_one_file(
        __doc__.split("\n\n")[0],
        lambda spark, path, options, root, reps: {
            "patterns_cost": patterns_cost(spark, path, options, root, reps=reps)
        },
        fmt="log4j",
        reps=3,
    )
    result = {"started": started, **figures}
    out = ROOT / "results" / f"patterns-{result['started']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
