"""The stored lines of an analysis: where they live, their columns, and how a
row's id becomes its line number in its file (docs/architecture.md, "Stored lines").

The engine writes them (engine.pipeline, with `lines_dir`); the Lines view and API
read them. Plain values and arithmetic, no Spark and no Django: a web process
imports this module and loads no pyspark.

Layout: `<STORAGE_ROOT>/lines/<analysis_id>/<run>/`, one run directory per
execution attempt, a Parquet dataset partitioned by `level=<LEVEL>` (rows without
a level under `level=__HIVE_DEFAULT_PARTITION__`, read back as null), each part
sorted by `ts`.

Line numbers: Spark's `monotonically_increasing_id()` is `partition << 33 | index
in partition`, taken right after a file is read, so within one Spark partition of
one file (a *block*) ids are consecutive and follow the file's order. A block is
`[file, base_row_id, first_line_no, count]`: its rows have ids in
`[base_row_id, base_row_id + count)` and the line number of a row is
`first_line_no + (row_id - base_row_id)`. Line numbers are 1-based and are the
lines of the file (LF, CR or CRLF end a line): every line of a raw log or JSON
lines file is a row, blank ones included; a CSV file's header and blank lines are
no rows, so its first record is line 2 and a block ends at each blank line. Two
kinds of CSV file are numbered by record instead (the header counting as line 1):
one read as multi-line CSV (a value holds a line break, or it is compressed), and
one with more than a thousand blank lines.
"""

from __future__ import annotations

import uuid
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# The directory under the storage root that holds every analysis's lines.
LINES_ROOT = "lines"

# (name, Spark SQL type) of every stored column, in the order they are written.
# `level` is the partition column: in the files it is the directory name.
COLUMNS = (
    ("file", "int"),  # the file's position in the analysis (LinesManifest.files)
    ("row_id", "bigint"),
    ("status", "string"),  # ok | continuation | unparsed | blank
    ("ts", "timestamp"),
    ("level", "string"),
    ("message", "string"),  # an unparsed or continuation row: its raw line
    ("ip", "string"),
    ("service", "string"),
    ("endpoint", "string"),
    ("error_type", "string"),
    ("is_error", "boolean"),
    ("truncated", "boolean"),
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)
PARTITION_COLUMN = "level"
# The directory Spark writes rows without a level to (`level=<this>`).
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"

# Block fields, in the order of the document's lists.
FILE, BASE, FIRST_LINE, COUNT = range(4)


def analysis_dir(analysis_id: int | str) -> str:
    """Every run of one analysis, relative to the storage root."""
    return f"{LINES_ROOT}/{analysis_id}"


def run_dir(analysis_id: int | str, run: str) -> str:
    """One execution attempt's lines, relative to the storage root."""
    if not run or "/" in run or run in (".", ".."):
        raise ValueError(f"not a run name: {run!r}")
    return f"{analysis_dir(analysis_id)}/{run}"


def new_run() -> str:
    """A fresh run name: no two attempts of one analysis write the same directory."""
    return uuid.uuid4().hex


@dataclass
class LinesManifest:
    """What the engine wrote: the document's `lines` key but for `path`, which is
    relative to the storage root and set by the caller (`as_document`)."""

    files: list[int]  # the caller's file id at each position
    blocks: list[list[int]] = field(default_factory=list)  # [file, base_row_id, first_line_no, count]
    rows: int = 0
    bytes: int = 0

    def as_document(self, path: str) -> dict[str, Any]:
        return {
            "path": path,
            "files": list(self.files),
            "blocks": [list(b) for b in self.blocks],
            "rows": self.rows,
            "bytes": self.bytes,
        }


def number_blocks(
    parts: Iterable[Sequence[int]], *, skipped: Mapping[int, Sequence[int]] | None = None
) -> list[list[int]]:
    """Blocks from the rows Spark counted per partition: `(file, block_start,
    base_row_id, count)`, in any order.

    Each file's rows are its lines in the order of their partition's start in
    the file, but for the lines in `skipped[file]` (sorted line numbers of lines
    that have no row: a CSV file's header and blank lines). A partition whose rows
    straddle a skipped line becomes two blocks. Sorted by (file, base_row_id).
    """
    skipped = skipped or {}
    by_file: dict[int, list[tuple[int, int, int]]] = {}
    for file, start, base, count in parts:
        by_file.setdefault(int(file), []).append((int(start), int(base), int(count)))
    blocks = []
    for file, items in by_file.items():
        gaps = skipped.get(file, ())
        gap = 0  # the next skipped line at or after `line`
        line = 1
        for _start, base, count in sorted(items):
            offset = 0
            while offset < count:
                while gap < len(gaps) and gaps[gap] <= line:
                    if gaps[gap] == line:
                        line += 1
                    gap += 1
                run = count - offset
                if gap < len(gaps):
                    run = min(run, gaps[gap] - line)
                blocks.append([file, base + offset, line, run])
                line += run
                offset += run
    blocks.sort(key=lambda b: (b[FILE], b[BASE]))
    return blocks


def _of_file(blocks: Sequence[Sequence[int]], file: int) -> list[Sequence[int]]:
    return sorted((b for b in blocks if b[FILE] == file), key=lambda b: b[BASE])


def line_number(blocks: Sequence[Sequence[int]], file: int, row_id: int) -> int:
    """The 1-based line number of the row `row_id` of the file at position `file`.

    Raises KeyError when no block of that file holds the id.
    """
    own = _of_file(blocks, file)
    i = bisect_right([b[BASE] for b in own], row_id) - 1
    if i >= 0:
        _f, base, first, count = own[i]
        if row_id < base + count:
            return first + (row_id - base)
    raise KeyError(f"no row {row_id} in file {file}")


def row_id_ranges(
    blocks: Sequence[Sequence[int]], file: int, first_line: int, last_line: int
) -> list[tuple[int, int]]:
    """The row ids of the lines `first_line`..`last_line` (both included) of the file
    at position `file`, as `[start, end)` ranges in line order, one per block they
    touch (lines across a block boundary need two, or more when blocks are small).
    Lines the file does not have (a CSV header, past its last row) are left out."""
    ranges = []
    for _f, base, first, count in sorted(_of_file(blocks, file), key=lambda b: b[FIRST_LINE]):
        lo = max(first_line, first)
        hi = min(last_line, first + count - 1)
        if lo <= hi:
            ranges.append((base + (lo - first), base + (hi - first) + 1))
    return ranges
