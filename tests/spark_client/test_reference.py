"""Every number of the result document, in every format, against a plain-Python
computation over the generated events (tests/logdata.py)."""

from __future__ import annotations

import gzip
from dataclasses import replace

import pytest

from tests import logdata as ld

pytestmark = pytest.mark.spark

N = 2500


def check(output, events, expected_format: str) -> None:
    expected = ld.reference(events, bucket_seconds=output.trend_bucket_seconds)
    assert output.summary == expected["summary"]
    for name, rows in expected["tables"].items():
        assert output.tables[name] == rows, name
    (report,) = output.files
    assert report.format == expected_format
    assert report.rows == len(events)
    assert report.unparsed_lines == 0
    assert report.error is None


CASES = {
    "csv": (lambda: ld.make_events(N, seed=31), ld.render_csv, "app.csv"),
    "jsonl": (lambda: ld.make_events(N, seed=32), ld.render_jsonl, "app.jsonl"),
    "syslog": (
        lambda: ld.make_events(N, seed=33, explicit_levels=False, with_ip_column=False),
        ld.render_syslog,
        "messages",
    ),
    "log4j_spark": (
        lambda: ld.make_events(N, seed=34, with_ip_column=False),
        ld.render_log4j_spark,
        "spark.log",
    ),
    "log4j_iso": (
        lambda: ld.make_events(N, seed=35, with_ip_column=False),
        ld.render_log4j_iso,
        "hadoop.log",
    ),
    "log4j_dash": (lambda: ld.make_events(N, seed=36, with_ip_column=False), ld.render_log4j_dash, "zk.log"),
    "access_log": (lambda: ld.access_events(N, seed=37), ld.render_access, "access.log"),
}


def _prepare(fmt: str, events: list[ld.Event]) -> list[ld.Event]:
    """The expected view of the events in a format: log4j names the full logger class."""
    if fmt in ("log4j_spark", "log4j_iso"):
        return [replace(e, service=f"org.example.{e.service}") for e in events]
    return events


@pytest.mark.parametrize("fmt", list(CASES))
def test_every_number_matches_the_reference(run, fmt):
    make, render, name = CASES[fmt]
    events = make()
    output = run({name: render(events)})
    check(output, _prepare(fmt, events), fmt)


def test_gzip_of_a_format_gives_the_same_numbers(run):
    events = ld.make_events(N, seed=38, with_ip_column=False)
    output = run({"app.log.gz": gzip.compress(ld.render_log4j_iso(events).encode())})
    check(output, _prepare("log4j_iso", events), "log4j_iso")


def test_apache_error_log_matches_the_reference(run):
    events = [
        e
        for e in ld.make_events(N, seed=39)
        if e.level != "CRITICAL" or e.spelling.lower() in ("crit", "emerg", "alert")
    ]
    # Apache writes levels in lower case; map the spellings Apache really uses.
    apache = {"DEBUG": "debug", "INFO": "notice", "WARN": "warn", "ERROR": "error", "CRITICAL": "crit"}
    events = [replace(e, spelling=apache[e.level], service=None) for e in events]
    output = run({"error_log": ld.render_apache_error(events)})
    check(output, events, "apache_error")


def test_mixed_formats_in_one_analysis_combine(run):
    csv_events = ld.make_events(800, seed=40)
    iso_events = ld.make_events(900, seed=41, with_ip_column=False)
    output = run({"a.csv": ld.render_csv(csv_events), "b.log": ld.render_log4j_iso(iso_events)})
    combined = csv_events + _prepare("log4j_iso", iso_events)
    expected = ld.reference(combined, bucket_seconds=output.trend_bucket_seconds)
    assert output.summary == expected["summary"]
    assert output.tables == {**expected["tables"], "error_trends": expected["tables"]["error_trends"]}
    assert [(f.format, f.rows) for f in output.files] == [("csv", 800), ("log4j_iso", 900)]
