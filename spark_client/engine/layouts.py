"""Where each normalised column comes from in a CSV header or in JSON lines'
keys, from a file's first lines (aliases from config.yaml's analytics.column_aliases)."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field

CSV_DELIMITERS = [",", ";", "\t", "|"]
LOGHUB_MARKERS = {"lineid", "content", "eventtemplate"}
LOGHUB_TIME_PARTS = ["year", "month", "date", "day", "time"]
REQUIRED_CSV = ("timestamp", "log_level", "message")
MAX_HEADER_CHARS = 64 * 1024


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


def json_object(line: str) -> object:
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
        obj = json_object(line)
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


def header_like(fields: list[str]) -> bool:
    """Column names are short words, not sentences and not data."""
    names = [f.strip() for f in fields]
    return all(
        0 < len(n) <= 40 and n.count(" ") <= 2 and not any(ch.isdigit() for ch in n[:1]) for n in names
    )


def json_keys(line: str) -> list[str]:
    obj = json_object(line)
    return list(obj) if isinstance(obj, dict) else []
