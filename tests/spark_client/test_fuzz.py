"""Property-based fuzzing of detection and of the Spark parsers (bounded).

The only failures allowed are the declared ones: InputFileError for one file,
NoUsableInputError for an analysis; and every non-blank line is accounted for.
"""

from __future__ import annotations

import gzip
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spark_client.engine.detect import detect
from spark_client.errors import InputFileError, NoUsableInputError
from tests.spark_client.conftest import engine_options

ALIASES = engine_options().column_aliases

LINES = st.sampled_from(
    [
        "17/06/09 20:10:40 INFO a.B: ok",
        "2015-10-18 18:01:47,978 ERROR [main] a.B: failed",
        "Jun 14 15:16:01 host app[1]: denied",
        '1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.0" 500 1',
        '{"msg": "x", "level": "warn"}',
        "timestamp,log_level,message",
        "2024-01-01 00:00:00,INFO,hello",
        "\tat java.lang.Thread.run(Thread.java:748)",
        "",
    ]
)
NOISE = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4096), compress=st.booleans())
def test_detection_of_arbitrary_bytes_fails_only_with_a_message(tmp_path, data, compress):
    path = tmp_path / ("f.gz" if compress else "f.log")
    path.write_bytes(gzip.compress(data) if compress else data)
    try:
        detected = detect(
            path,
            aliases=ALIASES,
            sample_lines=50,
            override=None,
            max_uncompressed_bytes=10**7,
            max_compression_ratio=100,
        )
    except InputFileError as exc:  # the one declared failure
        message = str(exc)
        assert message
    else:
        assert detected.format


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=st.lists(st.one_of(LINES, NOISE), min_size=1, max_size=60), crlf=st.booleans())
@pytest.mark.spark
def test_the_engine_accounts_for_every_line_or_says_why(run, lines, crlf):
    text = ("\r\n" if crlf else "\n").join(line.replace("\r", " ").replace("\n", " ") for line in lines)
    try:
        out = run({"fuzz.log": text})
    except NoUsableInputError as exc:
        reports = exc.reports
        assert reports and reports[0].error
        return
    (report,) = out.files
    if report.format in ("csv", "loghub_csv"):
        return  # CSV records may span lines; counted by records, not lines
    # Lines as Spark splits them (\n, \r\n, \r), blank as the engine defines it.
    physical = re.split(r"\r\n|\n|\r", text)
    non_blank = sum(1 for line in physical if not re.fullmatch(r"[ \t\n\x0b\f\r]*", line))
    assert report.rows + report.unparsed_lines + report.continuation_lines == non_blank, report
