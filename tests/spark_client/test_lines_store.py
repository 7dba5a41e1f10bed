"""The stored lines (engine.lines): every row written once, in its level's directory,
sorted by time, and numbered as the line it came from (read back with pyarrow and
checked against the file read in Python)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from spark_client.engine import analyze
from spark_client.engine.lines import EXTRA_COLUMNS
from spark_client.lines_layout import COLUMN_NAMES, NULL_PARTITION, line_number
from spark_client.types import InputFile
from tests.spark_client.conftest import engine_options
from tests.spark_client.test_formats import _csv_beyond_the_head

pytestmark = pytest.mark.spark

# Every line the tests write carries its own number: a stored row's number must
# point back at the line that holds its marker.
MARK = re.compile(r"n=(\d+);")


def _lines(data: bytes) -> list[str]:
    """The file's lines as Hadoop's line reader ends them (LF, CR, CRLF)."""
    lines = re.split(r"\r\n|\r|\n", data.decode("utf-8"))
    return lines[:-1] if lines and lines[-1] == "" else lines


def _store(spark, tmp_path: Path, files: dict[str, str | bytes], **options):
    inputs = []
    for i, (name, content) in enumerate(files.items(), start=1):
        path = tmp_path / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        inputs.append(InputFile(i, str(path), name))
    lines_dir = tmp_path / "lines" / "run"
    output = analyze(spark, inputs, engine_options(**options), lines_dir=str(lines_dir))
    return output, inputs, lines_dir


def _rows(lines_dir: Path) -> list[dict]:
    partitioning = ds.HivePartitioning.discover(null_fallback=NULL_PARTITION)
    return ds.dataset(lines_dir, format="parquet", partitioning=partitioning).to_table().to_pylist()


def _check_numbers(output, inputs, lines_dir: Path, *, numbered_by_record: set[int] = frozenset()) -> dict:
    """Every stored row's line number leads to its line; returns {file: {line: row}}."""
    manifest = output.lines
    assert manifest.files == [f.file_id for f in inputs]
    by_file: dict[int, dict[int, dict]] = {}
    rows = _rows(lines_dir)
    for row in rows:
        number = line_number(manifest.blocks, row["file"], row["row_id"])
        assert number not in by_file.setdefault(row["file"], {}), "two rows with one line number"
        by_file[row["file"]][number] = row
    for position, f in enumerate(inputs):
        if position in numbered_by_record:
            continue
        text = _lines(Path(f.path).read_bytes())
        for number, row in by_file.get(position, {}).items():
            line = text[number - 1].lstrip("\ufeff")
            if row["status"] == "blank":
                assert line.strip() == "", (f.name, number, line)
                continue
            marks = MARK.findall(line)
            assert marks == [str(number)], (f.name, number, line)
            assert MARK.findall(row["message"]) == marks, (f.name, number, row)
            if row["status"] in ("unparsed", "continuation"):
                assert row["message"] == line
    assert manifest.rows == len(rows)
    assert manifest.bytes == sum(p.stat().st_size for p in lines_dir.rglob("*") if p.is_file())
    return by_file


def _check_layout(lines_dir: Path, rows: list[dict]) -> None:
    """A directory per level; each part file sorted by time, nulls first."""
    levels = {r["level"] for r in rows}
    dirs = {p.name for p in lines_dir.iterdir() if p.is_dir()}
    assert dirs == {f"level={NULL_PARTITION if lv is None else lv}" for lv in levels}
    for part in lines_dir.glob("level=*/*.parquet"):
        table = pq.read_table(part)
        assert table.column_names == [c for c in COLUMN_NAMES if c != "level"] + [n for n, _ in EXTRA_COLUMNS]
        stamps = table.column("ts").to_pylist()
        nulls = stamps.count(None)
        assert stamps[:nulls] == [None] * nulls and stamps[nulls:] == sorted(stamps[nulls:])


def _log4j(rnd: random.Random, count: int, start: int = 1) -> list[str]:
    lines = []
    for n in range(start, start + count):
        kind = rnd.random()
        if kind < 0.05:
            lines.append(rnd.choice(["", "   ", "\t"]))
        elif kind < 0.12:
            lines.append(f"\tat com.example.Handler.run(Handler.java:{n}) n={n};")
        elif kind < 0.16:
            lines.append(f"garbage that is no event n={n};")
        else:
            level = rnd.choice(["INFO", "WARN", "ERROR", "DEBUG"])
            stamp = f"2024-03-0{rnd.randrange(1, 4)} {rnd.randrange(24):02d}:{rnd.randrange(60):02d}:07,123"
            lines.append(
                f"{stamp} {level} [main] com.example.Svc{rnd.randrange(3)}: event n={n}; ip 10.0.0.{n % 7}"
            )
    return lines


def test_raw_lines_are_stored_with_their_line_numbers(spark, tmp_path):
    rnd = random.Random(1)
    log4j = "\n".join(_log4j(rnd, 400)) + "\n"
    access = "".join(
        f'10.0.0.{n % 5} - - [10/Oct/2023:13:{n % 60:02d}:36 +0000] "GET /p/{n}?n={n}; HTTP/1.1" '
        f"{rnd.choice([200, 404, 500])} 12\r\n"
        if n % 9
        else f"not an access line n={n};\r\n"
        for n in range(1, 201)
    )
    output, inputs, lines_dir = _store(spark, tmp_path, {"app.log": log4j, "access.log": access})
    by_file = _check_numbers(output, inputs, lines_dir)
    # Every line of a raw file is a row, blank ones included.
    assert sorted(by_file[0]) == list(range(1, 401))
    assert sorted(by_file[1]) == list(range(1, 201))
    statuses = {r["status"] for r in by_file[0].values()}
    assert statuses == {"ok", "blank", "unparsed", "continuation"}
    _check_layout(lines_dir, _rows(lines_dir))


def test_csv_lines_skip_the_header_and_blank_lines(spark, tmp_path):
    rows = ["", "timestamp,level,service,message"]  # a blank line before the header
    for n in range(3, 303):
        if n % 17 == 0:
            rows.append("  " if n % 2 else "")
        else:
            rows.append(f"2024-01-01T10:{n % 60:02d}:00,{['INFO', 'ERROR'][n % 2]},api,event n={n};")
    csv = "\r\n".join(rows) + "\r\n"
    output, inputs, lines_dir = _store(spark, tmp_path, {"events.csv": csv})
    by_file = _check_numbers(output, inputs, lines_dir)
    expected = [n for n in range(3, 303) if n % 17]
    assert sorted(by_file[0]) == expected
    assert output.files[0].rows == len(expected)


def test_json_lines_are_numbered_with_their_blank_and_broken_lines(spark, tmp_path):
    lines = []
    for n in range(1, 121):
        if n % 11 == 0:
            lines.append("")
        elif n % 13 == 0:
            lines.append(f"{{broken json n={n};")
        else:
            event = {"ts": f"2024-02-01T00:00:{n % 60:02d}Z", "level": "warn", "msg": f"event n={n};"}
            lines.append(json.dumps(event))
    output, inputs, lines_dir = _store(spark, tmp_path, {"events.jsonl": "\n".join(lines)})
    by_file = _check_numbers(output, inputs, lines_dir)
    assert sorted(by_file[0]) == list(range(1, 121))
    assert {r["status"] for r in by_file[0].values()} == {"ok", "blank", "unparsed"}


def test_files_split_across_partitions_keep_their_line_numbers(spark, tmp_path):
    rnd = random.Random(5)
    log4j = "\n".join(_log4j(rnd, 6000)) + "\n"
    csv_rows = ["ts,level,message"] + [
        "" if n % 97 == 0 else f"2024-01-01T00:{n % 60:02d}:00,{['INFO', 'ERROR'][n % 3 == 0]},event n={n};"
        for n in range(2, 6002)
    ]
    files = {"big.log": log4j, "big.csv": "\n".join(csv_rows) + "\n"}
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(64 * 1024))
    try:
        output, inputs, lines_dir = _store(spark, tmp_path, files)
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    blocks_per_file = [sum(1 for b in output.lines.blocks if b[0] == i) for i in range(2)]
    assert blocks_per_file[0] > 3 and blocks_per_file[1] > 3  # really split
    by_file = _check_numbers(output, inputs, lines_dir)
    assert sorted(by_file[0]) == list(range(1, 6001))
    assert sorted(by_file[1]) == [n for n in range(2, 6002) if n % 97]
    _check_layout(lines_dir, _rows(lines_dir))


def test_multiline_csv_is_numbered_by_record(spark, tmp_path):
    csv = 'ts,level,message\n2024-01-01T00:00:00,ERROR,"two\nlines"\n2024-01-01T00:00:01,INFO,one\n'
    output, inputs, lines_dir = _store(spark, tmp_path, {"quoted.csv": csv})
    by_file = _check_numbers(output, inputs, lines_dir, numbered_by_record={0})
    # Record numbers after the header: the second record is "line" 3, not 4.
    assert {n: r["message"] for n, r in by_file[0].items()} == {2: "two\nlines", 3: "one"}


def test_an_unparsed_line_is_stored_cut_to_the_line_cap(spark, tmp_path):
    long = "{not json " + "x" * 5000
    text = '{"ts": "2024-01-01T00:00:00Z", "msg": "fine n=1;"}\n' + long + "\n"
    output, _inputs, lines_dir = _store(spark, tmp_path, {"long.jsonl": text}, max_line_chars=1000)
    stored = {r["status"]: r["message"] for r in _rows(lines_dir)}
    assert stored["unparsed"] == long[:1000]
    assert output.files[0].samples == [long[:1000]]


def test_stored_lines_give_the_same_results_as_the_one_pass(run, spark, tmp_path):
    rnd = random.Random(9)
    files = {
        "app.log": "\n".join(_log4j(rnd, 500)) + "\n",
        "events.csv": "ts,level,service,message\n"
        + "".join(
            f"2024-01-01T0{n % 10}:00:00,{['ERROR', 'INFO'][n % 2]},s{n % 3},boom {n % 4}\n"
            for n in range(300)
        ),
    }
    plain = run(files)
    (tmp_path / "stored").mkdir()
    stored, _inputs, _dir = _store(spark, tmp_path / "stored", files)
    assert stored.summary == plain.summary
    assert stored.tables == plain.tables
    assert [f.as_dict() for f in stored.files] == [f.as_dict() for f in plain.files]
    for name in ("rollup_service", "rollup_error_type", "rollup_ip"):
        assert sorted(map(str, getattr(stored, name))) == sorted(map(str, getattr(plain, name)))
    assert plain.lines is None and plain.stats["spark_queries"] == 1
    assert stored.stats["spark_queries"] == 2


def test_a_timestamp_recheck_overwrites_the_first_write(spark, tmp_path):
    # ISO stamps in the head, another form far below it: the analysis runs again
    # with every timestamp rule, and the second write replaces the first.
    rows = [f"2024-01-01T00:00:{n % 60:02d},INFO,event n={n};" for n in range(2, 400)]
    rows.append("01/Feb/2024:10:00:00,ERROR,event n=400;")
    output, inputs, lines_dir = _store(
        spark, tmp_path, {"mixed.csv": "ts,level,message\n" + "\n".join(rows) + "\n"}
    )
    assert output.stats["spark_queries"] == 3
    by_file = _check_numbers(output, inputs, lines_dir)
    assert sorted(by_file[0]) == list(range(2, 401))
    assert {r["status"] for r in by_file[0].values()} == {"ok"}


def test_a_late_quoted_newline_overwrites_the_first_write(spark, tmp_path):
    # The file is first read line by line; the scan finds a quoted line break and
    # the analysis runs again as multi-line CSV, writing the lines again.
    csv = _csv_beyond_the_head('2024-01-01 01:00:00,ERROR,"disk full\non /var, giving up"')
    output, inputs, lines_dir = _store(spark, tmp_path, {"late.csv": csv})
    assert output.stats["spark_queries"] == 3  # the last analysis (two queries), plus one
    by_file = _check_numbers(output, inputs, lines_dir, numbered_by_record={0})
    assert output.lines.rows == output.files[0].rows == 12_001
    assert sorted(by_file[0]) == list(range(2, 12_003))
