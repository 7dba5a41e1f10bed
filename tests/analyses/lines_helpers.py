"""Data for the Lines view's tests.

`generated` makes log files of several formats and says, line by line, what the
Lines view must show for them (worked out here, not by the engine); `reference`
filters and orders those lines in plain Python as a Lines query must.

`write_lines` and `attach_lines` store many lines without an analysis, for the
tests that need a slow query: written on the Spark server in the layout the
engine writes (spark_client.lines_layout) and recorded in an analysis's result
document.

Each message holds `abcde` eight times, so HEAVY_REGEX backtracks through some
32 000 steps on every line: slow enough to be interrupted, on any machine, long
before it ends; each line is still quick, so an interrupted task stops at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from analyses.models import Analysis, AnalysisResult
from analyses.services.create import LocalFile, analysis_create
from analyses.services.execute import analysis_execute
from spark_client import lines_layout
from tests.logdata import (
    ERRORS,
    Event,
    make_events,
    pattern_types,
    render_csv,
    render_jsonl,
    render_log4j_iso,
)

HEAVY_REGEX = "a.*b.*c.*d.*e.*f"
FILLER = "xyz0123456789" * 12


def write_lines(spark, relative: str, rows: int, *, partitions: int = 4) -> list[list[int]]:  # noqa: ANN001
    """`rows` lines of one file under STORAGE_ROOT/`relative`; returns their blocks."""
    from pyspark.sql import functions as F

    assert rows % partitions == 0
    levels = F.array(*[F.lit(level) for level in ("DEBUG", "INFO", "WARN", "ERROR", "CRITICAL")])
    level = F.element_at(levels, (F.col("id") % 5 + 1).cast("int"))
    df = spark.range(0, rows, 1, partitions).select(
        F.lit(0).cast("int").alias("file"),
        F.monotonically_increasing_id().alias("row_id"),
        F.lit("ok").alias("status"),
        F.timestamp_seconds(F.lit(1_709_251_200) + F.col("id")).alias("ts"),
        level.alias("level"),
        F.concat(F.lit("line "), F.col("id").cast("string"), F.lit(" " + "abcde" * 8 + " " + FILLER)).alias(
            "message"
        ),
        F.lit("10.0.0.1").alias("ip"),
        F.lit("api").alias("service"),
        F.lit(None).cast("string").alias("endpoint"),
        F.when(level.isin("ERROR", "CRITICAL"), F.lit("Line <NUM>")).alias("error_type"),
        level.isin("ERROR", "CRITICAL").alias("is_error"),
        F.lit(False).alias("truncated"),
    )
    df.sortWithinPartitions("ts").write.mode("overwrite").partitionBy("level").parquet(
        str(Path(settings.STORAGE_ROOT) / relative)
    )
    per = rows // partitions
    return [[0, p << 33, 1 + p * per, per] for p in range(partitions)]


def attach_lines(analysis: Analysis, relative: str, blocks: list[list[int]]) -> Analysis:
    """Record the stored lines at `relative` as `analysis`'s (a succeeded one with one file)."""
    result = AnalysisResult.objects.get(analysis=analysis)
    result.document["lines"] = {
        "path": relative,
        "files": [analysis.files.get().pk],
        "blocks": blocks,
        "rows": sum(b[lines_layout.COUNT] for b in blocks),
        "bytes": 0,
    }
    result.save(update_fields=["document"])
    return analysis


# --------------------------------------------------------------------------- generated files

FORMULAS = ['=HYPERLINK("http://example.com")', "+cmd|' /C calc'!A0", "-2+3 is not a sum", "@SUM(A1) now"]
CONTINUATIONS = ["\tat org.example.Worker.run(Worker.java:42)", "Caused by: java.io.IOException: Broken pipe"]
GARBAGE = "#### Not A Log Line, no time here ####"
MARKUP = '<script>alert("x")</script> & <b>bold</b>'


@dataclass(frozen=True)
class Expected:
    """One line of a generated file as the Lines view must show it."""

    file: str  # the file's name
    line: int
    status: str
    ts: datetime | None
    level: str | None
    service: str | None
    ip: str | None
    error_type: str | None
    message: str


def _ok(
    name: str, line: int, e: Event, *, ts: datetime | None, service: str | None, message: str
) -> Expected:
    is_error = e.level in ERRORS
    return Expected(
        name,
        line,
        "ok",
        ts.replace(tzinfo=UTC) if ts else None,
        e.level,
        service,
        e.ip,
        e.error_type if is_error else None,
        message,
    )


def generated(seed: int = 20) -> tuple[dict[str, str], list[Expected]]:
    """Three files (CSV, log4j, JSON lines) over five days, and every line of them as
    expected: some lines without a time, blank, unparsed and stack-trace lines,
    messages in mixed case, messages a spreadsheet would run as formulas, markup."""
    expected: list[Expected] = []

    # CSV: a header, every 17th time unreadable, formula messages on lines that are no errors.
    csv_events = make_events(200, seed=seed, span_hours=5 * 24, no_ts_every=17)
    for i, e in enumerate(csv_events):
        if i % 23 == 5 and e.level not in ERRORS:
            csv_events[i] = replace(
                e, message=FORMULAS[i % len(FORMULAS)], ip=e.ip_column, kind=-1, word=None
            )
        elif i % 31 == 9 and e.level not in ERRORS:
            csv_events[i] = replace(e, message=MARKUP, ip=e.ip_column, kind=-1, word=None)
    log_events = make_events(
        150, seed=seed + 1, start=datetime(2024, 3, 2, 6), span_hours=4 * 24, with_ip_column=False
    )
    json_events = make_events(60, seed=seed + 2, start=datetime(2024, 3, 4), span_hours=48, no_ts_every=9)
    # The platform mines patterns: an error line's type is its pattern, which
    # depends on every message of the analysis.
    typed = pattern_types(csv_events + log_events + json_events)
    events = typed[: len(csv_events)]
    csv_text = render_csv(events)
    expected += [
        _ok("app.csv", i + 2, e, ts=e.ts, service=e.service, message=e.message) for i, e in enumerate(events)
    ]

    # log4j: milliseconds, a class as the service, stack traces, blank and unparsed lines.
    events = typed[len(csv_events) : len(csv_events) + len(log_events)]
    rendered = render_log4j_iso(events).splitlines()
    lines: list[str] = []
    for i, (e, text) in enumerate(zip(events, rendered, strict=True)):
        lines.append(text)
        ts = e.ts + timedelta(milliseconds=(i * 7) % 1000)
        expected.append(
            _ok("worker.log", len(lines), e, ts=ts, service=f"org.example.{e.service}", message=e.message)
        )
        extra: list[tuple[str, str]] = []
        if e.level == "ERROR" and i % 3 == 0:
            extra = [("continuation", c) for c in CONTINUATIONS]
        elif i % 25 == 7:
            extra = [("blank", "")]
        elif i % 40 == 11:
            extra = [("unparsed", GARBAGE)]
        for status, text in extra:
            lines.append(text)
            expected.append(Expected("worker.log", len(lines), status, None, None, None, None, None, text))
    log_text = "\n".join(lines) + "\n"

    # JSON lines: a line that is no JSON and a blank line among them, some without a time.
    events = typed[len(csv_events) + len(log_events) :]
    json_lines = render_jsonl(events).splitlines()
    json_lines.insert(30, "{this is not json")
    json_lines.insert(45, "")
    number = 0
    for text in json_lines:
        number += 1
        if text == "":
            expected.append(Expected("events.jsonl", number, "blank", None, None, None, None, None, ""))
        elif text.startswith("{this"):
            expected.append(Expected("events.jsonl", number, "unparsed", None, None, None, None, None, text))
    events_by_line = [
        n for n, text in enumerate(json_lines, start=1) if text and not text.startswith("{this")
    ]
    expected += [
        _ok("events.jsonl", n, e, ts=e.ts, service=e.service, message=e.message)
        for n, e in zip(events_by_line, events, strict=True)
    ]
    files = {"app.csv": csv_text, "worker.log": log_text, "events.jsonl": "\n".join(json_lines) + "\n"}
    return files, expected


def matches(x: Expected, query: dict[str, Any], ids: dict[str, int]) -> bool:
    """Whether the Lines filter in `query` (API parameter names) selects `x`."""

    def listed(name: str) -> list[str]:
        value = query.get(name, [])
        values = value if isinstance(value, list) else [value]
        if name == "level":  # comma lists, any case
            return [v.strip().upper() for item in values for v in item.split(",")]
        return values

    def one_of(value: str | None, wanted: list[str]) -> bool:
        return not wanted or value in wanted or ("(none)" in wanted and not value)

    start = datetime.fromisoformat(query["from"]).replace(tzinfo=UTC) if "from" in query else None
    end = datetime.fromisoformat(query["to"]).replace(tzinfo=UTC) if "to" in query else None
    q = query.get("q", "")
    found = (
        re.search(q, x.message, re.IGNORECASE)
        if query.get("regex") == "true"
        else q.lower() in x.message.lower()
    )
    return (
        x.status in (listed("status") or ["ok", "continuation", "unparsed"])
        and (not listed("level") or x.level in listed("level"))
        and (start is None or (x.ts is not None and x.ts >= start))
        and (end is None or (x.ts is not None and x.ts <= end))
        and one_of(x.service, listed("service"))
        and one_of(x.ip, listed("ip"))
        and one_of(x.error_type, listed("error_type"))
        and (not listed("file") or str(ids[x.file]) in listed("file"))
        and bool(found)
    )


def reference(
    expected: list[Expected], query: dict[str, Any], positions: dict[str, int], ids: dict[str, int]
) -> list[tuple[int, int]]:
    """(file id, line) of every line `query` selects, in its order."""
    newest = query.get("order", "newest") == "newest"
    sign = -1 if newest else 1

    def key(x: Expected) -> tuple:
        moment = x.ts.timestamp() if x.ts else 0.0
        return (x.ts is None, sign * moment, sign * positions[x.file], sign * x.line)

    return [(ids[x.file], x.line) for x in sorted((x for x in expected if matches(x, query, ids)), key=key)]


# --------------------------------------------------------------------------- a real analysis of them


@dataclass
class Generated:
    analysis: Analysis
    expected: list[Expected]
    positions: dict[str, int]  # file name -> its position in the stored lines
    ids: dict[str, int]  # file name -> AnalysisFile id


@pytest.fixture
def generated_analysis(team_a, alice, tmp_path, spark_url) -> Generated:
    """A real analysis (in-process, on the test Spark server) of the generated files."""
    files, expected = generated()
    local = []
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        local.append(LocalFile(path=tmp_path / name, name=name))
    analysis = analysis_create(team=team_a, user=alice, files=local, enqueue=False)
    assert analysis_execute(analysis_id=analysis.pk) == "succeeded"
    analysis.refresh_from_db()
    stored = AnalysisResult.objects.get(analysis=analysis).document["lines"]
    names = {f.pk: f.original_name for f in analysis.files.all()}
    positions = {names[file_id]: i for i, file_id in enumerate(stored["files"])}
    return Generated(analysis, expected, positions, {name: pk for pk, name in names.items()})
