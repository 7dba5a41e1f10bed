"""A file's format and layout, decided from its first lines, or an InputFileError
saying what is wrong with the file and what to do.

The line patterns only see a line's first `max_line_chars` characters: Python's
`re` holds the GIL while it runs, so a slow match would stall the whole worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spark_client.engine.files import (
    check_gzip,
    has_second_record,
    head_has_quoted_newline,
    head_lines,
    is_gzip,
    looks_binary,
    read_head,
)
from spark_client.engine.layouts import (
    REQUIRED_CSV,
    CsvLayout,
    JsonLayout,
    csv_iso_timestamps,
    csv_layout,
    csv_missing,
    header_like,
    json_keys,
    json_layout,
)
from spark_client.engine.patterns import COMPILED, CONTINUATION_RE
from spark_client.errors import InputFileError
from spark_client.rows import FORMAT_LABELS, FORMATS
from spark_client.types import EngineOptions

MAX_LINE_CHARS = EngineOptions.max_line_chars


@dataclass
class Detected:
    format: str
    compressed: bool
    size: int
    csv: CsvLayout | None = None
    json: JsonLayout | None = None
    has_quoted_newlines: bool = False
    # True when the whole file (not just its head) was checked for quoted newlines.
    newlines_scanned: bool = False
    # True when every timestamp in the head is plain ISO 8601: the engine then
    # reads the file's timestamps with the ISO parse alone and checks that it
    # read every row's (normalize.parse_timestamp, results.TimestampRecheck).
    iso_timestamps: bool = False


def supported_formats_text() -> str:
    return ", ".join(FORMAT_LABELS[f] for f in FORMATS)


def raw_format(lines: list[str]) -> tuple[str | None, int]:
    """The raw format most sample lines match, with the number of matching lines."""
    best, best_hits = None, 0
    candidates = [ln for ln in lines if not CONTINUATION_RE.match(ln)] or lines
    for name, pattern in COMPILED.items():
        hits = sum(1 for ln in candidates if pattern.match(ln))
        if hits > best_hits:
            best, best_hits = name, hits
    if best is None or best_hits * 2 < len(candidates):
        return None, best_hits
    return best, best_hits


def detect(
    path: Path,
    *,
    aliases: dict[str, list[str]],
    sample_lines: int,
    override: str | None,
    max_uncompressed_bytes: int,
    max_compression_ratio: int,
    max_line_chars: int = MAX_LINE_CHARS,
) -> Detected:
    """Decide how to read one file, or raise InputFileError saying what is wrong.

    A CSV file's head is checked for quoted newlines; a larger file is scanned
    whole by the engine, while Spark plans its query (`engine._NewlineScan`).
    The line patterns see each line cut to `max_line_chars`, as Spark's do
    (parsers.read_raw); CSV and JSON are parsed whole (no backtracking there).
    """
    size = path.stat().st_size
    if size == 0:
        raise InputFileError("the file is empty; upload a file with log lines in it")
    compressed = is_gzip(path)
    if compressed:
        uncompressed = check_gzip(path, max_bytes=max_uncompressed_bytes, max_ratio=max_compression_ratio)
        if uncompressed == 0:
            raise InputFileError("the gzip file is empty once decompressed")
    head = read_head(path, compressed)
    if looks_binary(head):
        raise InputFileError(
            "this is a binary file, not a text log; upload plain text, CSV or JSON lines "
            "(optionally gzip-compressed)"
        )
    lines = head_lines(head, sample_lines)
    if not lines:
        raise InputFileError("the file holds only blank lines")
    if override and override not in FORMATS:
        raise InputFileError(
            f"unknown format {override!r}; choose one of {', '.join(FORMATS)} or leave it to detection"
        )
    first = lines[0]

    if override in (None, "csv", "loghub_csv"):
        layout = csv_layout(first, aliases)
        mapped = layout is not None and (layout.event_template is not None or len(layout.columns) >= 2)
        if mapped or override in ("csv", "loghub_csv"):
            if layout is None:
                raise InputFileError(
                    f"the first line is not a CSV header (no , ; tab or | delimiter found): {first[:120]!r}"
                )
            missing = csv_missing(layout)
            if missing:
                raise InputFileError(
                    "missing required column(s) "
                    + ", ".join(missing)
                    + ". Found columns: "
                    + ", ".join(h.strip() for h in layout.header)
                    + ". Expected: timestamp (or date + time), log_level, message; "
                    "optional ip, service, endpoint (header names are matched case-insensitively, "
                    "with aliases such as level, severity, msg, content, component, url)"
                )
            if len(lines) < 2 and not has_second_record(path, compressed):
                raise InputFileError("the CSV file has a header but no rows")
            fmt = "loghub_csv" if layout.event_template is not None else "csv"
            quoted = head_has_quoted_newline(head, layout.delimiter)
            return Detected(
                format=fmt,
                compressed=compressed,
                size=size,
                csv=layout,
                has_quoted_newlines=quoted,
                # A head that is the whole file has been checked already.
                newlines_scanned=not quoted and not compressed and size <= len(head),
                iso_timestamps=csv_iso_timestamps(lines, layout),
            )

    if override in (None, "jsonl") and first.lstrip().startswith("{"):
        layout_json = json_layout(lines, aliases)
        if layout_json is not None:
            if "message" not in layout_json.keys:
                raise InputFileError(
                    "JSON lines need a message field; found keys: "
                    + ", ".join(sorted({k for ln in lines[:5] for k in json_keys(ln)}))
                    + ". Accepted names: "
                    + ", ".join(aliases["message"])
                )
            return Detected(format="jsonl", compressed=compressed, size=size, json=layout_json)
        if override == "jsonl":
            raise InputFileError("the first lines are not JSON objects, one per line")

    if override:
        if override in COMPILED:
            return Detected(format=override, compressed=compressed, size=size)
        raise InputFileError(f"the file does not look like {FORMAT_LABELS[override]}")

    fmt, _hits = raw_format([line[:max_line_chars] for line in lines])
    if fmt:
        return Detected(format=fmt, compressed=compressed, size=size)

    layout = csv_layout(first, aliases)
    if layout is not None and header_like(layout.header):
        missing = csv_missing(layout)
        raise InputFileError(
            "this looks like a CSV file, but it is missing required column(s) "
            + ", ".join(missing or REQUIRED_CSV)
            + ". Found columns: "
            + ", ".join(h.strip() for h in layout.header)
            + ". Expected: timestamp, log_level, message (and optionally ip, service, endpoint)"
        )
    raise InputFileError(
        "the log format could not be detected from the first lines (first line: "
        f"{first[:120]!r}). Supported formats: {supported_formats_text()}. "
        "Choose a format explicitly if the file is one of them"
    )
