"""Format detection from the first lines, and file checks before Spark (pure Python)."""

from __future__ import annotations

import csv
import gzip
import io
import os
import random

import pytest

from spark_client.engine.detect import detect
from spark_client.engine.files import check_gzip, csv_has_quoted_newline
from spark_client.errors import InputFileError
from tests.spark_client.conftest import engine_options

ALIASES = engine_options().column_aliases

SAMPLES = {
    "syslog": "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown\n",
    "syslog5424": "<165>1 2003-10-11T22:14:15.003Z host app - ID47 - hello\n",
    "log4j_spark": "17/06/09 20:10:40 INFO spark.SecurityManager: Changing view acls to: yarn\n",
    "log4j_iso": "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.A: Created\n",
    "log4j_dash": "2015-07-29 17:41:44,747 - INFO  [main:QuorumPeerMain@127] - Starting quorum peer\n",
    "apache_error": "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok\n",
    "nginx_error": "2024/01/15 10:30:00 [error] 1234#0: *1 open() failed\n",
    "access_log": '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 2326\n',
    "jsonl": '{"time": "2024-01-01T00:00:00Z", "level": "info", "message": "hi"}\n',
    "csv": "timestamp,log_level,message\n2024-01-01 00:00:00,INFO,hi\n",
    "loghub_csv": "LineId,Date,Time,Level,Component,Content,EventId,EventTemplate\n1,17/06/09,20:10:40,INFO,a,b,E1,b\n",
}


def sniff(tmp_path, content: bytes | str, name: str = "f.log", override: str | None = None):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return detect(
        path,
        aliases=ALIASES,
        sample_lines=50,
        override=override,
        max_uncompressed_bytes=50 * 1024 * 1024,
        max_compression_ratio=100,
    )


@pytest.mark.parametrize("fmt", list(SAMPLES))
def test_it_detects_each_format_from_its_first_lines(tmp_path, fmt):
    assert sniff(tmp_path, SAMPLES[fmt] * 3).format == fmt


@pytest.mark.parametrize("fmt", ["syslog", "csv", "log4j_iso"])
def test_it_detects_gzip_content(tmp_path, fmt):
    detected = sniff(tmp_path, gzip.compress((SAMPLES[fmt] * 3).encode()), name="x.gz")
    assert detected.format == fmt and detected.compressed


def test_a_few_junk_lines_do_not_hide_the_format(tmp_path):
    text = "garbage\n" + SAMPLES["log4j_spark"] * 5
    assert sniff(tmp_path, text).format == "log4j_spark"


def test_csv_delimiters_are_sniffed(tmp_path):
    for delimiter in [";", "\t", "|"]:
        text = f"timestamp{delimiter}level{delimiter}msg\n2024-01-01{delimiter}INFO{delimiter}x\n"
        assert sniff(tmp_path, text).csv.delimiter == delimiter


def test_separate_date_and_time_columns_make_the_timestamp(tmp_path):
    detected = sniff(tmp_path, "date,time,level,message\n2024-01-01,10:00:00,INFO,x\n")
    assert detected.csv.time_parts == [0, 1]


@pytest.mark.parametrize(
    ("rows", "iso"),
    [
        (["2024-01-01 10:00:00,INFO,x", "2024-01-01T10:00:01Z,ERROR,y"], True),
        (["2024-01-01 10:00:00.123+02:00,INFO,x", "2024-01-01,INFO,date only"], True),
        (['"2015-10-18 18:01:47,978",INFO,x', ",INFO,no timestamp"], True),
        (["2024-01-01 10:00:00,INFO,x", "1705314600,INFO,epoch"], False),
        (["2024-01-01 10:00:00,INFO,x", "Jan 15 10:30:00,INFO,syslog form"], False),
        ([" 2024-01-01 10:00:00,INFO,leading blank"], False),
        ([",INFO,no timestamp at all"], False),
    ],
)
def test_a_csv_head_of_plain_iso_timestamps_is_marked(tmp_path, rows, iso):
    # Marked files are read with the ISO parse alone (and rechecked); a head with
    # any other form, or no timestamp to go by, gets every rule from the start.
    detected = sniff(tmp_path, "timestamp,level,message\n" + "\n".join(rows) + "\n")
    assert detected.iso_timestamps is iso


def test_iso_timestamps_from_date_and_time_columns(tmp_path):
    assert sniff(tmp_path, "date,time,level,message\n2024-01-01,10:00:00,INFO,x\n").iso_timestamps
    loghub = sniff(tmp_path, SAMPLES["loghub_csv"])
    assert loghub.format == "loghub_csv" and not loghub.iso_timestamps


def test_the_override_wins_and_is_checked(tmp_path):
    assert sniff(tmp_path, "Jun 14 15:16:01 h a: x\n", override="syslog").format == "syslog"
    with pytest.raises(InputFileError, match="unknown format 'nope'"):
        sniff(tmp_path, "x\n", override="nope")
    with pytest.raises(InputFileError, match="does not look like JSON lines"):
        sniff(tmp_path, "plain\n", override="jsonl")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\n  \n", "only blank lines"),
        (b"\x00\x01\x02binary" * 100, "binary file"),
        (b"timestamp,log_level,message\n", "header but no rows"),
        (b"a,b\n1,2\n", "missing required column(s) timestamp, log_level, message. Found columns: a, b"),
        (b"Hello world\n", "could not be detected"),
    ],
)
def test_bad_files_are_refused_with_a_message(tmp_path, content, message):
    with pytest.raises(InputFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        sniff(tmp_path, content)


def test_a_truncated_gzip_is_refused_before_spark(tmp_path):
    data = gzip.compress(SAMPLES["syslog"].encode() * 1000)
    with pytest.raises(InputFileError, match="truncated"):
        sniff(tmp_path, data[: len(data) // 2], name="t.gz")


def test_a_gzip_bomb_is_refused_before_spark(tmp_path):
    path = tmp_path / "bomb.gz"
    with gzip.open(path, "wb", compresslevel=9) as fh:
        block = b"\0" * (1024 * 1024)
        for _ in range(40):
            fh.write(block)
    assert os.path.getsize(path) < 100 * 1024
    with pytest.raises(InputFileError, match="decompression bomb"):
        check_gzip(path, max_bytes=10**12, max_ratio=100)
    with pytest.raises(InputFileError, match="expands to more than 20 MB"):
        check_gzip(path, max_bytes=20 * 1024 * 1024, max_ratio=10**6)


def test_concatenated_gzip_members_are_counted_whole(tmp_path):
    path = tmp_path / "multi.gz"
    path.write_bytes(gzip.compress(b"a" * 1000) + gzip.compress(b"b" * 500))
    assert check_gzip(path, max_bytes=10**9, max_ratio=1000) == 1500


def test_prose_with_commas_is_not_taken_for_a_csv_header(tmp_path):
    with pytest.raises(InputFileError, match="could not be detected"):
        sniff(tmp_path, "Dear diary, nothing here is a log.\n")


@pytest.mark.parametrize("seed", range(40))
def test_the_quoted_newline_scan_agrees_with_a_csv_parser(tmp_path, seed):
    """Block by block (7 bytes here, so quotes and breaks straddle blocks) the scan
    finds a line break inside a value exactly when Python's csv module reads one."""
    rnd = random.Random(seed)
    pool = ["plain", "a,b", 'say "hi"', '""', "", "x" * 9, "ünï", "two\nlines", "cr\rhere", "crlf\r\nin"]
    weights = [30, 8, 8, 4, 6, 6, 4] + [1 if seed % 2 else 0] * 3  # half the files hold none
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator=rnd.choice(["\n", "\r\n"]))
    for _ in range(rnd.randint(1, 60)):
        writer.writerow(rnd.choices(pool, weights, k=4))
    path = tmp_path / "f.csv"
    path.write_bytes(text.getvalue().encode())
    expected = any(
        "\n" in value or "\r" in value
        for row in csv.reader(io.StringIO(text.getvalue(), newline=""))
        for value in row
    )

    assert csv_has_quoted_newline(path, block=7) is expected
    assert csv_has_quoted_newline(path) is expected


def test_a_stray_quote_reads_as_maybe(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text('ts,level,message\n2024-01-01,INFO,5" screen\n2024-01-01,INFO,ok\n')
    assert csv_has_quoted_newline(path) is True
