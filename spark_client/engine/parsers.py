"""Per-format readers: each turns one file into rows of the *raw record* schema.

Raw record (every reader ends with this `select`):
    file_id int, status string ('ok' | 'unparsed' | 'continuation' | 'blank'),
    line string (the original text, for unparsed samples),
    ts_raw string, ts_kind string, level_raw string, pri int, message string,
    ip_raw string, service string, endpoint string, event_template string,
    truncated boolean (the line was cut to the line cap),
    row_id long, block_start long (where the record is in its file: `with_ids`)

`normalize` turns raw records into the normalised record. Raw text is
read with `spark.read.text` and split by Java regular expressions inside Spark,
each line cut to `EngineOptions.max_line_chars` first (`cap_line`).
"""

from __future__ import annotations

import re
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from spark_client.engine.detect import Detected
from spark_client.engine.patterns import CONTINUATION, RAW_PATTERNS

RAW_COLUMNS = (
    "file_id",
    "status",
    "line",
    "ts_raw",
    "ts_kind",
    "level_raw",
    "pri",
    "message",
    "ip_raw",
    "service",
    "endpoint",
    "event_template",
    "truncated",
    "row_id",
    "block_start",
)
# The columns `with_ids` adds to a file's records as Spark reads them.
IDS = ("row_id", "block_start")

# A line of nothing but white space (spaces, tabs, form feeds) is no log line.
BLANK = r"^\s*$"

# Formats whose events may be followed by stack-trace lines.
MULTILINE_EVENTS = {"log4j_spark", "log4j_iso", "log4j_dash", "apache_error"}


def _null() -> Column:
    return F.lit(None).cast("string")


def _blank_to_null(col: Column) -> Column:
    trimmed = F.trim(col)
    return F.when(trimmed == "", None).otherwise(trimmed)


def _raw_record(df: DataFrame, file_id: int, **cols: Column) -> DataFrame:
    """The schema contract: every reader ends here."""
    values = {name: cols.get(name, _null()) for name in RAW_COLUMNS if name != "file_id"}
    if "pri" not in cols:
        values["pri"] = F.lit(None).cast("int")
    if "truncated" not in cols:
        values["truncated"] = F.lit(False)
    for name in IDS:
        values[name] = F.col(name)
    return df.select(
        F.lit(file_id).alias("file_id"),
        *[values[name].alias(name) for name in RAW_COLUMNS if name != "file_id"],
    )


def with_ids(df: DataFrame) -> DataFrame:
    """A file's records as Spark read them, with where each is in the file.

    `row_id` (monotonically_increasing_id: the Spark partition in the top bits,
    the record's place in it below) and `block_start` (the byte offset of the
    partition's split of the file) give every record its line number once the
    records per partition are counted (spark_client.lines_layout). They are taken
    on the reader's own output, before anything could drop a record: a record
    dropped before them would shift every later line number.
    """
    return df.select(
        "*",
        F.monotonically_increasing_id().alias("row_id"),
        F.input_file_block_start().alias("block_start"),
    )


def read_lines(spark, path: str) -> DataFrame:
    """Lines of a text file (gzip by extension), BOM and stray CR removed, with ids."""
    df = with_ids(spark.read.text(path))
    value = F.col("value")
    # A UTF-8 BOM survives only on the first line; a CR survives only where a
    # file mixes line endings. Both are quirks of the data, not of the format, so
    # the regex only runs on the rare line that can hold one.
    quirky = value.startswith("\ufeff") | value.contains("\r")
    return df.select(
        F.when(quirky, F.regexp_replace(value, "^\ufeff|\r$", "")).otherwise(value).alias("value"), *IDS
    )


def cap_line(text: Column, cap: int) -> tuple[Column, Column]:
    """`text` cut to its first `cap` characters, and whether it was cut.

    What a user expects of an over-long line is what Graylog, Loki or Splunk do:
    the event is kept and counted, its text cut, and the cut is reported
    (FileReport.truncated_lines and a warning). Without a cap a single line of
    hundreds of MB would be what every pattern, level rule and mask reads.
    `octet_length` is the stored size, known without a scan, and a text of at most
    `cap` bytes has at most `cap` characters: only longer texts pay for counting.
    """
    long = F.octet_length(text) > cap
    cut = F.coalesce(long & (F.length(text) > cap), F.lit(False))
    return F.when(long, F.substring(text, 1, cap)).otherwise(text), cut


def _status(blank: Column, value: Column, matched: Column, fmt: str) -> Column:
    status = F.when(blank, F.lit("blank")).when(matched, F.lit("ok"))
    if fmt in MULTILINE_EVENTS:
        status = status.when(value.rlike(CONTINUATION), F.lit("continuation"))
    return status.otherwise(F.lit("unparsed"))


# Separators for matching a line once and splitting out its groups (see _groups).
MATCHED = "\u0002"
GROUP_SEP = "\u0001"
# Characters that make the one-match shortcut inexact: the separators themselves,
# and line terminators, before which `$` also matches.
_SHORTCUT_BREAKERS = (MATCHED, GROUP_SEP, "\r", "\u0085", "\u2028", "\u2029")


def _groups(lines: DataFrame, pattern: str, keep: list[str]) -> DataFrame:
    """Lines with `matched` and `g1..gN` (the pattern's groups, "" when absent),
    and the columns `keep`.

    `regexp_extract` runs the whole-line pattern once per group; a line log has
    four to nine groups. Instead one `regexp_replace` rewrites a matching line
    into its groups joined by a separator, and a split takes them apart: one
    regex evaluation per line instead of up to ten. The patterns are anchored, so
    the replacement covers the whole line exactly when `rlike` would match, and
    the marker in front tells matching lines from the rest. A line holding a
    separator or a line terminator takes the per-group regexes instead.
    """
    value = F.col("value")
    count = re.compile(pattern).groups
    template = MATCHED + GROUP_SEP.join(f"${i}" for i in range(1, count + 1))
    clean = reduce(lambda a, b: a & b, [~value.contains(ch) for ch in _SHORTCUT_BREAKERS])
    rewritten = F.when(clean, F.regexp_replace(value, pattern, template))
    staged = lines.select(value, *keep, clean.alias("clean"), rewritten.alias("rewritten"))
    is_clean = F.col("clean")
    matched = F.when(is_clean, F.col("rewritten").startswith(MATCHED)).otherwise(value.rlike(pattern))
    parts = F.split(F.substring(F.col("rewritten"), 2, 1 << 30), GROUP_SEP)
    staged = staged.select(
        value, *keep, is_clean, matched.alias("matched"), F.when(matched, parts).alias("parts")
    )
    groups = [
        F.when(is_clean, F.get(F.col("parts"), i - 1))
        .otherwise(F.regexp_extract(value, pattern, i))
        .alias(f"g{i}")
        for i in range(1, count + 1)
    ]
    return staged.select(value, *keep, "matched", *groups)


def read_raw(spark, path: str, file_id: int, fmt: str, max_line_chars: int) -> DataFrame:
    """Every pattern reads the line cut to `max_line_chars` (`cap_line`), also when
    the user chose the format (detection never saw the file's lines then)."""
    pattern = RAW_PATTERNS[fmt]
    whole = F.col("value")
    value, cut = cap_line(whole, max_line_chars)
    # Blank is decided on the whole line, or a cut would make blanks followed by a
    # word blank; `^\s*$` is one class run, linear in the line.
    lines = read_lines(spark, path).select(
        value.alias("value"), whole.rlike(BLANK).alias("blank"), cut.alias("truncated"), *IDS
    )
    lines = _groups(lines, pattern, keep=["blank", "truncated", *IDS])
    value = F.col("value")

    def group(i: int) -> Column:
        return F.col(f"g{i}")

    matched = F.col("matched")
    status = _status(F.col("blank"), value, matched, fmt)
    ok = F.col("status") == "ok"

    if fmt == "syslog":
        cols = dict(
            ts_raw=group(2),
            ts_kind=F.lit("syslog"),
            pri=_blank_to_null(group(1)).try_cast("int"),
            service=F.trim(group(4)),
            message=group(6),
        )
    elif fmt == "syslog5424":
        cols = dict(
            ts_raw=group(2),
            ts_kind=F.lit("iso"),
            pri=group(1).try_cast("int"),
            service=F.when(group(4) != "-", group(4)),
            message=F.regexp_replace(group(8), "^\ufeff", ""),
        )
    elif fmt == "log4j_spark":
        cols = dict(
            ts_raw=group(1),
            ts_kind=F.lit("yy/MM/dd"),
            level_raw=group(2),
            service=group(3),
            message=group(4),
        )
    elif fmt == "log4j_iso":
        cols = dict(
            ts_raw=group(1),
            ts_kind=F.lit("iso"),
            level_raw=group(2),
            service=group(4),
            message=group(5),
        )
    elif fmt == "log4j_dash":
        bracket = group(3)
        cols = dict(
            ts_raw=group(1),
            ts_kind=F.lit("iso"),
            level_raw=group(2),
            # [thread:Class@line]: the class is the service.
            service=_blank_to_null(F.regexp_extract(bracket, r":([\w$.]+)@\d+$", 1)),
            message=group(4),
        )
    elif fmt == "apache_error":
        level_field = group(2)  # "error" or "core:error" (2.4)
        cols = dict(
            ts_raw=group(1),
            ts_kind=F.lit("apache"),
            # After the last colon. (`([^:]+)$` found it by trying every start:
            # quadratic in a long field without one.)
            level_raw=F.substring_index(level_field, ":", -1),
            service=_blank_to_null(F.regexp_extract(level_field, r"^([^:]+):", 1)),
            ip_raw=_blank_to_null(group(3)),
            message=group(4),
        )
    elif fmt == "nginx_error":
        message = group(5)
        cols = dict(
            ts_raw=group(1),
            ts_kind=F.lit("yyyy/MM/dd"),
            level_raw=group(2),
            message=message,
            endpoint=_blank_to_null(F.regexp_extract(message, r'request: "\S+ ([^" ?]+)', 1)),
        )
    elif fmt == "access_log":
        request = group(5)
        status_code = group(6)
        cols = dict(
            ts_raw=group(4),
            ts_kind=F.lit("access"),
            # Level from the HTTP status: 5xx ERROR, 4xx WARN, else INFO.
            level_raw=F.when(status_code.startswith("5"), F.lit("ERROR"))
            .when(status_code.startswith("4"), F.lit("WARN"))
            .otherwise(F.lit("INFO")),
            ip_raw=_blank_to_null(group(1)),
            message=F.concat_ws(" ", request, status_code),
            endpoint=_blank_to_null(F.regexp_extract(request, r"^\S+\s+([^\s?#]+)", 1)),
        )
    else:  # pragma: no cover - guarded by detection
        raise ValueError(f"no reader for {fmt}")

    count = re.compile(pattern).groups
    staged = lines.select(
        value, "truncated", status.alias("status"), *[group(i) for i in range(1, count + 1)], *IDS
    )
    return _raw_record(
        staged,
        file_id,
        status=F.col("status"),
        line=value,
        truncated=F.col("truncated"),
        **{k: F.when(ok, v) for k, v in cols.items()},
    )


def csv_multiline(detected: Detected, multiline_max: int) -> bool:
    """Whether a CSV file is read as multi-line CSV (one record may span lines).

    multiLine reads a file in one task (no splitting), so it is used when quoted
    newlines are possible and the file is small enough for that to be cheap:
    they are found, or the file was too big to be scanned whole (detect).
    """
    unchecked = detected.size <= multiline_max and not detected.newlines_scanned
    return detected.has_quoted_newlines or detected.compressed or unchecked


def read_csv(spark, path: str, file_id: int, detected: Detected, multiline_max: int) -> DataFrame:
    layout = detected.csv
    assert layout is not None
    width = len(layout.header)
    schema = StructType(
        [StructField(f"c{i}", StringType()) for i in range(width)] + [StructField("_corrupt", StringType())]
    )
    multiline = csv_multiline(detected, multiline_max)
    # Spark's CSV reader drops the header and blank lines before the ids are
    # taken: engine.lines counts them back into the line numbers.
    df = spark.read.csv(
        path,
        schema=schema,
        header=True,
        sep=layout.delimiter,
        quote='"',
        escape='"',
        multiLine=multiline,
        mode="PERMISSIVE",
        columnNameOfCorruptRecord="_corrupt",
        enforceSchema=True,
        ignoreLeadingWhiteSpace=False,
        ignoreTrailingWhiteSpace=False,
    )
    df = with_ids(df)
    cols = layout.columns

    def col(name: str) -> Column:
        return F.col(f"c{cols[name]}") if name in cols else _null()

    if len(layout.time_parts) == 1:
        ts_raw = F.col(f"c{layout.time_parts[0]}")
    elif layout.time_parts:
        ts_raw = F.concat_ws(" ", *[F.col(f"c{i}") for i in layout.time_parts])
    else:
        ts_raw = _null()
    corrupt = F.col("_corrupt").isNotNull()
    ok = ~corrupt
    event_template = F.col(f"c{layout.event_template}") if layout.event_template is not None else _null()
    return _raw_record(
        df,
        file_id,
        status=F.when(corrupt, F.lit("unparsed")).otherwise(F.lit("ok")),
        line=F.col("_corrupt"),
        ts_raw=F.when(ok, ts_raw),
        ts_kind=F.lit("any"),
        level_raw=F.when(ok, col("log_level")),
        message=F.when(ok, F.coalesce(col("message"), F.lit(""))),
        ip_raw=F.when(ok, _blank_to_null(col("ip"))),
        service=F.when(ok, _blank_to_null(col("service"))),
        endpoint=F.when(ok, _blank_to_null(col("endpoint"))),
        event_template=F.when(ok, _blank_to_null(event_template)),
    )


def read_jsonl(spark, path: str, file_id: int, detected: Detected) -> DataFrame:
    layout = detected.json
    assert layout is not None
    lines = read_lines(spark, path)
    value = F.col("value")
    # Every value arrives as a string: numbers as their text, objects as JSON.
    obj = F.from_json(value, "map<string,string>", {"mode": "PERMISSIVE"})

    def field(name: str) -> Column:
        keys = layout.keys.get(name, [])
        if not keys:
            return _null()
        return F.coalesce(*[F.try_element_at(F.col("obj"), F.lit(k)) for k in keys])

    staged = lines.select(value, obj.alias("obj"), *IDS)
    blank = value.rlike(BLANK)
    ok = F.col("obj").isNotNull() & ~blank
    status = F.when(blank, F.lit("blank")).when(ok, F.lit("ok")).otherwise(F.lit("unparsed"))
    return _raw_record(
        staged,
        file_id,
        status=status,
        line=value,
        ts_raw=F.when(ok, field("timestamp")),
        ts_kind=F.lit("any"),
        level_raw=F.when(ok, field("log_level")),
        message=F.when(ok, F.coalesce(field("message"), F.lit(""))),
        ip_raw=F.when(ok, _blank_to_null(field("ip"))),
        service=F.when(ok, _blank_to_null(field("service"))),
        endpoint=F.when(ok, _blank_to_null(field("endpoint"))),
    )


def read_file(
    spark, path: str, file_id: int, detected: Detected, multiline_max: int, max_line_chars: int
) -> DataFrame:
    """A CSV record or JSON line is parsed whole (no backtracking in either parser);
    its message is cut to `max_line_chars` by `normalize`, before any pattern."""
    if detected.format in ("csv", "loghub_csv"):
        return read_csv(spark, path, file_id, detected, multiline_max)
    if detected.format == "jsonl":
        return read_jsonl(spark, path, file_id, detected)
    return read_raw(spark, path, file_id, detected.format, max_line_chars)
