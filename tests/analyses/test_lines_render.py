"""The export's columnar rendering (analyses.lines.render) against line-by-line
Python: the same cells for every kind of value, parsed back by the csv module."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from analyses.lines.render import CSV_COLUMNS, LineNumbers, csv_chunk, iso_times, jsonl_chunk
from analyses.lines.source import numberer
from analyses.reports import FORMULA_STARTS, safe_cell

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _iso(micros: int | None) -> str | None:
    if micros is None:
        return None
    moment = EPOCH + timedelta(microseconds=micros)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond:06d}Z" if moment.microsecond else f"{text}Z"


TEXTS = [
    None,
    "",
    "plain",
    "=1+2",
    "+x",
    "-3",
    "@SUM(A1)",
    "\tTAB",
    "\rCR",
    'a "quoted", comma',
    "two\nlines",
    "ünï ☃",
]


def _table(rnd: random.Random, n: int) -> pa.Table:
    micros = [
        None
        if rnd.random() < 0.1
        else rnd.choice([0, 1_000_000, -1, -1_500_000, 1_700_000_000_123_456]) + rnd.randrange(10**12)
        for _ in range(n)
    ]
    return pa.table(
        {
            "ts_micros": pa.array(micros, pa.int64()),
            "level": pa.array([rnd.choice([None, "ERROR", "INFO"]) for _ in range(n)]),
            "service": pa.array([rnd.choice(TEXTS) for _ in range(n)], pa.string()),
            "ip": pa.array([rnd.choice(TEXTS) for _ in range(n)], pa.string()),
            "error_type": pa.array([rnd.choice(TEXTS) for _ in range(n)], pa.string()),
            "file": pa.array([rnd.randrange(3) for _ in range(n)], pa.int32()),
            "row_id": pa.array(
                [rnd.randrange(0, 40) + (rnd.randrange(3) << 33) for _ in range(n)], pa.int64()
            ),
            "status": pa.array([rnd.choice(["ok", "unparsed", "blank"]) for _ in range(n)]),
            "message": pa.array([rnd.choice(TEXTS) for _ in range(n)], pa.string()),
            "truncated": pa.array([rnd.choice([None, True, False]) for _ in range(n)], pa.bool_()),
            "endpoint": pa.array([None] * n, pa.string()),
            "pattern_id": pa.array([rnd.choice([None, "p1a2"]) for _ in range(n)], pa.string()),
            "pattern": pa.array([rnd.choice(TEXTS) for _ in range(n)], pa.string()),
        }
    )


# Blocks of files 0 and 1 (file 2 has none: its rows have no number), with gaps.
BLOCKS = [[0, 0, 2, 10], [0, 1 << 33, 12, 30], [0, 2 << 33, 50, 5], [1, 5, 1, 20], [1, (1 << 33) + 3, 30, 40]]
FILES = [(11, "a.log"), (12, "=evil.csv"), (13, "c.log")]


def test_times_are_written_as_the_pages_write_them():
    values = [None, 0, 1, 999_999, 1_000_000, -1, -1_000_001, 1_700_000_000_123_456, 253_402_300_799_000_000]
    assert iso_times(pa.array(values, pa.int64())).to_pylist() == [_iso(v) for v in values]


def test_line_numbers_are_the_numberer_s():
    rnd = random.Random(3)
    table = _table(rnd, 2000)
    number = numberer(BLOCKS)
    files = table.column("file").to_pylist()
    ids = table.column("row_id").to_pylist()
    got = LineNumbers(BLOCKS).of(table.column("file").to_numpy(), table.column("row_id").to_numpy())
    assert got.to_pylist() == [number(f, r) for f, r in zip(files, ids, strict=True)]
    assert None in got.to_pylist() and len(set(got.to_pylist())) > 50


def test_csv_cells_are_the_line_by_line_cells():
    rnd = random.Random(5)
    table = _table(rnd, 3000)
    number = numberer(BLOCKS)
    rows = list(csv.reader(io.StringIO(csv_chunk(table, FILES, LineNumbers(BLOCKS)).decode())))
    assert len(rows) == table.num_rows
    for row, x in zip(rows, table.to_pylist(), strict=True):
        cells = dict(zip(CSV_COLUMNS, row, strict=True))
        expected = {
            "ts": _iso(x["ts_micros"]),
            "level": x["level"],
            "service": safe_cell(x["service"]),
            "ip": safe_cell(x["ip"]),
            "error_type": safe_cell(x["error_type"]),
            "file_id": str(FILES[x["file"]][0]),
            "file": safe_cell(FILES[x["file"]][1]),
            "line": number(x["file"], x["row_id"]),
            "status": x["status"],
            "truncated": "true" if x["truncated"] else "false",
            "message": safe_cell(x["message"] or ""),
            "pattern_id": x["pattern_id"],
            "pattern": safe_cell(x["pattern"]),
        }
        assert cells == {k: "" if v is None else str(v) for k, v in expected.items()}
        assert not any(cell.startswith(FORMULA_STARTS) for cell in row)


def test_json_lines_carry_the_values_unchanged():
    rnd = random.Random(7)
    table = _table(rnd, 500)
    number = numberer(BLOCKS)
    lines = jsonl_chunk(table, FILES, LineNumbers(BLOCKS)).decode().splitlines()
    assert len(lines) == table.num_rows
    for line, x in zip(lines, table.to_pylist(), strict=True):
        got = json.loads(line)
        assert got["ts"] == _iso(x["ts_micros"])
        assert got["file"] == {"id": FILES[x["file"]][0], "name": FILES[x["file"]][1]}
        assert got["line"] == number(x["file"], x["row_id"])
        assert got["message"] == (x["message"] or "")
        assert got["truncated"] is bool(x["truncated"])
        assert (got["service"], got["pattern"]) == (x["service"], x["pattern"])
