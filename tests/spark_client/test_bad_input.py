"""Bad input gets a clear message and loses nothing else (issue: engine, bad input)."""

from __future__ import annotations

import pytest

from spark_client.errors import NoUsableInputError

pytestmark = pytest.mark.spark

GOOD = "timestamp,log_level,message\n2024-01-01 00:00:00,ERROR,real error\n2024-01-01 00:00:01,INFO,fine\n"

BAD = {
    "empty.log": (b"", "error", "the file is empty"),
    "header_only.csv": (b"timestamp,log_level,message\n", "error", "has a header but no rows"),
    "binary.bin": (bytes(range(256)) * 64, "error", "binary file, not a text log"),
    "missing.csv": (
        b"when,what\n2024-01-01,x\n",
        "error",
        "missing required column(s) timestamp, log_level, message. Found columns: when, what",
    ),
    "no_times.csv": (
        b"timestamp,log_level,message\nsoon,ERROR,a\nlater,INFO,b\n",
        "warning",
        "no timestamp could be read in any row",
    ),
    "mismatched_delimiters.csv": (
        b"timestamp,log_level,message\n2024-01-01 00:00:00;ERROR;a\n2024-01-01 00:00:01;INFO;b\n",
        "warning",
        "none of the 2 lines could be read as csv",
    ),
    "undetectable.txt": (
        b"hello there\nthis is prose, not a log\n",
        "error",
        "the log format could not be detected from the first lines",
    ),
    "one_huge_line.txt": (b"x" * (5 * 1024 * 1024), "error", "could not be detected"),
    "truncated.log.gz": (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x4b\x4c", "error", "truncated"),
}


def test_each_bad_file_says_what_is_wrong_and_the_good_file_is_analysed(run):
    files = {"good.csv": GOOD, **{name: content for name, (content, _, _) in BAD.items()}}
    out = run(files)
    reports = {r.name: r for r in out.files}
    assert reports["good.csv"].rows == 2 and reports["good.csv"].error is None
    for name, (_, kind, message) in BAD.items():
        report = reports[name]
        text = report.error if kind == "error" else report.warning
        assert text is not None and message in text, (name, report.error, report.warning)
    # Only rows that exist are counted: the good file, plus the two rows whose
    # timestamps are unreadable (they stay in every count).
    assert out.summary["total_logs"] == 4
    assert out.summary["rows_without_timestamp"] == 2
    assert out.summary["unparsed_lines"] == 2


def test_a_5_mb_line_inside_a_log_is_one_row(run):
    text = (
        "17/06/09 20:10:40 INFO a.B: normal\n"
        "17/06/09 20:10:41 ERROR a.B: " + "y" * (5 * 1024 * 1024) + "\n"
        "17/06/09 20:10:42 INFO a.B: after\n"
    )
    out = run({"long.log": text})
    (report,) = out.files
    assert (report.rows, report.unparsed_lines) == (3, 0)
    assert out.summary["error_count"] == 1
    assert len(out.tables["top_errors"][0]["message"]) == 1000


def test_when_no_file_is_usable_the_analysis_says_why_for_each(run):
    with pytest.raises(NoUsableInputError) as excinfo:
        run({"empty.log": b"", "prose.txt": b"just words\n"})
    text = str(excinfo.value)
    assert "None of the files could be analysed" in text
    assert "empty.log: the file is empty" in text
    assert "prose.txt: the log format could not be detected" in text
    assert {r.name for r in excinfo.value.reports} == {"empty.log", "prose.txt"}
