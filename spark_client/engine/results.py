"""Decode the rows of the one aggregate query into the result document parts.

No Spark here: the query's Arrow batches in, an AnalysisOutput out, so it is
unit-testable. Batches are consumed as they arrive. The small row groups
(per-file counts, samples, top messages, trend buckets) become Python rows; the
three rollups, which grow with the input's time span and cardinality, are summed
per batch with Arrow compute and spilled to Arrow IPC files, so the worker holds
one batch of them at a time whatever the size of the input.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from spark_client.rows import LEVELS, OTHER, TS_RECHECK, Group
from spark_client.types import AnalysisOutput, EngineOptions, FileReport, Rollup

Row = dict[str, Any]


class TimestampRecheck(Exception):  # noqa: N818 - a signal to the engine, not an error
    """Rows of these files (positions in the query) hold timestamps the ISO-only
    parse could not read: the analysis must run again with every rule."""

    def __init__(self, positions: list[int]) -> None:
        super().__init__(f"timestamps to read with every rule in file position(s) {positions}")
        self.positions = positions


# The columns each small result group uses (the query's rows carry the union).
_SMALL = {
    Group.FILE: ("file_id", "status", "level", "has_ts", "year_assumed", "cnt", "min_ts", "max_ts"),
    Group.SAMPLES: ("file_id", "sample", "cnt"),
    Group.TRUNCATED: ("file_id", "cnt"),
    Group.DISTINCT_IPS: ("distinct_ips",),
    Group.TOP_MESSAGES: ("message", "cnt"),
    Group.ERROR_TRENDS: ("bucket_start", "bucket_seconds", "cnt"),
}
# The rollups: their key columns, then the distinct count that travels with them.
_ROLLUPS = {
    Group.SERVICE_ROLLUP: (("hour", "level", "service"), "distinct_services"),
    Group.ERROR_TYPE_ROLLUP: (("hour", "level", "service", "error_type"), "distinct_error_types"),
    Group.IP_ROLLUP: (("hour", "level", "service", "ip"), None),
}


def ranked(counts: dict[Any, int], key_name: str, limit: int | None = None) -> list[Row]:
    """Descending by count, ties by key ascending."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    if limit is not None:
        items = items[:limit]
    return [{key_name: k, "count": c} for k, c in items]


def by_time(counts: dict[str, int], key_name: str) -> list[Row]:
    return [{key_name: k, "count": counts[k]} for k in sorted(counts)]


def _sums(table: pa.Table, key: str, where: pa.Array | None = None) -> dict[Any, int]:
    """`cnt` summed per value of `key` (None is a key like any other), over the rows `where` holds."""
    if where is not None:
        table = table.filter(where)  # a null in `where` drops the row
    if table.num_rows == 0:
        return {}
    grouped = table.group_by(key, use_threads=False).aggregate([("cnt", "sum")])
    return dict(zip(grouped[key].to_pylist(), grouped["cnt_sum"].to_pylist(), strict=True))


def _add(into: dict[Any, int], sums: dict[Any, int]) -> None:
    for key, count in sums.items():
        into[key] = into.get(key, 0) + count


def _not_other(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """True where a key is not the capped-keys bucket; None keys stay in."""
    return pc.or_kleene(pc.is_null(column), pc.not_equal(column, OTHER))


def _max(column: pa.ChunkedArray) -> int:
    return max(pc.max(column).as_py() or 0, 0) if len(column) else 0


class _Spill:
    """A rollup's rows appended batch by batch to an Arrow IPC file."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.columns = [*keys, "count"]
        self.schema = pa.schema([*((k, pa.string()) for k in keys), ("count", pa.int64())])
        self.rows = 0
        self.path: str | None = None
        self.writer: pa.ipc.RecordBatchFileWriter | None = None

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self.writer is None:
            fd, self.path = tempfile.mkstemp(prefix="logplatform-rollup-", suffix=".arrow")
            os.close(fd)
            self.writer = pa.ipc.new_file(self.path, self.schema)
        self.writer.write_table(table.rename_columns(self.columns).cast(self.schema))
        self.rows += table.num_rows

    def rollup(self) -> Rollup:
        if self.writer is None:
            return Rollup(self.schema.empty_table())
        self.writer.close()
        return Rollup(path=self.path, rows=self.rows, columns=self.columns)

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                os.unlink(self.path)


def assemble(
    result: pa.Table | Iterable[pa.Table | pa.RecordBatch],
    reports: dict[int, FileReport],
    options: EngineOptions,
    stats: dict[str, Any],
    file_ids: list[int] | None = None,
) -> AnalysisOutput:
    """`result` holds the aggregate query's rows, as one table or as the batches
    Spark sends; `file_ids[position]` maps the file position used inside Spark
    back to the caller's id (identity if None)."""
    errors = set(options.error_levels)
    error_levels = pa.array(sorted(errors), pa.string())
    small: dict[int, list[Row]] = {gid: [] for gid in _SMALL}
    spills = {gid: _Spill(keys) for gid, (keys, _) in _ROLLUPS.items()}
    by_severity: dict[str, int] = {}
    per_service: dict[str, int] = {}
    by_hour: dict[str, int] = {}
    by_day: dict[str, int] = {}
    per_type: dict[str | None, int] = {}
    per_ip: dict[str | None, int] = {}
    distinct_services = distinct_types = 0
    try:
        for batch in [result] if isinstance(result, pa.Table) else result:
            table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
            gids = table["gid"]

            def part(gid: int, columns: tuple[str, ...], table: pa.Table = table, gids=gids) -> pa.Table:  # noqa: ANN001
                # Select first: the filter then copies only the group's own columns.
                return table.select(list(columns)).filter(pc.equal(gids, gid))

            for gid, columns in _SMALL.items():
                small[gid] += part(gid, columns).to_pylist()
            parts = {
                gid: part(gid, (*keys, "cnt", *([d] if d else []))) for gid, (keys, d) in _ROLLUPS.items()
            }
            for gid, (keys, _) in _ROLLUPS.items():
                spills[gid].write(parts[gid].select([*keys, "cnt"]))

            # --- rollup 1: (hour, level, service) -------------------------
            svc = parts[Group.SERVICE_ROLLUP]
            distinct_services = max(distinct_services, _max(svc["distinct_services"]))
            error_svc = svc.filter(pc.is_in(svc["level"], value_set=error_levels))
            _add(by_severity, _sums(error_svc, "level"))
            _add(per_service, _sums(error_svc, "service", pc.not_equal(error_svc["service"], OTHER)))
            timed = error_svc.filter(pc.is_valid(error_svc["hour"]))
            _add(by_hour, _sums(timed, "hour"))
            _add(
                by_day,
                _sums(timed.append_column("day", pc.utf8_slice_codeunits(timed["hour"], 0, 10)), "day"),
            )

            # --- rollup 2: (hour, level, service, error_type) -------------
            error_types = parts[Group.ERROR_TYPE_ROLLUP]
            distinct_types = max(distinct_types, _max(error_types["distinct_error_types"]))
            _add(per_type, _sums(error_types, "error_type", _not_other(error_types["error_type"])))

            # --- rollup 3: (hour, level, service, ip) ----------------------
            error_ips = parts[Group.IP_ROLLUP]
            _add(per_ip, _sums(error_ips, "ip", _not_other(error_ips["ip"])))
            del table, gids, parts, svc, error_svc, timed, error_types, error_ips
        recheck = sorted({row["file_id"] for row in small[Group.FILE] if row["status"] == TS_RECHECK})
        if recheck:
            raise TimestampRecheck(recheck)
        rollups = {gid: spill.rollup() for gid, spill in spills.items()}
    except BaseException:
        for spill in spills.values():
            spill.discard()
        raise

    if file_ids is not None:
        for gid in (Group.FILE, Group.SAMPLES, Group.TRUNCATED):
            for row in small[gid]:
                row["file_id"] = file_ids[row["file_id"]]

    # --- summary and files (set "file") ----------------------------------
    levels = dict.fromkeys(LEVELS, 0)
    total = without_ts = unparsed = 0
    first_ts: str | None = None
    last_ts: str | None = None
    for row in small[Group.FILE]:
        report = reports[row["file_id"]]
        cnt = row["cnt"]
        if row["status"] == "unparsed":
            report.unparsed_lines += cnt
            unparsed += cnt
            continue
        if row["status"] == "continuation":
            report.continuation_lines += cnt
            continue
        total += cnt
        report.rows += cnt
        levels[row["level"]] += cnt
        if row["level"] in errors:
            report.error_count += cnt
        if not row["has_ts"]:
            without_ts += cnt
            report.rows_without_timestamp += cnt
        if row["year_assumed"]:
            report.rows_without_year += cnt
        low, high = row["min_ts"], row["max_ts"]
        if low is not None:
            report.first_ts = _earliest(report.first_ts, low)
            first_ts = _earliest(first_ts, low)
        if high is not None:
            report.last_ts = _latest(report.last_ts, high)
            last_ts = _latest(last_ts, high)

    for row in sorted(small[Group.SAMPLES], key=lambda r: (-r["cnt"], r["sample"])):
        reports[row["file_id"]].samples.append(row["sample"])
    for row in small[Group.TRUNCATED]:
        reports[row["file_id"]].truncated_lines += row["cnt"]

    distinct_ips = sum(row["distinct_ips"] or 0 for row in small[Group.DISTINCT_IPS])
    top_messages = {row["message"]: row["cnt"] for row in small[Group.TOP_MESSAGES]}
    trends = {row["bucket_start"]: row["cnt"] for row in small[Group.ERROR_TRENDS]}
    bucket_seconds = next((row["bucket_seconds"] for row in small[Group.ERROR_TRENDS]), None)

    error_count = sum(levels[lv] for lv in errors)
    n = options.top_n
    summary = {
        "total_logs": total,
        "error_count": error_count,
        "critical_count": levels["CRITICAL"],
        "warn_count": levels["WARN"],
        "error_rate": (error_count / total) if total else 0.0,
        "levels": levels,
        "rows_without_timestamp": without_ts,
        "unparsed_lines": unparsed,
        "first_ts": first_ts,
        "last_ts": last_ts,
        "distinct_ips": distinct_ips,
        "distinct_services": distinct_services,
        "distinct_error_types": distinct_types,
    }
    tables = {
        "errors_by_hour": by_time(by_hour, "hour"),
        "errors_by_day": by_time(by_day, "day"),
        "error_trends": by_time(trends, "bucket_start"),
        "errors_by_type": ranked(per_type, "error_type", n),
        "top_errors": ranked(top_messages, "message", n),
        "errors_per_ip": ranked(per_ip, "ip", n),
        "errors_per_service": ranked(per_service, "service", n),
        "errors_by_severity": ranked(by_severity, "level"),
    }
    _warn_files(reports, options.max_line_chars)
    return AnalysisOutput(
        summary=summary,
        files=[reports[k] for k in sorted(reports)],
        tables=tables,
        rollup_service=rollups[Group.SERVICE_ROLLUP],
        rollup_error_type=rollups[Group.ERROR_TYPE_ROLLUP],
        rollup_ip=rollups[Group.IP_ROLLUP],
        trend_bucket_seconds=bucket_seconds,
        stats=stats,
    )


def _earliest(a: str | None, b: str) -> str:
    return b if a is None or b < a else a


def _latest(a: str | None, b: str) -> str:
    return b if a is None or b > a else a


def _warn(report: FileReport, text: str) -> None:
    report.warning = f"{report.warning}; {text}" if report.warning else text


def _warn_files(reports: dict[int, FileReport], max_line_chars: int) -> None:
    for report in reports.values():
        if report.error:
            continue
        if report.truncated_lines:
            _warn(report, _truncated_text(report, max_line_chars))
        if report.rows == 0 and report.unparsed_lines:
            _warn(
                report,
                f"none of the {report.unparsed_lines} lines could be read as {report.format}; "
                "check the samples below, or choose the right format for this file",
            )
        elif report.rows == 0:
            _warn(report, "the file holds no log rows")
        elif report.rows_without_timestamp == report.rows:
            _warn(
                report,
                "no timestamp could be read in any row, so the file is missing from every "
                "time chart; supported forms include ISO-8601, yyyy-MM-dd HH:mm:ss,SSS, "
                "yy/MM/dd HH:mm:ss, syslog 'Jun 14 15:16:01', Apache and access-log times, "
                "and epoch seconds or milliseconds",
            )


def _truncated_text(report: FileReport, max_line_chars: int) -> str:
    n = report.truncated_lines
    what = "message" if report.format in ("csv", "loghub_csv", "jsonl") else "line"
    many = n != 1
    return (
        f"{n} {what}{'s' if many else ''} longer than {max_line_chars:,} characters "
        f"{'were' if many else 'was'} read as {'their' if many else 'its'} first {max_line_chars:,} "
        "(the rows are counted as usual; the limit is analytics.max_line_chars)"
    )
