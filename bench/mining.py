"""`python -m bench --case mining`: the template miner (spark_client/mining.py) alone.

No Spark: the miner runs in the worker on distinct messages. Measured, with the
default configuration (config/config.yaml `analytics.patterns`):
- grouping accuracy and mining time on the three loghub samples in tests/data/loghub;
- mining time for `--mining-distinct` synthetic distinct messages (default 100 000)
  drawn from a few hundred generated templates, with numbers, addresses, ids and
  words from a vocabulary as their variable parts;
- each mask alone, and `mine`, on 64 KB texts built to make a backtracking pattern
  try every split (runs of digits, blanks, `=`, `.`, `:` and others): the time of
  the slowest, which must stay near that of reading the text once.
"""

from __future__ import annotations

import random
import re
import time
from typing import Any

from spark_client.mining import MAX_MESSAGE_CHARS, MinerConfig, mine

PATHOLOGICAL_CHARS = 64 * 1024
# Units repeated to fill a pathological text: each is a prefix, separator or run
# one of the masks reads (digits, blanks, key=value, dotted names, host:port...).
UNITS = (
    "1", " ", "=", "a", ".", ":", "/", "-", '"', "f", "\t", "1.", "a.", "a:", "1:", "0x",
    "=1", "=a", ":a", "/a", "a-", "1 ", "1e", "Jan 1 ", "Mon ", "a=1,", "ab:", "1.2.3.4",
)  # fmt: skip

WORDS = (
    "connection closed opened failed received sent block task stage executor driver "
    "session user lease container attempt node host file request response timeout retry "
    "start stop register commit flush read write open close cache memory disk queue"
).split()
NAMES = [f"{a}{b}" for a in ("al", "bo", "ca", "de", "ev", "fi", "gu", "ha") for b in ("n", "x", "ra", "to")]


def synthetic(
    distinct: int, seed: int = 7, templates: int = 300
) -> tuple[list[tuple[str, int]], dict[str, int]]:
    """`distinct` different messages with counts, from `templates` generated templates
    (a message starts with a constant word, as most log statements do), and the
    template each message was made from."""
    rng = random.Random(seed)
    shapes = []
    for _ in range(templates):
        words = rng.sample(WORDS, rng.randint(3, 8))
        slots = rng.sample(range(1, len(words) + 1), rng.randint(1, 3))
        shapes.append((words, sorted(slots, reverse=True), [rng.choice("nihuw") for _ in slots]))
    values = {
        "n": lambda: str(rng.randint(0, 10**6)),
        "i": lambda: ".".join(str(rng.randint(1, 254)) for _ in range(4)),
        "h": lambda: f"{rng.getrandbits(64):016x}",
        "u": lambda: f"blk_{rng.randint(-(10**12), 10**12)}",
        "w": lambda: rng.choice(NAMES),
    }
    out: dict[str, int] = {}
    made_from: dict[str, int] = {}
    while len(out) < distinct:
        which = rng.randrange(len(shapes))
        words, slots, kinds = shapes[which]
        message = list(words)
        for slot, kind in zip(slots, kinds, strict=True):
            message.insert(slot, values[kind]())
        text = " ".join(message)
        out[text] = out.get(text, 0) + rng.randint(1, 50)
        made_from.setdefault(text, which)
    return list(out.items()), made_from


def pathological_texts(chars: int = PATHOLOGICAL_CHARS) -> dict[str, str]:
    return {unit: (unit * (chars // len(unit) + 1))[:chars] for unit in UNITS}


def _timed(fn: Any, *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def _fastest(fn: Any, *args: Any, repeat: int = 5) -> float:
    """The least of a few runs: a short run's time is mostly what else the machine did."""
    return min(_timed(fn, *args)[1] for _ in range(repeat))


def bench(config: MinerConfig, distinct: int) -> dict[str, Any]:
    from tests.spark_client.grouping_accuracy import SYSTEMS, grouping_accuracy, loghub_sample

    samples = []
    for system in SYSTEMS:
        contents, events = loghub_sample(system)
        counts: dict[str, int] = {}
        for content in contents:
            counts[content] = counts.get(content, 0) + 1
        mined, _ = _timed(mine, list(counts.items()), config)
        seconds = _fastest(mine, list(counts.items()), config, repeat=3)
        ga = grouping_accuracy([mined.pattern_of[c] for c in contents], events)
        samples.append(
            {"system": system, "lines": len(contents), "distinct": len(counts), "patterns": len(mined.patterns),
             "grouping_accuracy": round(ga, 4), "seconds": round(seconds, 4)}
        )  # fmt: skip
        print(f"  {system:8s} GA {ga:.4f}  {len(mined.patterns):4d} patterns  {seconds:.3f}s", flush=True)

    messages, made_from = synthetic(distinct)
    mined, seconds = _timed(mine, messages, config)
    # Weighted by count, as lines are: each distinct message stands for its lines.
    lines = [(m, made_from[m]) for m, count in messages for _ in range(count)]
    synthetic_ga = grouping_accuracy([mined.pattern_of[m] for m, _ in lines], [t for _, t in lines])
    synthetic_result = {
        "distinct": len(messages),
        "lines": len(lines),
        "templates": len(set(made_from.values())),
        "patterns": len(mined.patterns),
        "grouping_accuracy": round(synthetic_ga, 4),
        "matched_after_cap": mined.matched_after_cap,
        "caught_all": mined.caught_all,
        "seconds": round(seconds, 3),
    }
    print(
        f"  synthetic {len(messages):,} distinct: {len(mined.patterns)} patterns "
        f"(of {synthetic_result['templates']} templates), GA {synthetic_ga:.4f}, {seconds:.2f}s",
        flush=True,
    )

    texts = pathological_texts()
    quarter = pathological_texts(PATHOLOGICAL_CHARS // 4)
    per_mask = []
    for (name, _, replacement), (pattern, _) in zip(config.masks, config.compiled, strict=True):
        seconds, unit = max((_fastest(pattern.sub, replacement, t), unit) for unit, t in texts.items())
        # Linear: four times the text, about four times the time (quadratic: sixteen).
        growth = seconds / max(_fastest(pattern.sub, replacement, quarter[unit]), 1e-9)
        per_mask.append(
            {
                "mask": name,
                "worst_seconds": round(seconds, 5),
                "worst_unit": unit,
                "growth_x4": round(growth, 1),
            }
        )
    plain = re.compile(r"x")
    baseline = max(_fastest(plain.sub, "", t) for t in texts.values())
    _, mine_seconds = _timed(mine, [(t, 1) for t in texts.values()], config)
    slowest = max(per_mask, key=lambda m: m["worst_seconds"])
    print(
        f"  pathological {PATHOLOGICAL_CHARS:,} chars: slowest mask {slowest['mask']} "
        f"{slowest['worst_seconds'] * 1000:.1f} ms on {slowest['worst_unit']!r} runs, "
        f"x{slowest['growth_x4']} for 4 times the text; largest growth "
        f"x{max(m['growth_x4'] for m in per_mask)} "
        f"(one plain scan {baseline * 1000:.2f} ms); mine() on all {len(texts)} texts "
        f"(read as their first {MAX_MESSAGE_CHARS:,} chars) {mine_seconds:.3f}s",
        flush=True,
    )
    return {
        "config": {k: getattr(config, k) for k in ("similarity", "depth", "max_children", "max_distinct")},
        "samples": samples,
        "synthetic": synthetic_result,
        "pathological": {
            "chars": PATHOLOGICAL_CHARS,
            "plain_scan_seconds": round(baseline, 5),
            "masks": per_mask,
            "mine_seconds": round(mine_seconds, 4),
        },
    }
