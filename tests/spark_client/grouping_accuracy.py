"""Grouping accuracy (GA), the loghub benchmark's measure of a log parser
(Zhu et al., "Tools and Benchmarks for Automated Log Parsing", ICSE-SEIP 2019):
a line is parsed right when the lines given its pattern are exactly the lines
that have its ground-truth event. GA is the share of lines parsed right.
"""

from __future__ import annotations

import csv
from collections.abc import Hashable, Sequence
from pathlib import Path

LOGHUB = Path(__file__).resolve().parents[1] / "data" / "loghub"
SYSTEMS = ("Linux", "Spark", "Hadoop")


def grouping_accuracy(predicted: Sequence[Hashable], truth: Sequence[Hashable]) -> float:
    """GA of per-line predicted pattern ids against per-line ground-truth event ids."""
    if len(predicted) != len(truth):
        raise ValueError(f"{len(predicted)} predictions for {len(truth)} lines")
    if not truth:
        return 1.0
    by_pattern: dict[Hashable, set[int]] = {}
    by_event: dict[Hashable, set[int]] = {}
    for line, (pattern, event) in enumerate(zip(predicted, truth, strict=True)):
        by_pattern.setdefault(pattern, set()).add(line)
        by_event.setdefault(event, set()).add(line)
    right = 0
    for lines in by_pattern.values():
        event = truth[min(lines)]
        if by_event[event] == lines:
            right += len(lines)
    return right / len(truth)


def loghub_sample(system: str) -> tuple[list[str], list[str]]:
    """(Content, EventId) of each line of a loghub structured sample, in order."""
    path = LOGHUB / f"{system}_2k.log_structured.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["Content"] for r in rows], [r["EventId"] for r in rows]
