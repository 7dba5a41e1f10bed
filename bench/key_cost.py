"""What a message key costs (issue 21, docs/performance.md): key expressions over
the messages of one bench file's stored lines, each as the wall time of one query
that hashes every message and keeps the largest hash (so no expression is pruned),
in turns, on one server and one session; and how many keys each makes.

    python -m bench.key_cost [--size 1M] [--format csv] [--reps 4] [--spark-url sc://...]

`current` is the shipped key mask (config.yaml `analytics.patterns.key_masks`); the
others are the alternatives measured against it. Prints one JSON object.
"""

from __future__ import annotations

import json
import shutil
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

# The shipped key's equivalents (same keys but for hex runs of more than 16) and
# cheaper keys that group differently.
HEX_PREFIXED = r"[a-fA-F-]{0,16}\d[\w.-]*"
DIGIT_LED = r"\d[\w.-]*"
STRIP = "abcdefABCDEF-"


# The variants that group messages as `current` does (for messages without a run of
# more than 16 hex letters and dashes before a digit; checked by
# tests/spark_client/test_patterns_engine.py): the others are coarser or finer.
SAME_KEYS = ("split on the current mask", "digit-led, split, rtrim hex", "digit-led, reversed, strip hex")


def variants(masks: tuple[str, ...]) -> dict[str, Any]:
    """name -> key expression over the column `message` (its KEY_CHARS head), the
    shipped `masks` being `current`."""
    from pyspark.sql import functions as F

    from spark_client.engine.pattern_keys import KEY_CHARS, key_regex

    text = F.substring("message", 1, KEY_CHARS)
    sep = "\u0001"

    def hashed(col) -> Any:  # noqa: ANN001
        return F.xxhash64(F.lit(0), col)

    return {
        "hash only": hashed(text),
        "current": hashed(F.regexp_replace(text, key_regex(masks), "<*>")),
        "split on the current mask": hashed(F.split(text, key_regex(masks), -1)),
        "digit-led, split, rtrim hex": hashed(
            F.transform(
                F.split(F.regexp_replace(F.concat(text, F.lit("\u0002")), DIGIT_LED, sep), sep, -1),
                lambda part: F.rtrim(part, F.lit(STRIP)),
            )
        ),
        "digit-led, reversed, strip hex": hashed(
            F.regexp_replace(F.reverse(F.regexp_replace(text, DIGIT_LED, sep)), f"{sep}[a-fA-F-]*+", sep)
        ),
        "word-boundary hex prefix": hashed(F.regexp_replace(text, rf"\b{HEX_PREFIXED}|{DIGIT_LED}", "<*>")),
        "lookbehind-guarded hex prefix": hashed(
            F.regexp_replace(text, rf"(?<![a-fA-F-]){HEX_PREFIXED}|{DIGIT_LED}", "<*>")
        ),
        "digit-led only": hashed(F.regexp_replace(text, DIGIT_LED, "<*>")),
    }


def key_cost(spark, path: str, options, workdir: Path, *, reps: int) -> dict[str, Any]:  # noqa: ANN001
    from pyspark.sql import functions as F

    from spark_client.engine import analyze
    from spark_client.types import InputFile

    lines_dir = workdir / "key-cost"
    shutil.rmtree(lines_dir, ignore_errors=True)
    files = [InputFile(file_id=1, path=path, name=Path(path).name)]
    analyze(spark, files, replace(options, patterns=None), lines_dir=str(lines_dir))
    messages = spark.read.parquet(str(lines_dir)).select("message")
    keys = variants(options.pattern_key_masks)
    counted = messages.select(*[F.count_distinct(key) for key in keys.values()]).collect()[0]
    result: dict[str, Any] = {name: {"keys": n, "seconds": []} for name, n in zip(keys, counted, strict=True)}
    for rep in range(reps):
        for name in keys if rep % 2 == 0 else reversed(list(keys)):
            started = time.monotonic()
            messages.select(F.max(keys[name])).collect()
            result[name]["seconds"].append(round(time.monotonic() - started, 3))
    for figures in result.values():
        figures["median"] = round(statistics.median(figures["seconds"]), 3)
    shutil.rmtree(lines_dir, ignore_errors=True)
    return result


def main() -> None:
    from bench.one_file import run_on_one_file

    result = run_on_one_file(
        __doc__.split("\n\n")[0],
        lambda spark, path, options, root, reps: {
            "key_cost": key_cost(spark, path, options, root, reps=reps)
        },
        fmt="csv",
        reps=4,
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
