"""The names and values of the rows the engine produces, for both sides of the boundary.

Pages, forms and the API read these (formats, levels, the "(other)" bucket) and the
engine writes them. Plain constants, no Spark and no Django: a web process imports
this module and loads no pyspark.
"""

from __future__ import annotations

# --- input formats (detection, and the per-file or per-analysis override)

FORMATS = (
    "csv",
    "loghub_csv",
    "jsonl",
    "syslog",
    "syslog5424",
    "log4j_spark",
    "log4j_iso",
    "log4j_dash",
    "apache_error",
    "nginx_error",
    "access_log",
)

FORMAT_LABELS = {
    "csv": "CSV",
    "loghub_csv": "loghub structured CSV",
    "jsonl": "JSON lines",
    "syslog": "syslog (RFC 3164)",
    "syslog5424": "syslog (RFC 5424)",
    "log4j_spark": "log4j (Spark yy/MM/dd)",
    "log4j_iso": "log4j (ISO, [thread] class:)",
    "log4j_dash": "log4j (ISO, - LEVEL [thread:class@line] -)",
    "apache_error": "Apache error log",
    "nginx_error": "Nginx error log",
    "access_log": "Apache/Nginx access log",
}

# --- the normalised row (engine.normalize, DESIGN §4)

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
    "truncated",
    "year_assumed",
    "line",  # the raw line of an unparsed or continuation row, for the stored lines
    "row_id",  # with block_start: where the row is in its file (engine.parsers.with_ids)
    "block_start",
    "event_template",  # a loghub row's EventTemplate (its pattern; engine.pattern_keys)
)

# Every level a normalised row can have, least severe first.
LEVELS = ("DEBUG", "INFO", "WARN", "ERROR", "CRITICAL")

# A row's `status` is "ok" (a log row), "continuation" (a stack-trace line after an
# event), "unparsed", "blank", or this one: timestamp text the ISO-only parse could
# not read (`normalize(..., iso_only=True)`); results.assemble asks for a rerun
# with every timestamp rule when it sees one.
TS_RECHECK = "ts_recheck"

# --- results

# The bucket that a rollup's keys beyond its cap (analytics.rollup_cap) fold into.
OTHER = "(other)"


class Group:
    """Ids of the groups of result rows: the `gid` column of the one query's rows
    (engine.aggregate.aggregate, or engine.finish.finish in the worker), which
    engine.results.assemble decodes."""

    FILE = 0  # per file: rows by status, level, whether they have a timestamp and got the assumed year
    SERVICE_ROLLUP = 1  # rows per (hour, level, service)
    ERROR_TYPE_ROLLUP = 2  # error rows per (hour, level, service, error type)
    IP_ROLLUP = 3  # error rows per (hour, level, service, IP)
    DISTINCT_IPS = 4  # how many distinct IPs, all rows
    TOP_MESSAGES = 5  # the most frequent error messages
    ERROR_TRENDS = 6  # errors per time bucket
    SAMPLES = 7  # a few unparsed lines per file
    TRUNCATED = 9  # lines cut to the line cap, per file


class CountSet:
    """Ids of the sets the one aggregation counts at once: the `sid` column of
    engine.aggregate.grouped's rows. Each row is copied into the sets it belongs to
    (engine.aggregate._sets). Every set feeds the result group of the same id but
    FILE_AND_SERVICE, counted per (file, status, level, has timestamp, year
    assumed, hour, service), which feeds both Group.FILE and Group.SERVICE_ROLLUP."""

    FILE_AND_SERVICE = 8
    IPS = Group.DISTINCT_IPS
    ERROR_TYPES = Group.ERROR_TYPE_ROLLUP
    ERROR_IPS = Group.IP_ROLLUP
    ERROR_MESSAGES = Group.TOP_MESSAGES
    ERROR_MINUTES = Group.ERROR_TRENDS  # per minute; the trend buckets are cut from these
    SAMPLES = Group.SAMPLES
    TRUNCATED = Group.TRUNCATED
