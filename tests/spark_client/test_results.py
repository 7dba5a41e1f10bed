"""results.assemble (Arrow compute over the rollups) against a plain-Python reading of the same rows."""

import random
from collections import defaultdict

import pyarrow as pa

from spark_client.engine.results import assemble, by_time, ranked
from spark_client.rows import OTHER, Group
from spark_client.types import EngineOptions, FileReport

LEVELS = ["DEBUG", "INFO", "WARN", "ERROR", "CRITICAL"]
COLUMNS = {
    "gid": pa.int32(),
    "file_id": pa.int32(),
    "status": pa.string(),
    "level": pa.string(),
    "has_ts": pa.bool_(),
    "year_assumed": pa.bool_(),
    "cnt": pa.int64(),
    "min_ts": pa.string(),
    "max_ts": pa.string(),
    "sample": pa.string(),
    "hour": pa.string(),
    "service": pa.string(),
    "distinct_services": pa.int64(),
    "error_type": pa.string(),
    "distinct_error_types": pa.int64(),
    "ip": pa.string(),
    "distinct_ips": pa.int64(),
    "message": pa.string(),
    "bucket_start": pa.string(),
    "bucket_seconds": pa.int64(),
}


def _rows(seed: int) -> list[dict]:
    rnd = random.Random(seed)
    hour = lambda: rnd.choice([None, *(f"2024-03-0{d}T{h:02d}:00:00" for d in (1, 2) for h in (0, 9, 23))])  # noqa: E731
    key = lambda pool: rnd.choice([None, OTHER, *pool])  # noqa: E731
    rows = []
    for position in (0, 1):
        for status in ("ok", "unparsed", "continuation"):
            for level in LEVELS:
                rows.append(
                    {
                        "gid": Group.FILE,
                        "file_id": position,
                        "status": status,
                        "level": level,
                        "has_ts": (has_ts := rnd.random() < 0.8),
                        "year_assumed": has_ts and rnd.random() < 0.5,
                        "cnt": rnd.randint(1, 50),
                        "min_ts": "2024-03-01T00:00:00",
                        "max_ts": f"2024-03-0{position + 1}T10:00:00",
                    }
                )
        rows.append({"gid": Group.SAMPLES, "file_id": position, "sample": f"bad line {position}", "cnt": 2})
    for _ in range(rnd.randint(200, 400)):
        common = {
            "hour": hour(),
            "level": rnd.choice(LEVELS),
            "service": key(["api", "db", "web"]),
            "cnt": rnd.randint(1, 9),
        }
        rows.append({"gid": Group.SERVICE_ROLLUP, **common, "distinct_services": rnd.choice([None, 3, 4])})
        rows.append(
            {
                "gid": Group.ERROR_TYPE_ROLLUP,
                **common,
                "error_type": key(["Timeout", "Refused"]),
                "distinct_error_types": 2,
            }
        )
        rows.append({"gid": Group.IP_ROLLUP, **common, "ip": key(["10.0.0.1", "10.0.0.2"])})
    rows += [
        {"gid": Group.DISTINCT_IPS, "distinct_ips": 2},
        {"gid": Group.DISTINCT_IPS, "distinct_ips": None},
    ]
    rows += [
        {"gid": Group.TOP_MESSAGES, "message": m, "cnt": c}
        for m, c in (("boom", 5), ("bang", 5), ("fizz", 1))
    ]
    rows += [
        {"gid": Group.ERROR_TRENDS, "bucket_start": f"2024-03-01T00:0{i}:00", "bucket_seconds": 60, "cnt": i}
        for i in range(3)
    ]
    return rows


def _reference_tables(rows: list[dict], errors: set[str], n: int) -> dict:
    """The rollup-derived tables, row by row in Python (the pre-Arrow implementation)."""
    by_hour, by_day, per_service, by_severity = (defaultdict(int) for _ in range(4))
    per_type, per_ip = defaultdict(int), defaultdict(int)
    for r in rows:
        if r["gid"] == Group.SERVICE_ROLLUP and r["level"] in errors:
            by_severity[r["level"]] += r["cnt"]
            if r["hour"] is not None:
                by_hour[r["hour"]] += r["cnt"]
                by_day[r["hour"][:10]] += r["cnt"]
            if r["service"] is not None and r["service"] != OTHER:
                per_service[r["service"]] += r["cnt"]
        elif r["gid"] == Group.ERROR_TYPE_ROLLUP and r["error_type"] != OTHER:
            per_type[r["error_type"]] += r["cnt"]
        elif r["gid"] == Group.IP_ROLLUP and r["ip"] != OTHER:
            per_ip[r["ip"]] += r["cnt"]
    return {
        "errors_by_hour": by_time(by_hour, "hour"),
        "errors_by_day": by_time(by_day, "day"),
        "errors_by_type": ranked(per_type, "error_type", n),
        "errors_per_ip": ranked(per_ip, "ip", n),
        "errors_per_service": ranked(per_service, "service", n),
        "errors_by_severity": ranked(by_severity, "level"),
    }


def test_assemble_equals_a_row_by_row_reading():
    options = EngineOptions(assume_year=2024, top_n=3)
    seen_without_year = []
    for seed in range(5):
        rows = _rows(seed)
        table = pa.Table.from_pylist(rows, schema=pa.schema(COLUMNS))
        reports = {10: FileReport(10, "a.log"), 20: FileReport(20, "b.log")}

        out = assemble(table, reports, options, {}, file_ids=[10, 20])

        errors = set(options.error_levels)
        reference = _reference_tables(rows, errors, options.top_n)
        for name, expected in reference.items():
            assert out.tables[name] == expected, (seed, name)
        assert out.tables["top_errors"] == [
            {"message": "bang", "count": 5},
            {"message": "boom", "count": 5},
            {"message": "fizz", "count": 1},
        ]
        assert [r["bucket_start"] for r in out.tables["error_trends"]] == [
            f"2024-03-01T00:0{i}:00" for i in range(3)
        ]
        ok = [r for r in rows if r["gid"] == Group.FILE and r["status"] == "ok"]
        assert out.summary["total_logs"] == sum(r["cnt"] for r in ok)
        assert out.summary["error_count"] == sum(r["cnt"] for r in ok if r["level"] in errors)
        assert out.summary["distinct_ips"] == 2
        assert out.summary["distinct_services"] == max(
            (r["distinct_services"] or 0 for r in rows if r["gid"] == Group.SERVICE_ROLLUP), default=0
        )
        assert reports[10].rows == sum(r["cnt"] for r in ok if r["file_id"] == 0)
        assert reports[20].rows_without_year == sum(
            r["cnt"] for r in ok if r["file_id"] == 1 and r["year_assumed"]
        )
        seen_without_year.append((reports[20].rows_without_year, reports[20].rows))
        assert reports[20].samples == ["bad line 1"]
        for rollup, gid, key in (
            (out.rollup_service, Group.SERVICE_ROLLUP, None),
            (out.rollup_error_type, Group.ERROR_TYPE_ROLLUP, "error_type"),
            (out.rollup_ip, Group.IP_ROLLUP, "ip"),
        ):
            keys = ["hour", "level", "service", *([key] if key else [])]
            assert rollup.columns == [*keys, "count"]
            assert list(rollup) == [
                {**{k: r[k] for k in keys}, "count": r["cnt"]} for r in rows if r["gid"] == gid
            ]
    # The seeds give files with some, but not all, rows without a year.
    assert any(0 < without < rows for without, rows in seen_without_year)


def test_an_empty_result_assembles_to_zeros():
    table = pa.Table.from_pylist([], schema=pa.schema(COLUMNS))
    out = assemble(table, {}, EngineOptions(assume_year=2024), {})
    assert out.summary["total_logs"] == 0 and out.summary["distinct_services"] == 0
    assert all(rows == [] for rows in out.tables.values())
    assert len(out.rollup_ip) == 0 and list(out.rollup_service) == []


def test_batches_as_they_arrive_give_the_same_output_as_one_table(tmp_path, monkeypatch):
    import gc
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    options = EngineOptions(assume_year=2024, top_n=3)
    rows = _rows(11)
    table = pa.Table.from_pylist(rows, schema=pa.schema(COLUMNS))

    def reports():
        return {10: FileReport(10, "a.log"), 20: FileReport(20, "b.log")}

    whole = assemble(table, reports(), options, {}, file_ids=[10, 20])
    streamed = assemble(table.to_batches(max_chunksize=37), reports(), options, {}, file_ids=[10, 20])

    assert table.to_batches(max_chunksize=37).__len__() > 10
    assert streamed.summary == whole.summary
    assert streamed.tables == whole.tables
    assert [f.as_dict() for f in streamed.files] == [f.as_dict() for f in whole.files]
    for name in ("rollup_service", "rollup_error_type", "rollup_ip"):
        a, b = getattr(streamed, name), getattr(whole, name)
        assert len(a) == len(b) > 0 and a.columns == b.columns
        assert list(a) == list(b)
        assert sum(batch.num_rows for batch in a.batches(rows=5)) == len(b)
    spilled = list(tmp_path.glob("logplatform-rollup-*.arrow"))
    assert len(spilled) == 6  # three rollups, each of two outputs
    del streamed, whole, a, b
    gc.collect()
    assert list(tmp_path.glob("logplatform-rollup-*.arrow")) == []


def test_a_failed_stream_leaves_no_spill_files(tmp_path, monkeypatch):
    import tempfile

    import pytest

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    table = pa.Table.from_pylist(_rows(3), schema=pa.schema(COLUMNS))

    def broken():
        yield from table.to_batches(max_chunksize=50)[:3]
        raise ConnectionError("server went away")

    with pytest.raises(ConnectionError):
        assemble(
            broken(),
            {10: FileReport(10, "a"), 20: FileReport(20, "b")},
            EngineOptions(assume_year=2024),
            {},
            [10, 20],
        )
    assert list(tmp_path.glob("*")) == []
