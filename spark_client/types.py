"""Plain typed values that cross the spark_client boundary (no Django, no Spark)."""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from spark_client.lines_layout import LinesManifest
from spark_client.mining import MinerConfig


@dataclass(frozen=True)
class InputFile:
    """One uploaded file. `file_id` is the caller's key, echoed back in reports."""

    file_id: int
    path: str
    name: str
    format: str | None = None  # per-file override; None means detect
    assume_year: int | None = None  # per-file year for year-less timestamps; None: EngineOptions'


@dataclass(frozen=True)
class EngineOptions:
    assume_year: int
    top_n: int = 100
    rollup_cap: int = 200
    unparsed_samples_per_file: int = 20
    csv_multiline_max_bytes: int = 256 * 1024 * 1024
    # Inputs up to this size are ranked and capped in the worker (engine.finish),
    # unless Spark's grouped rows exceed the row budget.
    finish_in_worker_max_bytes: int = 32 * 1024 * 1024
    finish_in_worker_max_rows: int = 300_000
    detect_sample_lines: int = 50
    # A raw line, or a CSV / JSON message, is read as its first max_line_chars
    # characters (config analytics.max_line_chars; engine.parsers.cap_line).
    max_line_chars: int = 65_536
    trend_max_buckets: int = 200
    error_levels: tuple[str, ...] = ("ERROR", "CRITICAL")
    level_aliases: dict[str, list[str]] = field(default_factory=dict)
    level_inference: list[tuple[str, str]] = field(default_factory=list)
    column_aliases: dict[str, list[str]] = field(default_factory=dict)
    max_uncompressed_bytes: int = 8 * 1024**3
    max_compression_ratio: int = 100
    format: str | None = None  # analysis-wide override
    # Template mining (analytics.patterns, docs/patterns.md): None leaves patterns
    # out. Patterns are mined from the stored lines (engine.analyze's lines_dir).
    patterns: MinerConfig | None = None
    patterns_max_listed: int = 1000
    # Regexes applied in Spark to every message to make its key (engine.pattern_keys).
    pattern_key_masks: tuple[str, ...] = ()


@dataclass
class FileReport:
    file_id: int
    name: str
    format: str | None = None
    rows: int = 0
    unparsed_lines: int = 0
    continuation_lines: int = 0
    truncated_lines: int = 0
    rows_without_timestamp: int = 0
    # Rows whose timestamp had no year (syslog's "Jun 14 15:16:01") and were dated
    # in `assumed_year`, the file's year or else the analysis's.
    rows_without_year: int = 0
    assumed_year: int | None = None
    error_count: int = 0
    first_ts: str | None = None
    last_ts: str | None = None
    error: str | None = None
    warning: str | None = None
    samples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "name": self.name,
            "format": self.format,
            "rows": self.rows,
            "unparsed_lines": self.unparsed_lines,
            "continuation_lines": self.continuation_lines,
            "truncated_lines": self.truncated_lines,
            "rows_without_timestamp": self.rows_without_timestamp,
            "rows_without_year": self.rows_without_year,
            "assumed_year": self.assumed_year,
            "error_count": self.error_count,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "error": self.error,
            "warning": self.warning,
            "unparsed_samples": list(self.samples),
        }


class Rollup:
    """One rollup's rows as Arrow columns: hour (ISO string or None), level, service,
    [error_type | ip,] count.

    A large analysis has 10^5 rollup rows; as Python dicts they would cost the
    worker hundreds of MB, growing with the input. The engine spills them to an
    Arrow IPC file as the query's batches arrive (`path`; deleted with this
    object), so they are read back, and written to the database, one batch at a
    time; a small rollup can also be held as a table. Iterating yields dicts.
    """

    CHUNK = 10_000

    def __init__(
        self, table: Any = None, *, path: str | None = None, rows: int = 0, columns: list[str] | None = None
    ) -> None:
        if (table is None) == (path is None):
            raise ValueError("a Rollup holds either a table or the path of an Arrow IPC file")
        self.table = table
        self.path = path
        self._rows = table.num_rows if table is not None else rows
        self._columns = list(table.column_names) if table is not None else list(columns or [])
        if path is not None:
            weakref.finalize(self, _unlink, path)

    @property
    def columns(self) -> list[str]:
        return self._columns

    def __len__(self) -> int:
        return self._rows

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for batch in self.batches():
            yield from batch.to_pylist()

    def batches(self, rows: int = CHUNK) -> Iterator[Any]:
        """pyarrow RecordBatches of at most `rows` rows; from a file, one read at a time."""
        if self.table is not None:
            yield from self.table.to_batches(max_chunksize=rows)
            return
        import pyarrow as pa

        with pa.OSFile(self.path) as source:
            reader = pa.ipc.open_file(source)
            for i in range(reader.num_record_batches):
                batch = reader.get_batch(i)
                for start in range(0, batch.num_rows, rows):
                    yield batch.slice(start, rows)


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


@dataclass
class AnalysisOutput:
    """Everything one analysis produces: the result document parts and the rollups."""

    summary: dict[str, Any]
    files: list[FileReport]
    tables: dict[str, list[dict[str, Any]]]
    # Rollups for filtering (hour, level, service, count; + error_type / ip).
    rollup_service: Rollup
    rollup_error_type: Rollup
    rollup_ip: Rollup
    trend_bucket_seconds: int | None
    stats: dict[str, Any]
    # The stored lines, when the caller asked for them (engine.analyze's lines_dir).
    lines: LinesManifest | None = None
    # The document's `patterns` (docs/patterns.md), and the directory of the key ->
    # pattern mapping inside the lines' run directory, when patterns were mined.
    patterns: dict[str, Any] | None = None
    patterns_mapping: str | None = None


@dataclass(frozen=True)
class Progress:
    stage: str
    percent: int


ProgressCallback = Callable[[Progress], None]
