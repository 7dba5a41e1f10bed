"""An export's bytes, one Arrow table (one batch from Spark) at a time.

CSV is made by Arrow's writer over columns computed with Arrow and numpy: no
Python object per line, so an export streams at the speed Spark sends it and the
web process holds one batch (docs/performance.md, "Stored lines and patterns").
JSON lines are made per line (the JSON encoder has no columnar form).

The cells of a CSV export that hold log text or names are formula-safe as the
reports' are (analyses.reports.safe_cell): a leading =, +, -, @, tab or CR gets a
quote before it. Arrow quotes every text cell; empty cells are missing values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from analyses.reports import FORMULA_STARTS, safe_cell
from spark_client import lines_layout

CSV_COLUMNS = (
    "ts",
    "level",
    "service",
    "ip",
    "error_type",
    "file_id",
    "file",
    "line",
    "status",
    "truncated",
    "message",
    "pattern_id",
    "pattern",
)
# FORMULA_STARTS as one RE2 class (linear time, like every regex here).
_FORMULA = "^[" + "".join("\\" + c if c in "-\\]^" else c for c in FORMULA_STARTS) + "]"
_CSV_OPTIONS = pa_csv.WriteOptions(include_header=False)


class LineNumbers:
    """Line numbers of many rows at once, from the analysis's blocks
    (lines_layout: a row's number is `first + row_id - base` in the block that holds
    its id; none where no block does)."""

    def __init__(self, blocks: Sequence[Sequence[int]]) -> None:
        by_file: dict[int, list[Sequence[int]]] = {}
        for block in sorted(blocks, key=lambda b: (b[lines_layout.FILE], b[lines_layout.BASE])):
            by_file.setdefault(block[lines_layout.FILE], []).append(block)
        self.by_file = {
            file: tuple(
                np.array([b[field] for b in own], dtype=np.int64)
                for field in (lines_layout.BASE, lines_layout.FIRST_LINE, lines_layout.COUNT)
            )
            for file, own in by_file.items()
        }

    def of(self, files: np.ndarray, row_ids: np.ndarray) -> pa.Array:
        numbers = np.zeros(len(row_ids), dtype=np.int64)
        found = np.zeros(len(row_ids), dtype=bool)
        for file in np.unique(files):
            if int(file) not in self.by_file:
                continue
            base, first, count = self.by_file[int(file)]
            rows = np.flatnonzero(files == file)
            ids = row_ids[rows]
            i = np.searchsorted(base, ids, side="right") - 1
            inside = (i >= 0) & (ids < base[i] + count[i])
            numbers[rows] = first[i] + ids - base[i]
            found[rows] = inside
        return pa.array(numbers, mask=~found)


def iso_times(micros: pa.Array) -> pa.Array:
    """Microseconds since the epoch as `source.iso` writes them: seconds, the
    fraction only when it is not zero, and Z."""
    seconds, fraction = np.divmod(micros.fill_null(0).to_numpy(zero_copy_only=False), 1_000_000)
    # numpy, not pc.strftime: Arrow's strftime loads a time zone database of ~50 MB
    # into the process on first use.
    text = pa.array(np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s"), pa.string())
    fraction = pa.array(fraction)
    tail = pc.if_else(
        pc.not_equal(fraction, 0),
        pc.binary_join_element_wise(".", pc.utf8_lpad(pc.cast(fraction, pa.string()), 6, "0"), "Z", ""),
        "Z",
    )
    return pc.if_else(micros.is_valid(), pc.binary_join_element_wise(text, tail, ""), None)


def formula_safe(text: pa.Array) -> pa.Array:
    starts = pc.fill_null(pc.match_substring_regex(text, _FORMULA), False)
    return pc.if_else(starts, pc.binary_join_element_wise("'", text, ""), text)


def csv_chunk(table: pa.Table, files: Sequence[tuple[int, str]], numbers: LineNumbers) -> bytes:
    """The CSV lines of `table` (lines_query's output columns), `files` the
    (id, name) of each file position."""
    table = table.combine_chunks()
    column = table.column
    file = column("file").combine_chunks()
    positions = file.to_numpy(zero_copy_only=False)
    ids = pa.array([f[0] for f in files], pa.int64())
    names = pa.array([safe_cell(f[1]) for f in files], pa.string())
    rows = pa.table(
        {
            "ts": iso_times(column("ts_micros").combine_chunks()),
            "level": column("level"),
            "service": formula_safe(column("service").combine_chunks()),
            "ip": formula_safe(column("ip").combine_chunks()),
            "error_type": formula_safe(column("error_type").combine_chunks()),
            "file_id": ids.take(file),
            "file": names.take(file),
            "line": numbers.of(positions, column("row_id").combine_chunks().to_numpy(zero_copy_only=False)),
            "status": column("status"),
            "truncated": pc.fill_null(column("truncated"), False),
            "message": formula_safe(pc.fill_null(column("message").combine_chunks(), "")),
            "pattern_id": column("pattern_id"),
            "pattern": formula_safe(column("pattern").combine_chunks()),
        }
    )
    out = pa.BufferOutputStream()
    pa_csv.write_csv(rows, out, _CSV_OPTIONS)
    return out.getvalue().to_pybytes()


def jsonl_chunk(table: pa.Table, files: Sequence[tuple[int, str]], numbers: LineNumbers) -> bytes:
    """The JSON lines of `table`, one object per line."""
    file = table.column("file").combine_chunks()
    line = numbers.of(
        file.to_numpy(zero_copy_only=False),
        table.column("row_id").combine_chunks().to_numpy(zero_copy_only=False),
    ).to_pylist()
    ts = iso_times(table.column("ts_micros").combine_chunks()).to_pylist()
    col = {name: table.column(name).to_pylist() for name in table.column_names}
    objects = [{"id": f[0], "name": f[1]} for f in files]
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    return "".join(
        dumps(
            {
                "ts": ts[i],
                "level": col["level"][i],
                "service": col["service"][i],
                "ip": col["ip"][i],
                "error_type": col["error_type"][i],
                "file": objects[col["file"][i]],
                "line": line[i],
                "status": col["status"][i],
                "truncated": bool(col["truncated"][i]),
                "message": col["message"][i] or "",
                "pattern_id": col["pattern_id"][i],
                "pattern": col["pattern"][i],
            }
        )
        + "\n"
        for i in range(table.num_rows)
    ).encode()
