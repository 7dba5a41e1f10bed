"""Raw records -> the normalised record of DESIGN §4.

Normalised record (the `select` at the end of `normalize`):
    file_id int, status string, ts timestamp, level string, message string,
    ip string, service string, endpoint string, error_type string, is_error boolean,
    sample string (the raw line of an unparsed row, truncated)

Every rule here is driven by EngineOptions (config/config.yaml): level aliases,
keyword inference, error levels. Only Spark expressions, no Python UDFs.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark_client.patterns import IPV4, MASKS
from spark_client.types import EngineOptions

MESSAGE_KEY_CHARS = 1000  # top_errors groups by the first 1000 characters
ERROR_TYPE_CHARS = 300
MASK_INPUT_CHARS = 2000  # masking a 5 MB line would only cost time

NORMALISED_COLUMNS = (
    "file_id",
    "status",
    "ts",
    "level",
    "message",
    "ip",
    "service",
    "endpoint",
    "error_type",
    "is_error",
    "sample",
)
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
    """A timestamp column from text, by the form the format promises."""
    s = _clean(ts_raw)
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
    no_weekday = F.regexp_replace(s, WEEKDAY_PREFIX, "")
    no_weekday_fraction = F.regexp_replace(no_weekday, r"(\d{2}:\d{2}:\d{2})\.\d+", "$1")
    # ISO first, but not for bare digits: a cast reads "2024" as a year.
    iso = F.when(~s.rlike(r"^\d+(\.\d+)?$"), _iso(s))
    candidates = [
        F.when(s.rlike(EPOCH_SECONDS), F.timestamp_seconds(s.try_cast("double"))),
        F.when(s.rlike(EPOCH_MILLIS), F.timestamp_millis(s.try_cast("long"))),
        iso,
        *[F.try_to_timestamp(s, F.lit(p)) for p in FULL_PATTERNS[:4]],
        F.try_to_timestamp(no_weekday_fraction, F.lit("MMM d HH:mm:ss yyyy")),
        *[F.try_to_timestamp(s, F.lit(p)) for p in FULL_PATTERNS[5:]],
        *[_with_year(no_weekday, assume_year, p) for p in YEARLESS_PATTERNS],
    ]
    return F.coalesce(*candidates)


def _level_from_text(raw: Column, options: EngineOptions) -> Column:
    lvl = F.upper(F.trim(raw))
    # TRACE1..TRACE8 (Apache) and similar numbered variants.
    lvl = F.regexp_replace(lvl, r"^([A-Z]+)\d+$", "$1")
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


def mask_message(message: Column) -> Column:
    """The message with its variable parts masked: its error type."""
    out = F.substring(message, 1, MASK_INPUT_CHARS)
    for pattern, replacement in MASKS:
        out = F.regexp_replace(out, pattern, replacement)
    return F.substring(F.trim(out), 1, ERROR_TYPE_CHARS)


def normalize(raw: DataFrame, ts_kind: str, options: EngineOptions) -> DataFrame:
    ok = F.col("status") == "ok"
    # Raw lines often end in blanks that structured exports (loghub) trim away.
    message = F.trim(F.coalesce(F.col("message"), F.lit("")))
    level = F.coalesce(
        _level_from_text(F.col("level_raw"), options),
        _level_from_number(F.col("level_raw")),
        _level_from_pri(F.col("pri")),
        _level_inferred(message, options),
    )
    ip_col = F.regexp_replace(F.col("ip_raw"), r"^(\d{1,3}(?:\.\d{1,3}){3}):\d+$", "$1")
    ip_from_message = F.regexp_extract(message, IPV4, 1)
    ip = F.coalesce(ip_col, F.when(ip_from_message != "", ip_from_message))
    staged = raw.select(
        "file_id",
        "status",
        F.when(ok, parse_timestamp(F.col("ts_raw"), ts_kind, options.assume_year)).alias("ts"),
        F.when(ok, level).alias("level"),
        F.when(ok, message).alias("message"),
        F.when(ok, ip).alias("ip"),
        F.when(ok, F.substring(F.col("service"), 1, 200)).alias("service"),
        F.when(ok, F.substring(F.col("endpoint"), 1, 500)).alias("endpoint"),
        "event_template",
        F.when(F.col("status") == "unparsed", F.substring(F.col("line"), 1, SAMPLE_CHARS)).alias("sample"),
    )
    is_error = F.col("level").isin(list(options.error_levels))
    return staged.select(
        "file_id",
        "status",
        "ts",
        "level",
        "message",
        "ip",
        "service",
        "endpoint",
        F.when(
            is_error,
            F.coalesce(
                F.substring(F.col("event_template"), 1, ERROR_TYPE_CHARS),
                mask_message(F.col("message")),
            ),
        ).alias("error_type"),
        F.coalesce(is_error, F.lit(False)).alias("is_error"),
        "sample",
    )
