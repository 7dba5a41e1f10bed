"""What storing the lines (issue 20) adds to an analysis: the engine's analysis of
one bench file with the lines stored and without, alternately, on one server and
one session, with the options analyses run with; and the disk the lines take.

The worker's part around the engine (claim, store, alerts) is the same either way,
so the engine's time is the analysis time that differs.
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from spark_client.engine import analyze
from spark_client.types import EngineOptions, InputFile


def lines_cost(
    spark,  # noqa: ANN001
    path: str,
    options: EngineOptions,
    workdir: Path,
    *,
    reps: int,
    warm_up: bool,
) -> dict[str, Any]:
    """Seconds per analysis with and without the lines, `reps` of each, in turns
    (which goes first alternates, so a slow patch of the machine hits both), the
    ratio of their medians, and the stored lines' bytes against the input's."""
    files = [InputFile(file_id=1, path=path, name=Path(path).name)]
    lines_dir = workdir / "lines-cost"
    timed: dict[bool, list[float]] = {False: [], True: []}
    stats: dict[str, Any] = {}

    def once(stored: bool) -> float:
        shutil.rmtree(lines_dir, ignore_errors=True)
        started = time.monotonic()
        output = analyze(spark, files, options, lines_dir=str(lines_dir) if stored else None)
        seconds = time.monotonic() - started
        if stored:
            stats["bytes"] = output.lines.bytes
            stats["rows"] = output.lines.rows
            stats["write_seconds"] = output.stats.get("lines_write_seconds")
        return seconds

    if warm_up:  # both paths' queries compiled and JIT-warmed before either is timed
        once(False)
        once(True)
    for rep in range(reps):
        for stored in (False, True) if rep % 2 == 0 else (True, False):
            timed[stored].append(round(once(stored), 3))
    shutil.rmtree(lines_dir, ignore_errors=True)
    without, with_lines = statistics.median(timed[False]), statistics.median(timed[True])
    size = Path(path).stat().st_size
    return {
        "without": {"runs": timed[False], "median": round(without, 3)},
        "with": {"runs": timed[True], "median": round(with_lines, 3)},
        "ratio": round(with_lines / without, 3),
        "lines_bytes": stats["bytes"],
        "lines_rows": stats["rows"],
        "input_bytes": size,
        "disk_ratio": round(stats["bytes"] / size, 3),
        "last_write_seconds": stats["write_seconds"],
    }
