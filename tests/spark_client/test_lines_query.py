"""Lines queries (spark_client.engine.lines_query) against a dataset written here in
the stored-lines layout (spark_client.lines_layout), checked against the same
records filtered and sorted in plain Python: every filter, both orders, every page.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from spark_client import lines_layout
from spark_client.lines_filter import (
    NONE_VALUE,
    OLDEST,
    STATUSES,
    Cursor,
    CursorError,
    LinesFilter,
    LinesFilterError,
    micros,
    regex_problem,
)

pytestmark = pytest.mark.spark

T0 = datetime(2024, 3, 1, tzinfo=UTC)
SERVICES = ["api", "auth", "billing", None, ""]
IPS = ["10.0.0.1", "10.0.0.2", "192.168.1.7", None]
TYPES = ["Disk <NUM> full", "Timeout after <NUM>s", "Login failed for <STR>"]
WORDS = ["Disk", "TIMEOUT", "timeout", "Login", "50%_off", "a_b", "=SUM(A1)", "+cmd", "Straße"]


def _records(seed: int = 20) -> tuple[list[dict], list[list[int]]]:
    """Three files cut into Spark-like blocks: ids `partition << 33 | index`, lines
    numbered from 1 (file 0 has a CSV header, so its first row is line 2)."""
    rng = random.Random(seed)
    records, blocks = [], []
    partition = 0
    for file, sizes in enumerate([(90, 70), (120,), (60, 50, 40)]):
        line = 2 if file == 0 else 1
        for size in sizes:
            base = partition << 33
            blocks.append([file, base, line, size])
            for i in range(size):
                records.append(_record(rng, file, base + i))
            partition += 1
            line += size
    return records, blocks


def _record(rng: random.Random, file: int, row_id: int) -> dict:
    status = rng.choices(["ok", "continuation", "unparsed", "blank"], [80, 8, 6, 6])[0]
    # Minutes over five days, many shared, so ties are broken by file and row id.
    ts = (
        T0 + timedelta(minutes=rng.randrange(0, 5 * 24 * 60, 7))
        if status == "ok" and rng.random() > 0.1
        else None
    )
    level = rng.choice(["DEBUG", "INFO", "WARN", "ERROR", "CRITICAL"]) if status == "ok" else None
    message = "" if status == "blank" else f"{rng.choice(WORDS)} {rng.choice(WORDS).lower()} #{row_id % 1000}"
    is_error = level in ("ERROR", "CRITICAL")
    return {
        "file": file,
        "row_id": row_id,
        "status": status,
        "ts": ts,
        "level": level,
        "message": message,
        "ip": rng.choice(IPS) if status == "ok" else None,
        "service": rng.choice(SERVICES) if status == "ok" else None,
        "endpoint": None,
        "error_type": rng.choice(TYPES) if is_error else None,
        "is_error": is_error,
        "truncated": False,
    }


@pytest.fixture(scope="module")
def stored(spark, tmp_path_factory):
    """(path, records, blocks): the records written as the engine writes lines."""
    from pyspark.sql import functions as F

    from spark_client.engine.lines_query import SCHEMA

    records, blocks = _records()
    path = str(tmp_path_factory.mktemp("lines") / "run")
    columns = [name for name, _ in lines_layout.COLUMNS]
    rows = [tuple(r[c] for c in columns) for r in records]
    df = spark.createDataFrame(rows, schema=SCHEMA).repartition(3)
    df.sortWithinPartitions("ts").write.partitionBy("level").parquet(path)
    assert spark.read.parquet(path).where(F.col("level").isNull()).count() > 0
    return path, records, blocks


def _key(r: dict, newest: bool) -> tuple:
    t = micros(r["ts"]) if r["ts"] else 0
    sign = -1 if newest else 1
    return (r["ts"] is None, sign * t, sign * r["file"], sign * r["row_id"])


def _none_or(value: str | None, wanted: tuple[str, ...]) -> bool:
    return value in wanted or (NONE_VALUE in wanted and not value)


def reference(records: list[dict], f: LinesFilter) -> list[tuple[int, int]]:
    """(file, row_id) of the lines `f` selects, in its order."""

    def keep(r: dict) -> bool:
        message = r["message"] or ""
        return (
            (not f.levels or r["level"] in f.levels)
            and (f.start is None or (r["ts"] is not None and r["ts"] >= f.start))
            and (f.end is None or (r["ts"] is not None and r["ts"] <= f.end))
            and (not f.files or r["file"] in f.files)
            and (not f.statuses or r["status"] in f.statuses)
            and (not f.services or _none_or(r["service"], f.services))
            and (not f.ips or _none_or(r["ip"], f.ips))
            and (not f.error_types or _none_or(r["error_type"], f.error_types))
            and (
                not f.q
                or (re.search(f.q, message, re.IGNORECASE) if f.regex else f.q.lower() in message.lower())
            )
        )

    chosen = sorted((r for r in records if keep(r)), key=lambda r: _key(r, f.order != OLDEST))
    return [(r["file"], r["row_id"]) for r in chosen]


def every_page(
    spark, path: str, f: LinesFilter, span: tuple[int, int] | None = None
) -> list[tuple[int, int]]:
    from spark_client.engine.lines_query import lines_page

    seen: list[tuple[int, int]] = []
    cursor = None
    for _ in range(100):
        page = lines_page(spark, path, replace(f, cursor=cursor), span=span)
        assert len(page.lines) <= f.limit
        seen += [(line.file, line.row_id) for line in page.lines]
        if page.next is None:
            return seen
        assert len(page.lines) == f.limit
        cursor = Cursor.decode(page.next.encode())  # through its text, as a client sends it back
    raise AssertionError("more than 100 pages")


FILTERS = {
    "everything but blank lines": LinesFilter(limit=50),
    "levels": LinesFilter(levels=("ERROR", "CRITICAL"), limit=50),
    "time range": LinesFilter(start=T0 + timedelta(days=1), end=T0 + timedelta(days=2, hours=6), limit=50),
    "service and no service": LinesFilter(services=("auth", NONE_VALUE), limit=50),
    "ips": LinesFilter(ips=("10.0.0.1", "192.168.1.7"), limit=50),
    "error type": LinesFilter(error_types=("Timeout after <NUM>s",), limit=50),
    "files": LinesFilter(files=(0, 2), limit=50),
    "blank lines only": LinesFilter(statuses=("blank",), limit=50),
    "every status": LinesFilter(statuses=("ok", "continuation", "unparsed", "blank"), limit=50),
    "text, any case": LinesFilter(q="TimeOut", limit=50),
    "text with % and _": LinesFilter(q="50%_", limit=50),
    "text, not ASCII": LinesFilter(q="STRAßE", limit=50),
    "regex": LinesFilter(q=r"^(disk|login) [a-z]+ #\d{2}$", regex=True, limit=50),
    "combined": LinesFilter(
        levels=("INFO", "ERROR"),
        services=("api", "billing"),
        start=T0 + timedelta(hours=12),
        end=T0 + timedelta(days=4),
        q="o",
        limit=50,
    ),
}


@pytest.mark.parametrize("order", ["newest", "oldest"])
@pytest.mark.parametrize("name", list(FILTERS))
def test_every_page_of_a_filter_is_the_reference(spark, stored, name, order):
    path, records, _blocks = stored
    f = replace(FILTERS[name], order=order)
    expected = reference(records, f)
    assert expected, "the generated data should have lines for every filter"
    got = every_page(spark, path, f)
    assert len(got) == len(set(got))  # no line twice
    assert got == expected


DAY = 86_400_000_000
SPANS = {
    "the data's": (micros(T0), micros(T0) + 5 * DAY),
    "inside the data's": (micros(T0) + DAY, micros(T0) + 2 * DAY),
    "wider than the data's": (micros(T0) - 30 * DAY, micros(T0) + 40 * DAY),
}
SEARCHES = [name for name, f in FILTERS.items() if f.q]


@pytest.mark.parametrize("order", ["newest", "oldest"])
@pytest.mark.parametrize("span", list(SPANS))
@pytest.mark.parametrize("name", SEARCHES)
def test_a_search_in_time_windows_is_the_reference(spark, stored, name, span, order):
    """The windows hold every line once, wherever the span puts their cuts."""
    path, records, _blocks = stored
    f = replace(FILTERS[name], order=order)
    assert every_page(spark, path, f, SPANS[span]) == reference(records, f)


def test_a_search_stops_at_the_first_window_that_fills_the_page(spark, stored, monkeypatch):
    from spark_client.engine import lines_query

    path, records, _blocks = stored
    queries = []
    real = lines_query._lines
    monkeypatch.setattr(lines_query, "_lines", lambda rows: queries.append(len(rows)) or real(rows))
    # A span whose newest 1/16 holds all five days: the page fills in one query.
    span = (micros(T0) - 75 * DAY, micros(T0) + 5 * DAY)
    common = LinesFilter(q="o", limit=50)
    assert len(reference(records, common)) > 51
    page = lines_query.lines_page(spark, path, common, span=span)
    assert queries == [51]
    assert [(x.file, x.row_id) for x in page.lines] == reference(records, common)[:50]
    queries.clear()
    rare = LinesFilter(q="in no line", limit=50)
    assert reference(records, rare) == []
    lines_query.lines_page(spark, path, rare, span=span)
    assert len(queries) == lines_query.SEARCH_WINDOWS  # too few matches: every window read
    queries.clear()
    lines_query.lines_page(spark, path, replace(common, q=""), span=span)
    assert len(queries) == 1  # not a search: one query


def test_a_page_carries_every_column(spark, stored):
    from spark_client.engine.lines_query import lines_page

    path, records, _blocks = stored
    page = lines_page(spark, path, LinesFilter(order=OLDEST, limit=50))
    by_key = {(r["file"], r["row_id"]): r for r in records}
    for line in page.lines:
        r = by_key[(line.file, line.row_id)]
        assert (line.ts, line.level, line.service, line.ip, line.error_type) == (
            r["ts"],
            r["level"],
            r["service"],
            r["ip"],
            r["error_type"],
        )
        assert (line.status, line.message, line.truncated) == (r["status"], r["message"], False)


def test_lines_without_a_time_come_last_in_both_orders(spark, stored):
    path, records, _blocks = stored
    for order in ("newest", "oldest"):
        got = every_page(spark, path, LinesFilter(order=order, limit=500))
        untimed = sum(1 for r in records if r["ts"] is None and r["status"] != "blank")
        assert untimed > 0
        by_key = {(r["file"], r["row_id"]): r for r in records}
        assert all(by_key[k]["ts"] is None for k in got[-untimed:])
        assert all(by_key[k]["ts"] is not None for k in got[:-untimed])


def test_the_context_of_a_line_is_the_lines_around_it_in_its_file(spark, stored):
    from spark_client.engine.lines_query import lines_by_row_ids

    path, records, blocks = stored
    numbered = {(r["file"], lines_layout.line_number(blocks, r["file"], r["row_id"])): r for r in records}
    # File 2 line 65: 45..85 cross the boundary of its first two blocks (60 and 50 lines).
    for file, line in [(2, 65), (0, 2), (0, 161), (1, 60)]:
        ranges = lines_layout.row_id_ranges(blocks, file, line - 20, line + 20)
        got = lines_by_row_ids(spark, path, file, ranges)
        expected = [numbered[(file, n)] for n in range(line - 20, line + 21) if (file, n) in numbered]
        assert [(x.file, x.row_id) for x in got] == [(r["file"], r["row_id"]) for r in expected]
        numbers = [lines_layout.line_number(blocks, file, x.row_id) for x in got]
        assert numbers == list(range(max(line - 20, 2 if file == 0 else 1), numbers[-1] + 1))
    assert len(lines_layout.row_id_ranges(blocks, 2, 45, 85)) == 2


def _ids(tables) -> list[tuple[int, int]]:
    """(file, row_id) of every row of an export's Arrow tables, in order."""
    return [
        (file, row_id)
        for table in tables
        for file, row_id in zip(
            table.column("file").to_pylist(), table.column("row_id").to_pylist(), strict=True
        )
    ]


def test_an_export_is_every_matching_line_in_order(spark, stored):
    from spark_client.engine.lines_query import lines_export_tables

    path, records, _blocks = stored
    for f in (LinesFilter(), LinesFilter(levels=("WARN",), order=OLDEST), LinesFilter(q="zzz-nothing")):
        got = _ids(lines_export_tables(spark, path, f))
        assert got == reference(records, f)


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_an_export_in_pieces_is_the_same_lines_in_the_same_order(spark, stored, order, monkeypatch):
    """Pieces of 3 000 bytes: many ranges of time, then row-id ranges of the lines
    without one (cut every 25 row ids here)."""
    from spark_client.engine import lines_query
    from spark_client.engine.lines_query import _selected, export_pieces, lines_export_tables

    monkeypatch.setattr(lines_query, "UNTIMED_BLOCK_ROWS", 25)
    path, records, _blocks = stored
    for f in (LinesFilter(order=order), LinesFilter(order=order, statuses=STATUSES)):
        expected = reference(records, f)
        pieces = export_pieces(_selected(spark, path, f), order == "newest", 3000)
        assert len(pieces) > 10
        got = _ids(lines_export_tables(spark, path, f, piece_bytes=3000))
        assert got == expected


def test_a_bad_filter_is_refused_before_any_query():
    cases = {
        "level": dict(levels=("LOUD",)),
        "limit": dict(limit=501),
        "order": dict(order="random"),
        "from": dict(start=T0 + timedelta(days=1), end=T0),
        "status": dict(statuses=("gone",)),
        "q": dict(q="(a+)+$", regex=True),
    }
    for field, kwargs in cases.items():
        with pytest.raises(LinesFilterError) as info:
            LinesFilter(**kwargs)
        assert list(info.value.errors) == [field]


@pytest.mark.parametrize(
    "pattern",
    ["(a+)+", "(a|ab)*", r"(\w+\s?)*", "(?:x*y)+", r"(a)\1", r"(?<n>a)\k<n>", "x" * 201, "(a", "a)"],
)
def test_a_regex_that_can_backtrack_without_bound_is_refused(pattern):
    assert regex_problem(pattern)


@pytest.mark.parametrize("pattern", ["(ab)+", "a+b*", "(a|b)", "(?i)error", r"timeout after \d+s", "[(]+"])
def test_an_ordinary_regex_passes(pattern):
    assert regex_problem(pattern) is None


@pytest.mark.parametrize(
    "text", ["", "x", "bm90IGEgY3Vyc29y", "WzEsMl0", "W251bGwsLTEsMl0", "W3RydWUsMSwyXQ"]
)
def test_a_cursor_that_is_not_one_is_refused(text):
    with pytest.raises(CursorError):
        Cursor.decode(text)


def test_a_cursor_survives_its_text():
    for cursor in (Cursor(None, 0, 5), Cursor(-5, 3, (7 << 33) + 1), Cursor(micros(T0), 1, 0)):
        assert Cursor.decode(cursor.encode()) == cursor


def test_a_process_without_a_session_yet_can_import_the_queries():
    """A web process imports the Lines queries before it opens its first Spark session
    (analyses.lines.service), where pyspark cannot make a column yet."""
    import os
    import subprocess
    import sys

    from tests.conftest import BASE_DIR

    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARK_CONNECT_MODE")}
    proc = subprocess.run(
        [sys.executable, "-c", "import spark_client.engine.lines_query"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
