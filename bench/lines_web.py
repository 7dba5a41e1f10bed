"""The Lines view through the web (issue 20), on the bench's largest analysis:

- a filtered page (levels + a service + a 6-hour range) and a free-text search, each
  request with different values (a new window, another word), so no answer is a
  repeat of the last one;
- a drill-down as the analysis page links it (an error type, the page's filters);
- the export of about a million matching lines, streamed: MB/s and the web process
  tree's memory growth while it streams.

Every request is a real gunicorn request that runs a Spark Connect query.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import requests

from bench.datagen import START
from bench.procs import MemoryWatch
from logplatform.processes import Child

# Words of the generated messages (bench/datagen.py TEMPLATES), one per request.
WORDS = ["timeout", "deadlock", "declined", "denied", "upstream", "panic", "replication", "invalid"]
SERVICES = ["api", "gateway", "auth", "search", "billing", "worker"]


def _moment(hours: int) -> str:
    return str(START + hours * 3600).replace(" ", "T")


def _timed(session: requests.Session, url: str, params_list: list[dict]) -> dict[str, Any]:
    session.get(url, params=params_list[0], timeout=120).raise_for_status()  # warm: plans, JIT
    times = []
    rows = []
    for params in params_list:
        started = time.perf_counter()
        response = session.get(url, params=params, timeout=120)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
        rows.append(response.text.count('<tr class="level-'))
    ordered = sorted(times)
    return {
        "requests": len(times),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "rows_shown_median": statistics.median(rows),
        "example": params_list[-1],
    }


def lines_timing(session: requests.Session, base: str, analysis_id: int, requests_: int) -> dict[str, Any]:
    page = f"{base}/analyses/{analysis_id}/lines/"
    filtered = [
        {
            "levels": ["ERROR", "WARN"] if i % 2 else ["ERROR"],
            "services": SERVICES[i % len(SERVICES)],
            "from": _moment(24 * (i % 7) + 6 + i % 12),
            "to": _moment(24 * (i % 7) + 12 + i % 12),
            "limit": 100,
        }
        for i in range(requests_)
    ]
    search = [{"q": WORDS[i % len(WORDS)], "limit": 100} for i in range(requests_)]
    # A text no line holds: the search reads every window, all the lines (the worst case).
    rare = [{"q": f"nosuchword{i}", "limit": 100} for i in range(max(3, requests_ // 5))]
    types = session.get(f"{base}/api/v1/analyses/{analysis_id}/results/", timeout=60).json()["tables"][
        "errors_by_type"
    ]
    drill = [
        {
            "error_type": types[i % min(len(types), 10)]["error_type"],
            "start": _moment(24 * (i % 7))[:16],
            "end": _moment(24 * (i % 7) + 23)[:16],
            "services": SERVICES[i % len(SERVICES)],
        }
        for i in range(requests_)
    ]
    return {
        "filtered_page": _timed(session, page, filtered),
        "search_page": _timed(session, page, search),
        "search_nothing_found_page": _timed(session, page, rare),
        "drill_down_page": _timed(session, page, drill),
    }


def lines_export(
    session: requests.Session, base: str, analysis_id: int, web: Child, params: dict
) -> dict[str, Any]:
    """One CSV export through the API, read as it streams; MB/s over the whole
    response and the web tree's resident memory before and at its peak."""
    url = f"{base}/api/v1/analyses/{analysis_id}/lines/export/"
    size = 0
    lines = 0
    with MemoryWatch(web.pid) as watch:
        started = time.perf_counter()
        with session.get(url, params={**params, "format": "csv"}, stream=True, timeout=600) as response:
            response.raise_for_status()
            for chunk in response.iter_content(chunk_size=1 << 20):
                size += len(chunk)
                lines += chunk.count(b"\n")
        seconds = time.perf_counter() - started
    memory = watch.as_dict()
    return {
        "params": params,
        "lines": lines - 1,  # the header
        "mb": round(size / 1e6, 1),
        "seconds": round(seconds, 2),
        "mb_per_s": round(size / 1e6 / seconds, 1),
        "web": memory,
        "web_growth_mb": round(memory["peak_tree_mb"] - memory["start_tree_mb"], 1),
    }
