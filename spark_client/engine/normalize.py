"""Raw records -> the normalised record of DESIGN §4.

Normalised record (the `select` at the end of `normalize`):
    file_id int, status string, ts timestamp, level string, message string,
    ip string, service string, endpoint string, error_type string, is_error boolean,
    sample string (the raw line of an unparsed row, truncated),
    truncated boolean (the raw line, or the CSV / JSON message, was cut to the line cap),
    year_assumed boolean (the timestamp had no year: the file's assumed year was put in front),
    line string (the raw line of an unparsed or continuation row, cut to the line cap),
    row_id long, block_start long (where the row is in its file: parsers.with_ids),
    event_template string (a loghub row's EventTemplate: its error type and pattern)

Every rule here is driven by EngineOptions (config/config.yaml): level aliases,
keyword inference, error levels. Only Spark expressions, no Python UDFs.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark_client.engine.error_masks import ERROR_TYPE_CHARS, masked_in_steps
from spark_client.engine.error_masks import mask_message as mask_message  # re-exported (bench/jobs.py)
from spark_client.engine.parsers import IDS, cap_line
from spark_client.engine.patterns import IPV4
from spark_client.rows import NORMALISED_COLUMNS, TS_RECHECK
from spark_client.types import EngineOptions

MESSAGE_KEY_CHARS = 1000  # top_errors groups by the first 1000 characters

SAMPLE_CHARS = 1000

COMMA_FRACTION = r"^(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}),(\d+)"
EPOCH_SECONDS = r"^\d{9,10}(\.\d+)?$"
EPOCH_MILLIS = r"^\d{12,13}$"
WEEKDAY_PREFIX = r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s+"

# Explicit patterns tried in order after ISO-8601 and epoch (DESIGN §4 plus the
# loghub corpora: HDFS yyMMdd HHmmss, BGL, HealthApp).
FULL_PATTERNS = (
    "yy/MM/dd HH:mm:ss",
    "yyyy/MM/dd HH:mm:ss",
    "dd/MMM/yyyy:HH:mm:ss Z",
    "dd/MMM/yyyy:HH:mm:ss",
    "MMM d HH:mm:ss yyyy",
    "MMM d yyyy HH:mm:ss",
    "yyMMdd HHmmss",
    "yyyy-MM-dd-HH.mm.ss.SSSSSS",
    "yyyyMMdd-HH:mm:ss:SSS",
    "yyyy.MM.dd HH:mm:ss",
    "dd.MM.yyyy HH:mm:ss",
)
# Year-less forms get the analysis's assume_year in front.
YEARLESS_PATTERNS = (
    "yyyy MMM d HH:mm:ss",
    "yyyy MMM d HH:mm:ss.SSSSSSSSS",
    "yyyy MM-dd HH:mm:ss.SSSSSSSSS",
    "yyyy MM-dd HH:mm:ss",
    "yyyy MM.dd HH:mm:ss",
)


def _clean(col: Column) -> Column:
    # Collapse runs of blanks ("Jun  9"), drop brackets ("[10.30 16:49:06]").
    return F.trim(F.regexp_replace(F.regexp_replace(col, r"^\[|\]$", ""), r"\s+", " "))


def _iso(col: Column) -> Column:
    return F.try_to_timestamp(F.regexp_replace(col, COMMA_FRACTION, "$1.$2"))


def _with_year(col: Column, year: int, fmt: str) -> Column:
    return F.try_to_timestamp(F.concat(F.lit(f"{year} "), col), F.lit(fmt))


def parse_timestamp(ts_raw: Column, kind: str, assume_year: int) -> Column:
    """A timestamp column from text, by the form the format promises.

    Most rows of a file share one well-formed stamp, so a cheap direct parse of the
    raw text runs first and the full rules (regex clean-up, a ladder of patterns)
    only see the rows it cannot read. Every fast path is built so that whenever it
    returns a value, the full rules would return the same value.
    """
    full = _parse_cleaned(_clean(ts_raw), kind, assume_year)
    fast = _parse_direct(ts_raw, kind, assume_year)
    return full if fast is None else F.coalesce(fast, full)


def _char_at(col: Column, pos: int) -> Column:
    return F.substring(col, pos, 1)


def _iso_direct(raw: Column) -> Column:
    """ISO-8601 read by a plain cast, then the log4j `,SSS` fraction swapped for `.SSS`.

    Guards keep it to what `_iso(_clean(raw))` reads identically: a '-' in the fifth
    place (never an epoch number, which the full rules try first), no doubled blanks
    (which `_clean` would collapse), and for the comma form the exact digit layout
    COMMA_FRACTION requires (fixed separators, a digit after the comma). A stamp in
    the comma form goes straight to the swapped cast: a plain cast of it always
    fails, and a failing cast is dear (Spark parses the tail as a zone id and
    throws), on every row of a log4j file.
    """
    dated = (_char_at(raw, 5) == "-") & ~raw.contains("  ")
    comma = (
        (_char_at(raw, 20) == ",")
        & (_char_at(raw, 8) == "-")
        & _char_at(raw, 11).isin(" ", "T")
        & (_char_at(raw, 14) == ":")
        & (_char_at(raw, 17) == ":")
        & _char_at(raw, 21).between("0", "9")
    )
    return F.when(
        dated,
        F.when(comma, F.overlay(raw, F.lit("."), 20, 1).try_cast("timestamp")).otherwise(
            raw.try_cast("timestamp")
        ),
    )


def _parse_direct(raw: Column, kind: str, assume_year: int) -> Column | None:
    # A strict pattern only reads text without brackets, doubled or outer blanks,
    # which is exactly the text `_clean` leaves unchanged.
    if kind in ("any", "iso"):
        return _iso_direct(raw)
    if kind == "syslog":
        return _with_year(raw, assume_year, "yyyy MMM d HH:mm:ss")
    if kind == "yy/MM/dd":
        return F.try_to_timestamp(raw, F.lit("yy/MM/dd HH:mm:ss"))
    if kind == "yyyy/MM/dd":
        return F.try_to_timestamp(raw, F.lit("yyyy/MM/dd HH:mm:ss"))
    if kind == "access":
        return F.try_to_timestamp(raw, F.lit("dd/MMM/yyyy:HH:mm:ss Z"))
    return None


def _parse_cleaned(s: Column, kind: str, assume_year: int) -> Column:
    if kind == "syslog":
        return _with_year(s, assume_year, "yyyy MMM d HH:mm:ss")
    if kind == "iso":
        return _iso(s)
    if kind == "yy/MM/dd":
        return F.try_to_timestamp(s, F.lit("yy/MM/dd HH:mm:ss"))
    if kind == "yyyy/MM/dd":
        return F.try_to_timestamp(s, F.lit("yyyy/MM/dd HH:mm:ss"))
    if kind == "access":
        return F.try_to_timestamp(s, F.lit("dd/MMM/yyyy:HH:mm:ss Z"))
    if kind == "apache":
        no_weekday = F.regexp_replace(F.regexp_replace(s, WEEKDAY_PREFIX, ""), r"\.\d+ ", " ")
        return F.try_to_timestamp(no_weekday, F.lit("MMM d HH:mm:ss yyyy"))
    return parse_any_timestamp(s, assume_year)


def parse_any_timestamp(s: Column, assume_year: int) -> Column:
    """Every form of DESIGN §4; the first that reads wins (coalesce short-circuits)."""
    return F.coalesce(_dated_any(s), _yearless_any(s, assume_year))


def _dated_any(s: Column) -> Column:
    """The forms that carry their year, in the order they are tried."""
    no_weekday = F.regexp_replace(s, WEEKDAY_PREFIX, "")
    no_weekday_fraction = F.regexp_replace(no_weekday, r"(\d{2}:\d{2}:\d{2})\.\d+", "$1")
    # ISO first, but not for bare digits: a cast reads "2024" as a year.
    iso = F.when(~s.rlike(r"^\d+(\.\d+)?$"), _iso(s))
    return F.coalesce(
        F.when(s.rlike(EPOCH_SECONDS), F.timestamp_seconds(s.try_cast("double"))),
        F.when(s.rlike(EPOCH_MILLIS), F.timestamp_millis(s.try_cast("long"))),
        iso,
        *[F.try_to_timestamp(s, F.lit(p)) for p in FULL_PATTERNS[:4]],
        F.try_to_timestamp(no_weekday_fraction, F.lit("MMM d HH:mm:ss yyyy")),
        *[F.try_to_timestamp(s, F.lit(p)) for p in FULL_PATTERNS[5:]],
    )


def _yearless_any(s: Column, assume_year: int) -> Column:
    """The year-less forms, tried last: only text no dated form reads."""
    no_weekday = F.regexp_replace(s, WEEKDAY_PREFIX, "")
    return F.coalesce(*[_with_year(no_weekday, assume_year, p) for p in YEARLESS_PATTERNS])


def _timestamp(ts_raw: Column, kind: str, assume_year: int) -> tuple[Column, Column | None]:
    """The timestamp as (read from a form with a year, read from a year-less one).

    The second is None when the format has no year-less form, and for a syslog
    file the first is None: all of its stamps lack the year. For the formats that
    accept any form, `normalize` tries the year-less forms in a later projection,
    on the rows the dated forms left unread, and so knows which rows got the
    assumed year without parsing any row twice.
    """
    if kind == "syslog":
        return None, parse_timestamp(ts_raw, kind, assume_year)
    if kind != "any":
        return parse_timestamp(ts_raw, kind, assume_year), None
    return F.coalesce(_iso_direct(ts_raw), _dated_any(_clean(ts_raw))), _yearless_any(
        _clean(ts_raw), assume_year
    )


def _level_from_text(raw: Column, options: EngineOptions) -> Column:
    lvl = F.upper(F.trim(raw))
    # TRACE1..TRACE8 (Apache) and similar numbered variants; the regex only runs
    # on the rare value that ends in a digit.
    numbered = F.substring(lvl, -1, 1).between("0", "9")
    lvl = F.when(numbered, F.regexp_replace(lvl, r"^([A-Z]+)\d+$", "$1")).otherwise(lvl)
    expr = None
    for level, aliases in options.level_aliases.items():
        cond = lvl.isin([a.upper() for a in aliases])
        expr = F.when(cond, F.lit(level)) if expr is None else expr.when(cond, F.lit(level))
    return expr if expr is not None else F.lit(None).cast("string")


def _level_from_number(raw: Column) -> Column:
    """Numeric levels: 0-7 syslog severities, 10-60 bunyan/pino."""
    n = F.trim(raw).try_cast("int")
    numeric = (
        F.when(n <= 2, "CRITICAL")
        .when(n == 3, "ERROR")
        .when(n == 4, "WARN")
        .when(n <= 6, "INFO")
        .when(n == 7, "DEBUG")
        .when(n < 30, "DEBUG")
        .when(n < 40, "INFO")
        .when(n < 50, "WARN")
        .when(n < 60, "ERROR")
        .otherwise("CRITICAL")
    )
    return F.when(F.trim(raw).rlike(r"^\d{1,2}$"), numeric)


def _level_from_pri(pri: Column) -> Column:
    sev = pri % 8
    return (
        F.when(pri.isNull(), None)
        .when(sev <= 2, "CRITICAL")
        .when(sev == 3, "ERROR")
        .when(sev == 4, "WARN")
        .when(sev <= 6, "INFO")
        .otherwise("DEBUG")
    )


def _level_inferred(message: Column, options: EngineOptions) -> Column:
    expr = None
    for level, pattern in options.level_inference:
        cond = message.rlike(f"(?i){pattern}")
        expr = F.when(cond, F.lit(level)) if expr is None else expr.when(cond, F.lit(level))
    return expr.otherwise(F.lit("INFO")) if expr is not None else F.lit("INFO")


def normalize(
    raw: DataFrame,
    ts_kind: str,
    options: EngineOptions,
    *,
    iso_only: bool = False,
    assume_year: int | None = None,
    mask_errors: bool = True,
) -> DataFrame:
    """Raw records -> normalised records.

    `mask_errors` False (an analysis that mines patterns: an error line's type is
    its pattern, engine.pattern_keys.with_patterns) leaves the error type of an
    error line without an event template null instead of its masked message.

    `assume_year` is the year this file's year-less timestamps get (default
    `options.assume_year`); the rows that got it are marked `year_assumed`.

    `iso_only` (a file whose sampled timestamps are all plain ISO 8601, and a
    format that accepts any form): timestamps are read by the ISO parse alone,
    without the ladder of every other form. The ladder is some twenty parse
    expressions that Spark analyses, optimises and generates code for on every
    query, although it reads nothing in such a file. A row
    with timestamp text the ISO parse cannot read gets the status TS_RECHECK
    instead of "ok", and the engine runs the analysis again with the full rules,
    so the result is always the full rules' result.
    """
    ok = F.col("status") == "ok"
    # Three projections, so that the trimmed message and the IP column are computed
    # once per row however often later expressions read them (Spark keeps a
    # projection apart when merging it would evaluate an expensive column twice).
    # Raw lines often end in blanks that structured exports (loghub) trim away.
    # A CSV or JSON message is cut to the line cap before the level rules, the IP
    # search and the masks read it (a raw line was cut whole by its reader).
    message, message_cut = cap_line(F.trim(F.coalesce(F.col("message"), F.lit(""))), options.max_line_chars)
    ip_raw = F.col("ip_raw")
    # Only an address with a port needs the regex; anything else passes unchanged.
    ip_col = F.when(
        ip_raw.contains(":"), F.regexp_replace(ip_raw, r"^(\d{1,3}(?:\.\d{1,3}){3}):\d+$", "$1")
    ).otherwise(ip_raw)
    trimmed = raw.select(
        "file_id",
        "status",
        "line",
        "ts_raw",
        "level_raw",
        "pri",
        F.when(ok, message).alias("message"),
        F.when(ok, ip_col).alias("ip_col"),
        "service",
        "endpoint",
        "event_template",
        (F.col("truncated") | (ok & message_cut)).alias("truncated"),
        *IDS,
    )
    msg = F.col("message")
    level_raw = F.col("level_raw")
    level = F.coalesce(
        _level_from_text(level_raw, options),
        _level_from_number(level_raw),
        _level_from_pri(F.col("pri")),
        _level_inferred(msg, options),
    )
    # The IPv4 regex scans the whole message: only run it when there is no IP
    # column value and the message has a dot at all.
    ip_from_message = F.when(F.col("ip_col").isNull() & msg.contains("."), F.regexp_extract(msg, IPV4, 1))
    ts_raw = F.col("ts_raw")
    # A CSV record or JSON line that did not parse is not cut by its reader.
    raw_line = cap_line(F.col("line"), options.max_line_chars)[0]
    lean = iso_only and ts_kind == "any"
    year = options.assume_year if assume_year is None else assume_year
    if lean:
        ts, yearless = _iso_direct(ts_raw), None
    else:
        ts, yearless = _timestamp(ts_raw, ts_kind, year)
    # A syslog stamp never has a year; the forms of "any" format may lack it.
    all_yearless = ts is None
    ts = yearless if all_yearless else ts
    staged = trimmed.select(
        "file_id",
        "status",
        F.when(ok, ts).alias("ts"),
        F.when(ok, level).alias("level"),
        "message",
        "ip_col",
        ip_from_message.alias("ip_msg"),
        F.when(ok, F.substring(F.col("service"), 1, 200)).alias("service"),
        F.when(ok, F.substring(F.col("endpoint"), 1, 500)).alias("endpoint"),
        "event_template",
        F.when(F.col("status") == "unparsed", F.substring(F.col("line"), 1, SAMPLE_CHARS)).alias("sample"),
        "truncated",
        # What the stored lines show for a row without a message (engine.lines).
        F.when(F.col("status").isin("unparsed", "continuation"), raw_line).alias("line"),
        *IDS,
        *([(ok & (F.trim(ts_raw) != "")).alias("ts_given")] if lean else []),
        *(["ts_raw"] if yearless is not None and not all_yearless else []),
    )
    if all_yearless:
        year_assumed = F.col("ts").isNotNull()
    elif yearless is not None:
        # The year-less forms in a projection of their own, on the rows the dated
        # forms did not read: a timestamp read here got the assumed year.
        staged = staged.select(
            *[c for c in staged.columns if c != "ts_raw"],
            F.when(ok & F.col("ts").isNull(), yearless).alias("ts_yearless"),
        )
        staged = staged.select(
            *[c for c in staged.columns if c not in ("ts", "ts_yearless")],
            F.coalesce(F.col("ts"), F.col("ts_yearless")).alias("ts"),
            F.col("ts_yearless").isNotNull().alias("year_assumed"),
        )
        year_assumed = F.col("year_assumed")
    else:
        year_assumed = F.lit(False)
    status = F.col("status")
    if lean:
        unread = F.col("ts_given") & F.col("ts").isNull()
        status = F.when(unread, F.lit(TS_RECHECK)).otherwise(status)
    is_error = F.col("level").isin(list(options.error_levels))
    ip_msg = F.col("ip_msg")
    resolved = staged.select(
        "file_id",
        status.alias("status"),
        "ts",
        "level",
        "message",
        F.coalesce(F.col("ip_col"), F.when(ip_msg != "", ip_msg)).alias("ip"),
        "service",
        "endpoint",
        "event_template",  # whole: the pattern; cut as an error type below
        F.coalesce(is_error, F.lit(False)).alias("is_error"),
        "sample",
        "truncated",
        year_assumed.alias("year_assumed"),
        "line",
        *IDS,
    )
    # Only error rows without an event template need their message masked.
    keep = [c for c in NORMALISED_COLUMNS if c != "error_type"]
    needs_mask = F.col("is_error") & F.col("event_template").isNull()
    if mask_errors:
        masked = masked_in_steps(resolved, F.when(needs_mask, F.col("message")), keep)
    else:
        masked = resolved.select(*keep, F.lit(None).cast("string").alias("_masked"))
    error_type = F.coalesce(
        F.substring(F.col("event_template"), 1, ERROR_TYPE_CHARS),
        F.substring(F.trim(F.col("_masked")), 1, ERROR_TYPE_CHARS),
    )
    return masked.select(
        *[
            F.when(F.col("is_error"), error_type).alias(c) if c == "error_type" else c
            for c in NORMALISED_COLUMNS
        ]
    )
