"""Succeeded analyses whose result documents carry a `patterns` section of issue 21's
contract, written by the tests (for the Patterns view, API and alert tests that do
not need Spark's mining; the real engine's path has its own tests)."""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from analyses.models import Analysis, AnalysisResult
from tests.analyses.helpers import make_analysis, store_result
from tests.logdata import make_events, render_csv

BUCKETS = 24


def pattern_id(template: str) -> str:
    return hashlib.sha256(template.encode()).hexdigest()[:16]


def item(template: str, count: int, *, errors: int = 0, example: str | None = None, **extra: Any) -> dict:
    levels = {"ERROR": errors, "INFO": count - errors} if errors else {"INFO": count}
    spark = [0] * BUCKETS
    for i in range(count):
        spark[(i * 7) % BUCKETS] += 1
    return {
        "id": pattern_id(template),
        "template": template,
        "count": count,
        "errors": errors,
        "levels": {k: v for k, v in levels.items() if v},
        "first_ts": "2024-03-01T00:00:00+00:00",
        "last_ts": "2024-03-01T23:00:00+00:00",
        "example": example if example is not None else template.replace("<*>", "42"),
        "sparkline": spark,
        **extra,
    }


def section(items: list[dict], *, total: int | None = None) -> dict:
    items = sorted(items, key=lambda p: (-p["count"], p["template"]))
    return {
        "items": items,
        "sparkline": {"start": "2024-03-01T00:00:00+00:00", "bucket_seconds": 3600, "buckets": BUCKETS},
        "total": len(items) if total is None else total,
        "distinct_messages": sum(p["count"] for p in items),
        "capped": False,
    }


def analysis_with_patterns(
    team,  # noqa: ANN001
    user,  # noqa: ANN001
    tmp_path: Path,
    items: list[dict] | None,
    *,
    name: str = "web.csv",
    total_logs: int | None = None,
    total: int | None = None,
    lines: bool = False,
) -> Analysis:
    """A succeeded analysis named `name`; `items` None: a document without `patterns`
    (an analysis stored before patterns existed). `total_logs`: its lines (default
    the items' counts summed)."""
    directory = tmp_path / f"a{Analysis.objects.count()}"
    directory.mkdir()
    events = make_events(20, seed=3)
    analysis = store_result(make_analysis(team, user, directory, text=render_csv(events), name=name), events)
    result = AnalysisResult.objects.get(analysis=analysis)
    document = result.document
    if items is not None:
        document["patterns"] = section(items, total=total)
        document["summary"]["total_logs"] = (
            total_logs if total_logs is not None else sum(p["count"] for p in items)
        )
    if lines:
        document["lines"] = {"path": "lines/none", "files": [], "blocks": [], "rows": 0, "bytes": 0}
    result.document = document
    result.save(update_fields=["document"])
    analysis.name = name
    analysis.save(update_fields=["name"])
    return analysis


# A small billing service's log for the tests on real analyses (test_patterns_real.py,
# tests/e2e/test_patterns_browser.py): four events, and a new error event on demand.
NEW_EVENT = "Database shard {n} is unreachable"


def events(rnd: random.Random, *, with_new: bool) -> list[tuple[str, str]]:
    """(level, message) of a small billing service; `with_new` adds the new error event."""
    out = []
    for _ in range(120):
        out.append(("INFO", f"Request {rnd.randint(1000, 99999)} served in {rnd.randint(1, 900)} ms"))
    for _ in range(60):
        out.append(("INFO", f"Session {rnd.randint(1, 9999)} opened for account {rnd.randint(1, 500)}"))
    for _ in range(25):
        out.append(("WARN", f"Cache miss for invoice {rnd.randint(1, 10**6)}"))
    for _ in range(15):
        out.append(("ERROR", f"Payment gateway timeout after {rnd.randint(5, 60)} seconds"))
    if with_new:
        for _ in range(11):
            out.append(("ERROR", NEW_EVENT.format(n=rnd.randint(1, 64))))
    rnd.shuffle(out)
    return out


def csv_text(rows: list[tuple[str, str]]) -> str:
    start = datetime(2024, 5, 2, 8, 0, 0)
    lines = ["timestamp,log_level,message"]
    for i, (level, message) in enumerate(rows):
        lines.append(f"{(start + timedelta(seconds=37 * i)):%Y-%m-%d %H:%M:%S},{level},{message}")
    return "\n".join(lines) + "\n"
