"""Lines built to make a backtracking regex try every split are read promptly and
counted (issue 18, hole 1).

The corpus (bench/pathological.py) has, for every format, long runs of blanks,
`[`, `"`, digits, `\\`, `:` and tabs, and near-miss prefixes that fail late. The
timeouts are guards that turn a hang into a failure, not timing assertions: the
cost of the worst line is measured by `python -m bench --case pathological`.
"""

from __future__ import annotations

import gzip
import re
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.pathological import RUN, corpus, lines_alone
from spark_client.engine.detect import detect
from spark_client.engine.patterns import COMPILED, RAW_PATTERNS
from spark_client.errors import InputFileError
from tests.spark_client.conftest import engine_options

CONFIG = Path(__file__).resolve().parents[2] / "config" / "config.yaml"
CAP = yaml.safe_load(CONFIG.read_text())["analytics"]["max_line_chars"]
ALIASES = engine_options().column_aliases
RAW_FORMATS = list(RAW_PATTERNS)
# A guard, not a timing assertion. SIGALRM (the default method) also stops a
# Python regex: `re` checks for signals as it runs, but holds the GIL against a timer thread.
GUARD = {"timeout": 600}


def _detect(path: Path, override: str | None = None):  # noqa: ANN202
    return detect(
        path,
        aliases=ALIASES,
        sample_lines=50,
        override=override,
        max_uncompressed_bytes=10**9,
        max_compression_ratio=100,
        max_line_chars=CAP,
    )


def test_the_corpus_runs_past_the_line_cap():
    assert RUN > CAP * 2, "the corpus must hold lines longer than analytics.max_line_chars"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("fmt", "text"), [(f, t) for f, _, t in lines_alone()], ids=[i for _, i, _ in lines_alone()]
)
def test_detection_reads_each_bad_line_alone_promptly(tmp_path, fmt, text):
    """The line fills the 256 KB head that detection reads: every raw pattern runs on it."""
    path = tmp_path / "bad.log"
    path.write_text(text + "\n")
    assert _outcome(path)
    if fmt in COMPILED:
        assert _outcome(path, override=fmt) in (fmt, "the file holds only blank lines")


def _outcome(path: Path, override: str | None = None) -> str:
    """The format detected, or the message of the one declared failure."""
    try:
        return _detect(path, override).format
    except InputFileError as exc:
        return str(exc)


@pytest.mark.timeout(**GUARD)
@pytest.mark.spark
def test_every_format_with_bad_lines_is_analysed_and_every_line_counted(run):
    cases = corpus()
    out = run({case.name: case.text() for case in cases})
    reports = {r.name: r for r in out.files}
    for case in cases:
        report = reports[case.name]
        expected = case.expected(CAP)
        got = {
            "rows": report.rows,
            "unparsed": report.unparsed_lines,
            "continuation": report.continuation_lines,
            "truncated": report.truncated_lines,
        }
        assert (report.error, report.format, got) == (None, case.format, expected), case.name
        if expected["truncated"]:
            assert f"longer than {CAP:,} characters" in report.warning


@pytest.mark.timeout(**GUARD)
@pytest.mark.spark
def test_bad_lines_just_under_the_cap_are_read_whole(run):
    """The same lines at the cap's length: each pattern meets the whole pathology,
    including the Java-only one (U+2028 ends Java's `.`, so `$` fails late)."""
    cases = corpus(CAP - 200)
    out = run({case.name: case.text() for case in cases})
    reports = {r.name: r for r in out.files}
    for case in cases:
        report = reports[case.name]
        expected = case.expected(CAP)
        got = (report.rows, report.unparsed_lines, report.continuation_lines, report.truncated_lines)
        assert (report.error, report.format) == (None, case.format), case.name
        assert got == tuple(expected.values()), case.name


@pytest.mark.timeout(**GUARD)
@pytest.mark.spark
def test_every_raw_format_forced_on_every_bad_line(run):
    """A forced format skips detection's patterns: Spark's reading must cut the lines itself."""
    lines = [text for _, _, text in lines_alone()]
    text = "\n".join(lines) + "\n"
    names = {f"forced-{fmt}.log": fmt for fmt in RAW_FORMATS}
    out = run(dict.fromkeys(names, text), formats=names)
    non_blank = sum(1 for line in lines if line.strip(" \t\x0b\f"))
    for report in out.files:
        assert (report.error, report.format) == (None, names[report.name])
        assert report.rows + report.unparsed_lines + report.continuation_lines == non_blank, report
        assert report.truncated_lines == sum(1 for line in lines if len(line) > CAP)


def test_a_csv_header_then_one_huge_row_is_checked_with_bounded_memory(tmp_path):
    """The head holds only part of the first row: whether a row follows the header is
    read in blocks, not as one line of the whole file."""
    path = tmp_path / "one-row.csv"
    row = "2024-01-01 00:00:00,ERROR," + "x" * (48 * 1024 * 1024) + "\n"
    path.write_text("timestamp,log_level,message\n" + row)
    tracemalloc.start()
    try:
        detected = _detect(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert detected.format == "csv"
    assert peak < 8 * 1024 * 1024


def test_a_header_followed_only_by_blanks_has_no_rows(tmp_path):
    path = tmp_path / "blank-rows.csv.gz"
    path.write_bytes(gzip.compress(b"timestamp,log_level,message\n" + b" \n\t\n" * 100_000))
    with pytest.raises(InputFileError, match="has a header but no rows"):
        _detect(path)


@pytest.mark.timeout(60)
def test_deeply_nested_json_is_not_json_to_detection(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"msg": ' + "[" * 100_000 + "}\n")
    with pytest.raises(InputFileError, match="could not be detected"):
        _detect(path)


# --------------------------------------------------------------------------- the same matches

# The patterns before they were made linear (issue 18): on lines short enough for
# them to be quick, the linear patterns must match the same lines with the same groups.
GREEDY = {
    "syslog": r"^(?:<(\d{1,3})>)?((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{1,2}\s+\d{2}:\d{2}:\d{2})"
    r"\s+(\S+)\s+([^:\[\]]+?)(?:\[(\d+)\])?:\s?(.*)$",
    "syslog5424": r"^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (.*))?$",
    "log4j_iso": r"^(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d{1,9})?)\s+([A-Za-z]+)\s+\[([^\]]*)\]\s+"
    r"([^\s:]+):?\s?(.*)$",
    "log4j_dash": r"^(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d{1,9})?)\s+-\s+([A-Za-z]+)\s+\[(.*?)\]\s+-\s?(.*)$",
    "access_log": r'^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}|-) (\d+|-)'
    r'(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?.*$',
}
PREFIXES = {
    "syslog": ["<13>Jun 14 15:16:01 host ", "Jun  9 02:04:59 combo ", "Jul  7 08:06:15 combo  "],
    "syslog5424": ["<165>1 2003-10-11T22:14:15Z host app - id ", "<11>1 t h a p m "],
    "log4j_iso": ["2015-10-18 18:01:47,978 INFO [main] ", "2015-10-18 18:01:47 WARN [a b] "],
    "log4j_dash": ["2015-07-29 17:41:44,747 - INFO  [", "2015-07-29 17:41:44 - WARN ["],
    "access_log": [
        '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "',
        '::1 - bob [x] "GET / HTTP/1.1" ',
        'a b c [d] "x" 200 ',
    ],
}
# Characters the patterns treat specially, and a little plain text.
PIECES = [
    " ",
    "  ",
    "\t",
    ":",
    "[",
    "]",
    "[12]",
    '"',
    ' "',
    "\\",
    '\\"',
    "\\]",
    "-",
    " - ",
    "] - ",
    "a",
    "sshd",
    "0",
    "42",
    "x y",
]


@settings(max_examples=3000, deadline=None)
@given(
    fmt=st.sampled_from(sorted(GREEDY)),
    prefix=st.integers(0, 2),
    pieces=st.lists(st.sampled_from(PIECES), max_size=14),
)
def test_the_linear_patterns_match_what_the_greedy_ones_matched(fmt, prefix, pieces):
    choices = PREFIXES[fmt]
    line = choices[prefix % len(choices)] + "".join(pieces)
    old = re.match(GREEDY[fmt], line)
    new = COMPILED[fmt].match(line)
    assert (old and old.groups()) == (new and new.groups()), line
