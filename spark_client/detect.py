"""Format detection from the first lines of a file, and the file-level checks that
must happen before Spark sees a file (empty, binary, broken or exploding gzip).

Only the head of a file is read here, in Python; every row is parsed in Spark.
Every read is bounded (the head, or fixed-size blocks), whatever the file's lines,
and the line patterns only see a line's first `max_line_chars` characters: Python's
`re` holds the GIL while it runs, so a slow match would stall the whole worker.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from spark_client.errors import InputFileError
from spark_client.patterns import COMPILED, CONTINUATION_RE
from spark_client.types import FORMAT_LABELS, FORMATS, EngineOptions

HEAD_BYTES = 256 * 1024
GZIP_MAGIC = b"\x1f\x8b"
CSV_DELIMITERS = [",", ";", "\t", "|"]
LOGHUB_MARKERS = {"lineid", "content", "eventtemplate"}
LOGHUB_TIME_PARTS = ["year", "month", "date", "day", "time"]
REQUIRED_CSV = ("timestamp", "log_level", "message")
MAX_HEADER_CHARS = 64 * 1024
MAX_LINE_CHARS = EngineOptions.max_line_chars
# CSV rows may hold multi-megabyte messages; the csv module's default cap is 128 KB.
csv.field_size_limit(64 * 1024 * 1024)


@dataclass
class CsvLayout:
    """Where each normalised column comes from in a CSV file (by column index)."""

    delimiter: str
    header: list[str]
    columns: dict[str, int] = field(default_factory=dict)  # canonical name -> index
    time_parts: list[int] = field(default_factory=list)  # indices joined with spaces
    event_template: int | None = None
    duplicates: list[str] = field(default_factory=list)


@dataclass
class JsonLayout:
    keys: dict[str, list[str]] = field(default_factory=dict)  # canonical -> candidate keys


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
    # read every row's (normalize.parse_timestamp, engine.TimestampRecheck).
    iso_timestamps: bool = False


def supported_formats_text() -> str:
    return ", ".join(FORMAT_LABELS[f] for f in FORMATS)


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def check_gzip(path: Path, *, max_bytes: int, max_ratio: int) -> int:
    """Decompress the whole stream once to prove it is complete and not a bomb.

    Spark would otherwise fail the entire analysis on a truncated member, and a
    bomb would fill the executors' disks. Returns the uncompressed size.
    """
    compressed = path.stat().st_size
    total = 0
    decomp = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        with path.open("rb") as fh:
            while True:
                chunk = fh.read(1024 * 1024)
                if not chunk:
                    break
                data = decomp.decompress(chunk, 8 * 1024 * 1024)
                while True:
                    total += len(data)
                    _check_bomb(total, compressed, max_bytes, max_ratio)
                    if decomp.unused_data:
                        # Concatenated gzip members: continue with a fresh decompressor.
                        rest = decomp.unused_data
                        decomp = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
                        data = decomp.decompress(rest, 8 * 1024 * 1024)
                        continue
                    if not decomp.unconsumed_tail:
                        break
                    data = decomp.decompress(decomp.unconsumed_tail, 8 * 1024 * 1024)
    except zlib.error as exc:
        raise InputFileError(
            f"the gzip data is corrupt ({exc}); re-create the .gz file and upload it again"
        ) from exc
    if not decomp.eof:
        raise InputFileError(
            "the gzip file is truncated (it ends before the compressed stream does); upload the complete file"
        )
    return total


def _check_bomb(total: int, compressed: int, max_bytes: int, max_ratio: int) -> None:
    if total > max_bytes:
        raise InputFileError(
            f"the gzip file expands to more than {max_bytes // (1024 * 1024)} MB; split it into smaller files"
        )
    if total > 10 * 1024 * 1024 and total > max_ratio * max(compressed, 1):
        raise InputFileError(
            f"the gzip file expands more than {max_ratio} times its size, which looks like "
            "a decompression bomb; it was not analysed"
        )


def read_head(path: Path, compressed: bool, limit: int = HEAD_BYTES) -> bytes:
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as fh:
            return fh.read(limit)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputFileError(f"the file could not be read ({exc})") from exc


def _looks_binary(head: bytes) -> bool:
    sample = head[:8192]
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    text_chars = bytes(range(32, 127)) + b"\n\r\t\f\b\x1b"
    non_text = sum(1 for b in sample if b not in text_chars and b < 128)
    return non_text / len(sample) > 0.10


def head_lines(head: bytes, max_lines: int) -> list[str]:
    text = head.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines()
    if len(head) >= HEAD_BYTES and lines:
        # The last line may be cut in the middle; keep it only if it is the only one.
        lines = lines[:-1] or lines
    return [line for line in lines[: max_lines * 4] if line.strip()][:max_lines]


def _norm(name: str) -> str:
    return name.strip().strip('"').strip().lower()


def sniff_delimiter(first_line: str) -> str | None:
    if len(first_line) > MAX_HEADER_CHARS:
        return None  # no header is this long; a huge first line is data
    best, best_count = None, 0
    for delim in CSV_DELIMITERS:
        try:
            count = len(next(csv.reader([first_line], delimiter=delim)))
        except csv.Error:
            continue
        if count > best_count:
            best, best_count = delim, count
    return best if best_count >= 2 else None


def csv_layout(first_line: str, aliases: dict[str, list[str]]) -> CsvLayout | None:
    """Map a header line to normalised columns; None if it is no CSV header at all."""
    delimiter = sniff_delimiter(first_line)
    if delimiter is None:
        return None
    header = next(csv.reader([first_line], delimiter=delimiter))
    names = [_norm(h) for h in header]
    layout = CsvLayout(delimiter=delimiter, header=header)
    seen: set[str] = set()
    layout.duplicates = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]

    loghub = LOGHUB_MARKERS.issubset(set(names))
    if loghub:
        layout.event_template = names.index("eventtemplate")
        layout.columns["message"] = names.index("content")
        for canonical, candidates in (("log_level", ["level"]), ("service", ["component"])):
            for cand in candidates:
                if cand in names:
                    layout.columns[canonical] = names.index(cand)
        # A full Timestamp column (BGL, Thunderbird: epoch seconds) beats the parts.
        if "timestamp" in names:
            layout.time_parts = [names.index("timestamp")]
        else:
            layout.time_parts = [names.index(p) for p in LOGHUB_TIME_PARTS if p in names]
        for canonical in ("ip", "endpoint"):
            for cand in aliases.get(canonical, []):
                if cand.lower() in names:
                    layout.columns[canonical] = names.index(cand.lower())
                    break
        return layout

    for canonical, candidates in aliases.items():
        for cand in candidates:
            cand = cand.lower()
            if cand in names:
                idx = names.index(cand)
                if idx in layout.columns.values():
                    continue
                layout.columns[canonical] = idx
                break
    ts_idx, date_idx = layout.columns.get("timestamp"), layout.columns.get("date")
    if ts_idx is None and date_idx is not None:
        layout.time_parts = [date_idx]
    elif ts_idx is not None and date_idx is not None and names[ts_idx] == "time":
        # Separate `date` and `time` columns are joined into one timestamp.
        layout.time_parts = [date_idx, ts_idx]
    elif ts_idx is not None:
        layout.time_parts = [ts_idx]
    return layout


# A timestamp Spark's cast reads as is (normalize._iso_direct): date, time with an
# optional `.` or log4j `,` fraction, optional zone. Deliberately narrow: a value
# it does not cover only means the engine parses the file with every rule.
ISO_PLAIN = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?")


def csv_iso_timestamps(lines: list[str], layout: CsvLayout) -> bool:
    """Whether every timestamp in the sampled rows (after the header) is plain ISO 8601."""
    if not layout.time_parts or len(lines) < 2:
        return False
    seen = False
    try:
        for row in csv.reader(io.StringIO("\n".join(lines[1:])), delimiter=layout.delimiter):
            if not row:
                continue
            parts = [row[i] for i in layout.time_parts if i < len(row) and row[i] != ""]
            if not parts:
                continue  # no timestamp: read as none by every rule
            if not ISO_PLAIN.fullmatch(" ".join(parts)):
                return False
            seen = True
    except csv.Error:
        return False
    return seen


def csv_missing(layout: CsvLayout) -> list[str]:
    if layout.event_template is not None:
        return [] if "message" in layout.columns else ["message"]
    missing = []
    if not layout.time_parts:
        missing.append("timestamp")
    for name in ("log_level", "message"):
        if name not in layout.columns:
            missing.append(name)
    return missing


def _json_object(line: str) -> object:
    """The line's JSON value, or None. Nesting deeper than the interpreter's
    recursion limit (`[[[[...`) is no log event either."""
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None


def json_layout(lines: list[str], aliases: dict[str, list[str]]) -> JsonLayout | None:
    keys: set[str] = set()
    parsed = 0
    for line in lines:
        obj = _json_object(line)
        if isinstance(obj, dict):
            parsed += 1
            keys.update(obj.keys())
    if parsed == 0 or parsed < len(lines) / 2:
        return None
    lower = {k.lower(): k for k in keys}
    layout = JsonLayout()
    for canonical, candidates in aliases.items():
        found = [lower[c.lower()] for c in candidates if c.lower() in lower]
        if found:
            layout.keys[canonical] = found
    return layout


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
    if _looks_binary(head):
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
            if len(lines) < 2 and not _has_second_record(path, compressed):
                raise InputFileError("the CSV file has a header but no rows")
            fmt = "loghub_csv" if layout.event_template is not None else "csv"
            quoted = _quoted_newline(head, layout.delimiter)
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
                    + ", ".join(sorted({k for ln in lines[:5] for k in _json_keys(ln)}))
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
    if layout is not None and _header_like(layout.header):
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


def _header_like(fields: list[str]) -> bool:
    """Column names are short words, not sentences and not data."""
    names = [f.strip() for f in fields]
    return all(
        0 < len(n) <= 40 and n.count(" ") <= 2 and not any(ch.isdigit() for ch in n[:1]) for n in names
    )


def _json_keys(line: str) -> list[str]:
    obj = _json_object(line)
    return list(obj) if isinstance(obj, dict) else []


def _has_second_record(path: Path, compressed: bool, block: int = 1 << 20) -> bool:
    """True if anything but blank lines follows the header line.

    The head held at most the start of one row, which may be the whole rest of the
    file: it is read in blocks, never as a line (a line iterator would hold a 2 GB
    row in memory).
    """
    opener = gzip.open if compressed else open
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    in_header = True
    with opener(path, "rb") as fh:
        while chunk := fh.read(block):
            text = decoder.decode(chunk)
            if in_header:
                ends = [i for i in (text.find("\n"), text.find("\r")) if i >= 0]
                if not ends:
                    continue
                text = text[min(ends) + 1 :]
                in_header = False
            if text.strip():
                return True
    return False


def _quoted_newline(head: bytes, delimiter: str) -> bool:
    text = head.decode("utf-8", errors="replace")
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if any("\n" in cell or "\r" in cell for cell in row):
                return True
    except csv.Error:
        return True
    return False


def csv_has_quoted_newline(path: Path, block: int = 1 << 20) -> bool:
    """Whether any CSV value holds a line break, reading the whole file in blocks.

    In CSV (RFC 4180, Spark's reader with quote = escape = `"`) quotes open and
    close values and an escaped quote is two of them, so a line break is inside a
    value exactly when an odd number of quotes came before it. With numpy, one
    block at a time, the quotes before each line break are counted by a binary
    search of the break in the quotes' positions (a running sum over every byte
    cost twice as much): disk speed, a few MB of memory whatever the file's size (Arrow's CSV
    parser, used before, held ~150 MB for an 80 MB file). A stray quote inside an
    unquoted value reads as "maybe", which keeps the multi-line reader: slower,
    never wrong.
    """
    import numpy as np

    parity = 0
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            data = np.frombuffer(chunk, dtype=np.uint8)
            quotes = np.flatnonzero(data == 34)  # '"'
            breaks = np.flatnonzero((data == 10) | (data == 13))
            if len(breaks) and np.any((np.searchsorted(quotes, breaks) + parity) & 1):
                return True
            parity = (parity + len(quotes)) & 1
    return False
