"""The bench's printed table, its JSON file, and the targets of issue 7."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any


def runs(values: list[float]) -> dict[str, Any]:
    values = [round(v, 3) for v in values]
    return {"runs": values, "median": round(statistics.median(values), 3), "min": min(values)}


# Where an analysis that mines patterns differs from the minimal job by design: its
# error types are patterns (docs/patterns.md), the minimal job's masked messages.
PATTERN_TYPED = {"summary": ("distinct_error_types",), "tables": ("errors_by_type",)}


def same_results(timed: Any, minimal: Any, patterns: bool = False) -> bool:
    """The platform's stored document and the minimal job agree on every number
    (with `patterns`, on every number but the error types')."""
    if minimal is None or timed.summary is None:
        return False

    def kept(part: dict, name: str) -> dict:
        left_out = PATTERN_TYPED[name] if patterns else ()
        return {k: v for k, v in json.loads(json.dumps(part)).items() if k not in left_out}

    return kept(minimal.summary, "summary") == kept(timed.summary, "summary") and kept(
        minimal.tables, "tables"
    ) == kept(timed.tables, "tables")


def write(path: Path, result: dict[str, Any]) -> None:
    result["targets"] = targets(result)
    path.write_text(json.dumps(result, indent=2, default=str))


def _ratio(x: float | None, y: float | None) -> float | None:
    return round(x / y, 2) if x and y else None


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with the measured value and whether it is met (None: not measured)."""
    out: list[dict[str, Any]] = []

    def add(name: str, value: Any, met: bool | None) -> None:
        out.append({"target": name, "value": value, "met": met})

    for case in result.get("cases", []):
        a, b, c = case["a"]["median"], case["b"]["median"], (case.get("c") or {}).get("median")
        label = f"{case['format']} {case['size']:,}"
        if case["size"] >= 1_000_000:
            ratio = _ratio(a, b)
            add(f"a/b <= 1.25 ({label})", ratio, ratio is not None and ratio <= 1.25)
        if c:
            ratio = _ratio(c, a)
            add(f"c/a >= 2 ({label})", ratio, ratio >= 2)
        if case["format"] == "csv" and case["size"] >= 10_000_000:
            add(f"10M CSV lines <= 45 s ({label})", a, a <= 45)
        stored = case.get("lines_stored")
        if stored:
            add(
                f"analysis with its lines stored / without <= 1.25 ({label})",
                stored["ratio"],
                stored["ratio"] <= 1.25,
            )
        mined = case.get("patterns_step")
        if mined:
            add(
                f"analysis with patterns / without (lines stored both) <= 1.20 ({label})",
                mined["ratio"],
                mined["ratio"] <= 1.20,
            )
    small = result.get("small_upload_to_result")
    if small:
        add(
            "2 000 lines upload -> succeeded <= 2 s median",
            small["median_seconds"],
            small["median_seconds"] <= 2,
        )
    upload = result.get("upload")
    if upload:
        peak = upload["web"]["peak_process_mb"]
        add(f"web peak memory during a {upload['mb']:.0f} MB upload <= 150 MB", peak, peak <= 150)
    peaks = [
        (case["mb"], max(w["peak_process_mb"] for w in case["worker_memory"]))
        for case in result.get("cases", [])
    ]
    if len(peaks) > 1:
        small_mb, big_mb = min(peaks)[1], max(peaks)[1]
        growth = _ratio(big_mb, small_mb)
        add("worker memory flat with file size (largest/smallest file peak <= 1.2)", growth, growth <= 1.2)
    page = result.get("page")
    if page:
        add("filtered analysis page p95 <= 300 ms", page["p95_ms"], page["p95_ms"] <= 300)
    view = result.get("lines_view")
    if view:
        n = f"{view['analysis_lines']:,}"
        for key, label in (
            ("filtered_page", "Lines page, levels + service + 6 h"),
            ("search_page", "Lines page, free-text search"),
            ("search_nothing_found_page", "Lines page, search for a text no line holds (reads all)"),
            ("drill_down_page", "Lines page, drill-down to an error type"),
        ):
            if key not in view:  # a run from before that case
                continue
            p95 = view[key]["p95_ms"]
            add(f"{label}, {n} lines: p95 <= 1500 ms", p95, p95 <= 1500)
        export = view["export"]
        add(
            f"Lines export of {export['lines']:,} lines >= 20 MB/s",
            export["mb_per_s"],
            export["mb_per_s"] >= 20,
        )
        add(
            "web memory growth during that export < 50 MB",
            export["web_growth_mb"],
            export["web_growth_mb"] < 50,
        )
    bad = result.get("pathological")
    if bad:
        worst = bad["worst"]
        finished = all(line["finished"] for line in bad["lines"])
        add(
            f"every pathological line analysed (worst {worst['format']} line {worst['line']}, s)",
            worst["seconds"],
            finished,
        )
    return out


def table(result: dict[str, Any]) -> str:
    cores = result["machine"]["cores"]
    lines = ["", f"{cores} cores, {result['machine']['cpu']}; Spark server {result.get('spark_server')}"]
    if result.get("cases"):
        lines.append(
            f"{'case':>18} {'MB':>7} {'a s':>7} {'b s':>7} {'c s':>7} {'a/b':>5} {'c/a':>5} "
            f"{'rows/s (a)':>11} {'MB/s (a)':>8} {'worker MB':>9}"
        )
    for case in result.get("cases", []):
        a, b = case["a"]["median"], case["b"]["median"]
        c = (case.get("c") or {}).get("median")
        worker = max(w["peak_process_mb"] for w in case["worker_memory"])
        lines.append(
            f"{case['format'] + ' ' + format(case['size'], ','):>18} {case['mb']:>7.1f} {a:>7.2f} {b:>7.2f} "
            f"{(f'{c:.2f}' if c else '-'):>7} {_ratio(a, b) or '-':>5} {_ratio(c, a) or '-':>5} "
            f"{case['lines'] / a:>11,.0f} {case['mb'] / a:>8.1f} {worker:>9.1f}"
            + ("" if case.get("same_results_as_b") else "  (a and b differ!)")
        )
    for case in result.get("cases", []):
        stored = case.get("lines_stored")
        if stored:
            lines.append(
                f"lines stored, {case['format']} {case['size']:,}: {stored['with']['median']:.2f} s with, "
                f"{stored['without']['median']:.2f} s without (x{stored['ratio']}); "
                f"{stored['lines_bytes'] / 1e6:.1f} MB on disk, {stored['disk_ratio']} of the input"
            )
        mined = case.get("patterns_step")
        if mined:
            lines.append(
                f"pattern step, {case['format']} {case['size']:,}: {mined['with']['median']:.2f} s with, "
                f"{mined['without']['median']:.2f} s without (x{mined['ratio']}); "
                f"{mined.get('distinct_messages')} message keys, {mined.get('patterns')} patterns"
            )
    small = result.get("small_upload_to_result")
    if small:
        lines.append(
            f"2 000-line upload -> succeeded: median {small['median_seconds']} s, runs {small['runs']}"
        )
    upload = result.get("upload")
    if upload:
        lines.append(
            f"upload {upload['file']} ({upload['mb']} MB): {upload['mb_per_s']} MB/s, web worker peak "
            f"{upload['web']['peak_process_mb']} MB (tree {upload['web']['peak_tree_mb']} MB)"
        )
    page = result.get("page")
    if page:
        lines.append(
            f"filtered page ({page['analysis_lines']:,} lines): p50 {page['p50_ms']} ms, "
            f"p95 {page['p95_ms']} ms over {page['requests']} requests"
        )
    bad = result.get("pathological")
    if bad:
        worst = bad["worst"]
        lines.append(
            f"pathological lines ({len(bad['lines'])}, runs of {bad['run_chars']:,} chars): worst "
            f"{worst['format']} line {worst['line']}: {worst['seconds']} s (detection "
            f"{worst.get('detect_seconds')} s, Spark query {worst.get('query_seconds')} s): {worst['outcome']}"
        )
    lines.append("targets:")
    for t in result.get("targets") or targets(result):
        mark = {True: "met", False: "NOT met", None: "-"}[t["met"]]
        lines.append(f"  {mark:>7}  {t['target']}: {t['value']}")
    return "\n".join(lines)
