"""Report files of an analysis, generated from its stored results (no Spark).

CSV cells a spreadsheet would run as a formula are neutralised with a leading
apostrophe (OWASP "CSV injection"), so log text can never execute in Excel.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

CSV_REPORTS: dict[str, list[str]] = {
    "errors_by_type": ["error_type", "count"],
    "errors_by_hour": ["hour", "count"],
    "top_errors": ["message", "count"],
    "errors_per_ip": ["ip", "count"],
    "errors_per_service": ["service", "count"],
}
JSON_REPORTS = ("error_trends", "errors_by_day", "errors_by_severity", "summary")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def report_names() -> list[str]:
    return [f"{n}.csv" for n in CSV_REPORTS] + [f"{n}.json" for n in JSON_REPORTS]


def report_csv(document: dict[str, Any], name: str) -> str:
    columns = CSV_REPORTS[name]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in document["tables"][name]:
        writer.writerow([safe_cell(row[c]) for c in columns])
    return out.getvalue()


def report_json(document: dict[str, Any], name: str) -> str:
    if name not in JSON_REPORTS:
        raise KeyError(name)
    data = document["summary"] if name == "summary" else document["tables"][name]
    return json.dumps(data, indent=2, ensure_ascii=False)


def report_render(document: dict[str, Any], filename: str) -> tuple[str, str]:
    """(content, content type) of one report file, or KeyError if there is none."""
    stem, _, ext = filename.rpartition(".")
    if ext == "csv" and stem in CSV_REPORTS:
        return report_csv(document, stem), "text/csv; charset=utf-8"
    if ext == "json" and stem in JSON_REPORTS:
        return report_json(document, stem), "application/json"
    raise KeyError(filename)


def reports_zip(document: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in CSV_REPORTS:
            zf.writestr(f"csv/{name}.csv", report_csv(document, name))
        for name in JSON_REPORTS:
            zf.writestr(f"json/{name}.json", report_json(document, name))
    return buffer.getvalue()


def reports_write_dir(document: dict[str, Any], directory: Path) -> list[Path]:
    """DIR/csv/*.csv and DIR/json/*.json, like the original batch pipeline."""
    written = []
    (directory / "csv").mkdir(parents=True, exist_ok=True)
    (directory / "json").mkdir(parents=True, exist_ok=True)
    for name in CSV_REPORTS:
        path = directory / "csv" / f"{name}.csv"
        path.write_text(report_csv(document, name), encoding="utf-8")
        written.append(path)
    for name in JSON_REPORTS:
        path = directory / "json" / f"{name}.json"
        path.write_text(report_json(document, name), encoding="utf-8")
        written.append(path)
    return written
