"""A small analysis is ranked, capped and folded in the worker (spark_client.engine.finish);
a large one in Spark (aggregate.aggregate). Both must give the same rows, value for
value, so these tests run the two on the same normalised rows."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from spark_client.engine import analyze, finish
from spark_client.engine.aggregate import aggregate, grouped
from spark_client.engine.pipeline import detect_files, normalised
from spark_client.engine.query import collect_arrow
from spark_client.types import InputFile
from tests import logdata as ld
from tests.spark_client.conftest import engine_options

pytestmark = pytest.mark.spark


def _files(tmp_path, contents: dict[str, str]) -> list[InputFile]:
    inputs = []
    for i, (name, text) in enumerate(contents.items(), start=1):
        path = tmp_path / name
        path.write_text(text)
        inputs.append(InputFile(i, str(path), name))
    return inputs


def _mixed(tmp_path, seed: int) -> list[InputFile]:
    """Four formats in one analysis, with rows without a timestamp, an IP or a
    service, rows without a year, unparsed lines and a two-week time span."""
    quiet = ld.make_events(600, seed=seed + 3, with_ip_column=False, with_service=False, span_hours=14 * 24)
    garbage = "".join(f"@@ not a log line {i} @@\n" for i in range(40))
    return _files(
        tmp_path,
        {
            "app.csv": ld.render_csv(ld.make_events(500, seed=seed, no_ts_every=37)),
            "worker.log": ld.render_log4j_iso(ld.make_events(500, seed=seed + 1)) + garbage,
            "events.jsonl": ld.render_jsonl(ld.make_events(500, seed=seed + 2, no_ts_every=29) + quiet),
            # Year-less stamps: rows dated in the assumed year.
            "auth.log": ld.render_syslog(ld.make_events(300, seed=seed + 4)),
        },
    )


def _rows(table: pa.Table) -> list[tuple]:
    return sorted((tuple(row.items()) for row in table.to_pylist()), key=repr)


OPTIONS = {
    "defaults": {},
    "caps, ties and cuts": {"rollup_cap": 3, "top_n": 5, "unparsed_samples_per_file": 2},
    "one bucket per day at most": {"trend_max_buckets": 10},
}


@pytest.mark.parametrize("overrides", OPTIONS.values(), ids=OPTIONS.keys())
def test_the_worker_finishes_grouped_rows_exactly_as_spark_does(spark, tmp_path, overrides):
    options = engine_options(**overrides)
    files = _mixed(tmp_path, seed=61)
    _reports, detected = detect_files(files, options, None)
    norm = normalised(spark, {f.file_id: f.path for f in files}, detected, options)

    in_spark = collect_arrow(aggregate(norm, options))
    in_worker = finish.finish(collect_arrow(grouped(norm)), options)

    assert in_worker.schema == in_spark.schema
    assert in_spark.num_rows > 100
    assert _rows(in_worker) == _rows(in_spark)
    # The cases really cut and fold: "(other)" rows, and fewer messages than distinct ones.
    if overrides.get("rollup_cap"):
        assert "(other)" in in_worker.column("service").to_pylist()
        assert "(other)" in in_worker.column("ip").to_pylist()
        assert "(other)" in in_worker.column("error_type").to_pylist()


def _document(output) -> dict:
    return {
        "summary": output.summary,
        "files": [f.as_dict() for f in output.files],
        "tables": output.tables,
        "trend_bucket_seconds": output.trend_bucket_seconds,
        "rollups": [
            sorted((tuple(sorted(r.items())) for r in rollup), key=repr)
            for rollup in (output.rollup_service, output.rollup_error_type, output.rollup_ip)
        ],
    }


def test_an_analysis_gives_the_same_document_finished_in_the_worker_or_in_spark(spark, tmp_path):
    files = _mixed(tmp_path, seed=62)
    worker = analyze(spark, files, engine_options(rollup_cap=4))
    in_spark = analyze(spark, files, engine_options(rollup_cap=4, finish_in_worker_max_bytes=0))
    assert worker.stats["finished_in"] == "worker"
    assert in_spark.stats["finished_in"] == "spark"
    assert worker.stats["spark_queries"] == in_spark.stats["spark_queries"] == 1
    assert _document(worker) == _document(in_spark)
    assert worker.summary["total_logs"] == 2400
    assert [f.rows_without_year for f in worker.files] == [0, 0, 0, 300]


def test_more_grouped_rows_than_the_budget_are_finished_in_spark(spark, tmp_path):
    files = _mixed(tmp_path, seed=63)
    worker = analyze(spark, files, engine_options())
    over = analyze(spark, files, engine_options(finish_in_worker_max_rows=50))
    assert over.stats["finished_in"] == "spark"
    assert over.stats["spark_queries"] == 2
    assert _document(over) == _document(worker)


def _grouped_table(**overrides) -> pa.Table:
    """One FS row of grouped output, as `aggregate.grouped` sends it."""
    row = {
        "sid": 8,
        "file_id": 0,
        "status": "ok",
        "level": "ERROR",
        "has_ts": True,
        "hour": "2024-03-01T10:00:00",
        "minute": None,
        "service": "api",
        "key": None,
        "cnt": 3,
        "min_ts": "2024-03-01T10:00:05",
        "max_ts": "2024-03-01T10:59:00",
        "year_assumed": False,
    }
    row.update(overrides)
    types = {
        "sid": pa.int32(),
        "file_id": pa.int32(),
        "has_ts": pa.bool_(),
        "year_assumed": pa.bool_(),
        "minute": pa.int64(),
        "cnt": pa.int64(),
    }
    return pa.table({k: pa.array([v], types.get(k, pa.string())) for k, v in row.items()})


def test_no_grouped_rows_finish_as_no_result_rows():
    empty = finish.finish(_grouped_table().slice(0, 0), engine_options())
    assert empty.num_rows == 0
    assert empty.schema == finish.OUTPUT


def test_a_timestamp_past_the_year_9999_is_left_to_spark():
    options = engine_options()
    assert finish.finish(_grouped_table(), options).num_rows == 2  # the file row and the service row
    with pytest.raises(finish.FinishInSpark, match="years 1-9999"):
        finish.finish(_grouped_table(max_ts="+10000-01-01T00:00:00"), options)


def test_an_error_minute_past_the_year_9999_is_left_to_spark():
    seconds = int((datetime(9999, 12, 31, 23, 59) - datetime(1970, 1, 1)).total_seconds())
    options = engine_options()
    minute = _grouped_table(sid=6, hour=None, service=None, level=None, min_ts=None, max_ts=None)
    assert (
        finish.finish(minute.set_column(6, "minute", pa.array([seconds], pa.int64())), options).num_rows == 1
    )
    with pytest.raises(finish.FinishInSpark, match="years 1-9999"):
        finish.finish(minute.set_column(6, "minute", pa.array([seconds + 86400 * 400], pa.int64())), options)


def test_trend_bucket_sizes_match_sparks_at_their_boundaries(spark):
    from pyspark.sql import functions as F

    from spark_client.engine.aggregate import BUCKET_LADDER, _bucket_seconds

    spans = sorted({size * k for size in BUCKET_LADDER for k in (198, 199, 200, 5000)} | {0, 1})
    rows = spark.createDataFrame([(s,) for s in spans], "span long")
    in_spark = dict(rows.select("span", _bucket_seconds(F.col("span"), 200)).collect())
    assert {s: finish.bucket_seconds(s, 200) for s in spans} == in_spark
    assert len(set(in_spark.values())) == len(BUCKET_LADDER)
