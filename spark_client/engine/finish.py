"""The last steps of a small analysis, in the worker: ranks, caps and folds.

For a large input, `aggregate.aggregate` ranks, caps and folds the grouped rows in
Spark, so only bounded rows leave it. For a small one that tail costs more than the
reading: three more stages, one of them a single task of window functions. So for
inputs of at most
`EngineOptions.finish_in_worker_max_bytes` the engine asks Spark only for the grouped
rows (`aggregate.grouped`, tens of thousands of rows) and `finish` turns them into
the very rows `aggregate.aggregate` returns: same columns, same values
(tests/spark_client/test_finish.py runs both on the same files). `results.assemble`
decodes either.

Where this module could not give exactly what Spark gives (a timestamp outside the
years 1-9999, whose text would not sort as the time does) or the grouped rows are
more than the budget (memory of the worker), it raises `FinishInSpark` and the
engine runs the Spark query instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spark_client.engine.aggregate import BUCKET_LADDER
from spark_client.rows import OTHER, CountSet, Group
from spark_client.types import EngineOptions

# The columns and types of `aggregate.aggregate`'s rows.
OUTPUT = pa.schema(
    [
        ("gid", pa.int32()),
        ("file_id", pa.int32()),
        ("status", pa.string()),
        ("level", pa.string()),
        ("has_ts", pa.bool_()),
        ("year_assumed", pa.bool_()),
        ("hour", pa.string()),
        ("service", pa.string()),
        ("error_type", pa.string()),
        ("ip", pa.string()),
        ("message", pa.string()),
        ("bucket_start", pa.string()),
        ("bucket_seconds", pa.int32()),
        ("sample", pa.string()),
        ("cnt", pa.int64()),
        ("min_ts", pa.string()),
        ("max_ts", pa.string()),
        ("distinct_services", pa.int32()),
        ("distinct_error_types", pa.int32()),
        ("distinct_ips", pa.int64()),
    ]
)
ISO_LENGTH = len("2024-01-01T00:00:00")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class FinishInSpark(Exception):
    """These grouped rows are for Spark to finish (`aggregate.aggregate`)."""


def collect(batches: Iterable[pa.Table | pa.RecordBatch], max_rows: int) -> pa.Table:
    """The grouped rows as one table; FinishInSpark beyond `max_rows`."""
    tables, rows = [], 0
    for batch in batches:
        rows += batch.num_rows
        if rows > max_rows:
            raise FinishInSpark(f"more than {max_rows} grouped rows")
        tables.append(pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch)
    if not tables:
        raise FinishInSpark("no grouped rows came back")
    return pa.concat_tables(tables)


def finish(grouped: pa.Table, options: EngineOptions) -> pa.Table:
    """`aggregate.aggregate`'s rows from `aggregate.grouped`'s rows."""
    _check_times(grouped)
    sid = grouped["sid"]

    def rows(set_id: int) -> pa.Table:
        return grouped.filter(pc.equal(sid, set_id))

    file_service, error_types, error_ips = (
        rows(CountSet.FILE_AND_SERVICE),
        rows(CountSet.ERROR_TYPES),
        rows(CountSet.ERROR_IPS),
    )
    parts = [
        _files(file_service),
        *_rollups(file_service, error_types, error_ips, options),
        _distinct_ips(rows(CountSet.IPS)),
        _top_messages(rows(CountSet.ERROR_MESSAGES), options.top_n),
        _trend(rows(CountSet.ERROR_MINUTES), options.trend_max_buckets),
        _samples(rows(CountSet.SAMPLES), options.unparsed_samples_per_file),
        _truncated(rows(CountSet.TRUNCATED)),
    ]
    parts = [p for p in parts if p.num_rows]
    return pa.concat_tables(parts) if parts else _empty()


def _part(gid: int, table: pa.Table, **columns: pa.Array | pa.ChunkedArray) -> pa.Table:
    """Rows of group `gid` in the OUTPUT schema; columns not given are null."""
    n = table.num_rows
    arrays = []
    for field in OUTPUT:
        if field.name == "gid":
            arrays.append(pa.array(np.full(n, gid, dtype=np.int32)))
        elif field.name in columns:
            arrays.append(pc.cast(columns[field.name], field.type))
        else:
            arrays.append(pa.nulls(n, field.type))
    return pa.Table.from_arrays(arrays, schema=OUTPUT)


def _empty() -> pa.Table:
    return OUTPUT.empty_table()


def _check_times(grouped: pa.Table) -> None:
    """First/last timestamps are folded as text, which sorts as time only with
    four-digit years; anything else is for Spark."""
    for name in ("min_ts", "max_ts", "hour"):
        lengths = pc.utf8_length(grouped[name])
        if pc.any(pc.not_equal(lengths, ISO_LENGTH)).as_py():
            raise FinishInSpark(f"a {name} outside the years 1-9999")


def _files(file_service: pa.Table) -> pa.Table:
    if file_service.num_rows == 0:
        return _empty()
    keys = ["file_id", "status", "level", "has_ts", "year_assumed"]
    g = file_service.group_by(keys, use_threads=False).aggregate(
        [("cnt", "sum"), ("min_ts", "min"), ("max_ts", "max")]
    )
    return _part(
        Group.FILE,
        g,
        **{k: g[k] for k in keys},
        cnt=g["cnt_sum"],
        min_ts=g["min_ts_min"],
        max_ts=g["max_ts_max"],
    )


def _ranks(values: pa.ChunkedArray, order: pa.Table) -> pa.Array:
    """Each value's 1-based position in `order` (distinct values, sorted)."""
    return pc.add(pc.index_in(values, value_set=order["value"], skip_nulls=False), 1)


def _capped(values: pa.ChunkedArray, ranks: pa.Array, cap: int) -> pa.ChunkedArray:
    kept = pc.if_else(pc.less_equal(ranks, cap), values, pa.scalar(OTHER))
    return pc.if_else(pc.is_null(values), pa.scalar(None, pa.string()), kept)


def _service_order(file_service: pa.Table, services: pa.ChunkedArray, error_levels: list[str]) -> pa.Table:
    """Distinct services ranked as `aggregate._ranked` ranks them: by error rows,
    then all rows (FILE_AND_SERVICE rows), then name; no service last."""
    is_error = pc.fill_null(
        pc.is_in(file_service["level"], value_set=pa.array(error_levels, pa.string())), False
    )
    totals = (
        pa.table(
            {
                "value": file_service["service"],
                "all": file_service["cnt"],
                "err": pc.if_else(is_error, file_service["cnt"], None),
            }
        )
        .group_by("value", use_threads=False)
        .aggregate([("all", "sum"), ("err", "sum")])
    )
    joined = pa.table({"value": pc.unique(services)}).join(totals, "value", join_type="left outer")
    # A service without error rows sums to null in Spark, sorted last (desc nulls
    # last); counts are at least 1, so -1 sorts the same.
    order = pa.table(
        {
            "value": joined["value"],
            "none": pc.is_null(joined["value"]),
            "err": pc.fill_null(joined["err_sum"], -1),
            "all": pc.fill_null(joined["all_sum"], -1),
        }
    )
    return order.sort_by(
        [("none", "ascending"), ("err", "descending"), ("all", "descending"), ("value", "ascending")]
    )


def _key_order(rows: pa.Table) -> pa.Table:
    """Distinct keys of an ERROR_TYPES or ERROR_IPS set by their rows' total count, then key."""
    totals = rows.group_by("key", use_threads=False).aggregate([("cnt", "sum")])
    order = pa.table({"value": totals["key"], "none": pc.is_null(totals["key"]), "total": totals["cnt_sum"]})
    return order.sort_by([("none", "ascending"), ("total", "descending"), ("value", "ascending")])


def _where_valid(values: pa.ChunkedArray, ranks: pa.Array) -> pa.Array:
    return pc.if_else(pc.is_valid(values), ranks, None)


def _rollups(
    file_service: pa.Table, error_types: pa.Table, error_ips: pa.Table, options: EngineOptions
) -> list[pa.Table]:
    """The three rollups: (hour, level, service) from FILE_AND_SERVICE rows with a level (unparsed
    lines have none), then error types and IPs per (hour, level, service)."""
    cap = options.rollup_cap
    services = pa.chunked_array(
        [c for t in (file_service, error_types, error_ips) for c in t["service"].chunks], type=pa.string()
    )
    order = _service_order(file_service, services, list(options.error_levels))

    def service_of(t: pa.Table) -> tuple[pa.ChunkedArray, pa.Array]:
        ranks = _ranks(t["service"], order)
        return _capped(t["service"], ranks, cap), ranks

    parts = []
    svc = file_service.filter(pc.is_valid(file_service["level"]))
    if svc.num_rows:
        service, ranks = service_of(svc)
        rank = _where_valid(svc["service"], ranks)
        parts.append(_rollup(Group.SERVICE_ROLLUP, svc, service, None, rank, "distinct_services"))
    for gid, rows, key_column, rank_column in (
        (Group.ERROR_TYPE_ROLLUP, error_types, "error_type", "distinct_error_types"),
        (Group.IP_ROLLUP, error_ips, "ip", None),
    ):
        if rows.num_rows:
            service, _ = service_of(rows)
            ranks = _ranks(rows["key"], _key_order(rows))
            key = (key_column, _capped(rows["key"], ranks, cap))
            parts.append(_rollup(gid, rows, service, key, _where_valid(rows["key"], ranks), rank_column))
    return parts


def _rollup(
    gid: int,
    rows: pa.Table,
    service: pa.ChunkedArray,
    key: tuple[str, pa.ChunkedArray] | None,
    rank: pa.Array,
    rank_column: str | None,
) -> pa.Table:
    """Rows folded by (level, hour, capped service[, capped key]): counts summed, and
    the highest rank of an uncapped value kept (the distinct count `assemble` reads)."""
    columns = {"level": rows["level"], "hour": rows["hour"], "service": service}
    if key is not None:
        columns[key[0]] = key[1]
    keys = list(columns)
    folded = (
        pa.table({**columns, "cnt": rows["cnt"], "rank": rank})
        .group_by(keys, use_threads=False)
        .aggregate([("cnt", "sum"), ("rank", "max")])
    )
    ranked = {rank_column: folded["rank_max"]} if rank_column else {}
    return _by_hour(_part(gid, folded, **{k: folded[k] for k in keys}, cnt=folded["cnt_sum"], **ranked))


def _by_hour(part: pa.Table) -> pa.Table:
    """Hour order, as `aggregate` sends rollups (the database then stores an
    analysis's rollups in hour order; see aggregate.aggregate)."""
    return part.sort_by([("hour", "ascending", "at_start")])


def _distinct_ips(ip: pa.Table) -> pa.Table:
    if ip.num_rows == 0:
        return _empty()
    one = pa.table({"cnt": [pc.sum(ip["cnt"]).as_py()], "n": [ip.num_rows]})
    return _part(Group.DISTINCT_IPS, one, cnt=one["cnt"], distinct_ips=one["n"])


def _top_messages(msg: pa.Table, top_n: int) -> pa.Table:
    top = msg.sort_by([("cnt", "descending"), ("key", "ascending")]).slice(0, top_n)
    return _part(Group.TOP_MESSAGES, top, message=top["key"], cnt=top["cnt"])


def bucket_seconds(span: int, max_buckets: int) -> int:
    """aggregate._bucket_seconds: the smallest bucket that keeps the span within max_buckets."""
    for size in BUCKET_LADDER:
        if span / size + 1 <= max_buckets:
            return size
    return BUCKET_LADDER[-1]


def _iso(seconds: int) -> str:
    try:
        t = _EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        raise FinishInSpark("an error minute outside the years 1-9999") from None
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"


def _trend(minutes: pa.Table, max_buckets: int) -> pa.Table:
    if minutes.num_rows == 0:
        return _empty()
    first, last = pc.min_max(minutes["minute"]).values()
    size = bucket_seconds(last.as_py() - first.as_py(), max_buckets)
    # floor(seconds / size) * size, in doubles as Spark computes it.
    starts = pc.cast(
        pc.multiply(pc.floor(pc.divide(pc.cast(minutes["minute"], pa.float64()), float(size))), float(size)),
        pa.int64(),
    )
    g = (
        pa.table({"start": starts, "cnt": minutes["cnt"]})
        .group_by("start", use_threads=False)
        .aggregate([("cnt", "sum")])
    )
    text = pa.array([_iso(s) for s in g["start"].to_pylist()], pa.string())
    return _part(
        Group.ERROR_TRENDS,
        g,
        bucket_start=text,
        bucket_seconds=pa.array(np.full(g.num_rows, size, dtype=np.int32)),
        cnt=g["cnt_sum"],
    )


def _samples(samples: pa.Table, per_file: int) -> pa.Table:
    if samples.num_rows == 0 or per_file <= 0:
        return _empty()
    ordered = samples.sort_by([("file_id", "ascending"), ("cnt", "descending"), ("key", "ascending")])
    files = ordered["file_id"].to_numpy()
    # Position within its file: index minus the index of the file's first row.
    starts = np.r_[0, np.flatnonzero(files[1:] != files[:-1]) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, len(files)]))
    kept = ordered.filter(pa.array(np.arange(len(files)) - first < per_file))
    return _part(Group.SAMPLES, kept, file_id=kept["file_id"], sample=kept["key"], cnt=kept["cnt"])


def _truncated(cut: pa.Table) -> pa.Table:
    """Lines cut to the line cap, per file (one grouped row per file already)."""
    if cut.num_rows == 0:
        return _empty()
    return _part(Group.TRUNCATED, cut, file_id=cut["file_id"], cnt=cut["cnt"])
