"""The analysis engine: files in, AnalysisOutput out, one Spark query in between.

detect (Python, file heads) -> read + normalise each file (Spark plans, lazy)
-> union -> aggregate (one query, collected as Arrow) -> assemble (Python)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import replace
from functools import reduce
from pathlib import Path
from typing import Any

from pyspark.sql.types import StructType

from spark_client.aggregate import aggregate, grouped
from spark_client.detect import Detected, csv_has_quoted_newline, detect
from spark_client.errors import (
    InputFileError,
    NoUsableInputError,
    SparkConnectionLostError,
    SparkUnavailableError,
)
from spark_client.finish import FinishInSpark, collect, finish
from spark_client.normalize import normalize
from spark_client.parsers import read_file
from spark_client.results import TimestampRecheck, assemble
from spark_client.types import (
    AnalysisOutput,
    EngineOptions,
    FileReport,
    InputFile,
    Progress,
    ProgressCallback,
)

logger = logging.getLogger(__name__)

TS_KIND = {
    "syslog": "syslog",
    "syslog5424": "iso",
    "log4j_spark": "yy/MM/dd",
    "log4j_iso": "iso",
    "log4j_dash": "iso",
    "apache_error": "apache",
    "nginx_error": "yyyy/MM/dd",
    "access_log": "access",
    "csv": "any",
    "loghub_csv": "any",
    "jsonl": "any",
}

# Share of the progress bar given to each stage.
DETECT_END = 8
QUERY_START, QUERY_END = 10, 90


class _QueryProgress:
    """Spark Connect progress events -> percent of tasks done, throttled."""

    def __init__(self, callback: ProgressCallback | None, interval: float = 1.0) -> None:
        self.callback = callback
        self.interval = interval
        self.last = 0.0
        self.lock = threading.Lock()
        self.stages: dict[int, tuple[int, int]] = {}

    def __call__(self, stages, inflight_tasks, operation_id, done) -> None:  # noqa: ANN001
        if self.callback is None:
            return
        with self.lock:
            for st in stages:
                self.stages[st.stage_id] = (st.num_tasks, st.num_completed_tasks)
            total = sum(t for t, _ in self.stages.values())
            completed = sum(c for _, c in self.stages.values())
            now = time.monotonic()
            if not done and now - self.last < self.interval:
                return
            self.last = now
        fraction = 1.0 if done else (completed / total if total else 0.0)
        # Later stages appear as the query runs, so the fraction can step back a little.
        percent = QUERY_START + int((QUERY_END - QUERY_START) * min(fraction, 1.0))
        try:
            self.callback(Progress(stage="Reading and aggregating in Spark", percent=percent))
        except Exception:  # progress must never break the query
            logger.exception("progress callback failed")


def _report(callback: ProgressCallback | None, stage: str, percent: int) -> None:
    if callback is not None:
        callback(Progress(stage=stage, percent=percent))


def detect_files(
    files: list[InputFile], options: EngineOptions, progress: ProgressCallback | None = None
) -> tuple[dict[int, FileReport], dict[int, Detected]]:
    """Detect each file's format (a CSV file's quoted newlines from its head only;
    see `_needs_scan`)."""
    reports: dict[int, FileReport] = {}
    detected: dict[int, Detected] = {}
    for i, f in enumerate(files):
        report = FileReport(file_id=f.file_id, name=f.name)
        reports[f.file_id] = report
        try:
            det = detect(
                Path(f.path),
                aliases=options.column_aliases,
                sample_lines=options.detect_sample_lines,
                override=f.format or options.format,
                max_uncompressed_bytes=options.max_uncompressed_bytes,
                max_compression_ratio=options.max_compression_ratio,
                max_line_chars=options.max_line_chars,
            )
            if det.compressed and not f.path.endswith(".gz"):
                raise InputFileError("gzip content must be stored with a .gz name for Spark to decompress it")
        except InputFileError as exc:
            report.error = str(exc)
        except OSError as exc:
            report.error = f"the file could not be read ({exc.strerror or exc})"
        else:
            report.format = det.format
            detected[f.file_id] = det
            if det.csv is not None and det.csv.duplicates:
                report.warning = (
                    f"duplicate column name(s) {', '.join(det.csv.duplicates)}; the first of each was used"
                )
        _report(progress, "Detecting formats", int(DETECT_END * (i + 1) / max(len(files), 1)))
    return reports, detected


def analyze(
    spark,
    files: list[InputFile],
    options: EngineOptions,
    *,
    progress: ProgressCallback | None = None,
    tag: str | None = None,
) -> AnalysisOutput:
    """Analyse `files` on the Spark Connect session `spark`.

    Files that cannot be read are reported in `files[].error` and left out; if none
    is left, NoUsableInputError says why for each file.
    """
    started = time.monotonic()
    reports, detected = detect_files(files, options, progress)
    if not detected:
        details = "; ".join(f"{r.name}: {r.error}" for r in reports.values())
        raise NoUsableInputError(
            f"None of the files could be analysed. {details}", reports=list(reports.values())
        )
    paths = {f.file_id: f.path for f in files}

    # A CSV file is read in parallel only if no value holds a line break. Scanning
    # it whole takes ~0.1 s per 80 MB, so the scan runs while the server plans the
    # query (one core busy, the other idle), which is planned as if it found none;
    # in the rare file where it finds one, that query's result is dropped and
    # the analysis runs again with the file read as multi-line CSV.
    to_scan = {fid: paths[fid] for fid, det in detected.items() if _needs_scan(det, options)}
    scan = _NewlineScan(to_scan)
    assumed = {
        fid: replace(det, newlines_scanned=True) if fid in to_scan else det for fid, det in detected.items()
    }

    def run(dets: dict[int, Detected]) -> AnalysisOutput:
        """One query; again with every timestamp rule for the files whose ISO-only
        parse left timestamp text unread (detect.Detected.iso_timestamps)."""
        try:
            return _analyze_detected(spark, paths, dets, deepcopy(reports), options, progress, tag, started)
        except TimestampRecheck as exc:
            positions = list(dets)  # a file's position in the query is its place in `dets`
            recheck = {positions[p] for p in exc.positions}
            logger.info(
                "timestamps of file(s) %s are not all plain ISO 8601: analysing again", sorted(recheck)
            )
            full = {
                fid: replace(det, iso_timestamps=False) if fid in recheck else det
                for fid, det in dets.items()
            }
            output = _analyze_detected(spark, paths, full, deepcopy(reports), options, progress, tag, started)
            output.stats["spark_queries"] += 1
            return output

    try:
        output = run(assumed)
    except (SparkConnectionLostError, SparkUnavailableError):
        scan.result()
        raise  # the server is gone or the query was interrupted: not for a rerun
    except Exception:
        if not scan.result():
            raise
        # The file misread as single-line CSV broke the query: the rerun reads it right.
    quoted = scan.result()
    if quoted:
        logger.info("quoted line breaks found in %d file(s): analysing again as multi-line CSV", len(quoted))
        rerun = {
            fid: replace(det, has_quoted_newlines=True, newlines_scanned=True) if fid in quoted else det
            for fid, det in assumed.items()
        }
        output = run(rerun)
        output.stats["spark_queries"] += 1
    return output


def _needs_scan(det: Detected, options: EngineOptions) -> bool:
    """Whether a CSV file must be scanned whole before it can be read split: its
    head showed no quoted newline but did not hold the whole file."""
    return (
        det.csv is not None
        and not det.has_quoted_newlines
        and not det.newlines_scanned
        and not det.compressed
        and det.size <= options.csv_multiline_max_bytes
    )


class _NewlineScan:
    """`csv_has_quoted_newline` over some files in a background thread (numpy and
    file reads release the GIL). `result()` is the ids of files that may hold a
    quoted newline; a file that cannot be read counts as one (multi-line is the
    reader that is never wrong)."""

    def __init__(self, paths: dict[int, str]) -> None:
        self.found: set[int] = set()
        self.thread = None
        if paths:
            self.thread = threading.Thread(
                target=self._run, args=(paths,), name="csv-newline-scan", daemon=True
            )
            self.thread.start()

    def _run(self, paths: dict[int, str]) -> None:
        for fid, path in paths.items():
            try:
                if csv_has_quoted_newline(Path(path)):
                    self.found.add(fid)
            except Exception:  # noqa: BLE001 - unreadable now: Spark will say why; be safe
                self.found.add(fid)

    def result(self) -> set[int]:
        if self.thread is not None:
            self.thread.join()
        return self.found


def normalised(spark, paths: dict[int, str], detected: dict[int, Detected], options: EngineOptions):  # noqa: ANN001, ANN201
    """The normalised rows of every detected file, one DataFrame.

    Inside Spark a file is known by its position in `detected`, not by the
    caller's id: the id would be a literal in the generated code, making every
    analysis compile (and JIT) its own code instead of reusing the last one's.
    """
    frames = [
        normalize(
            read_file(
                spark, paths[fid], position, det, options.csv_multiline_max_bytes, options.max_line_chars
            ),
            TS_KIND[det.format],
            options,
            iso_only=det.iso_timestamps,
        )
        for position, (fid, det) in enumerate(detected.items())
    ]
    return reduce(lambda a, b: a.unionByName(b), frames)


def _analyze_detected(
    spark,
    paths: dict[int, str],
    detected: dict[int, Detected],
    reports: dict[int, FileReport],
    options: EngineOptions,
    progress: ProgressCallback | None,
    tag: str | None,
    started: float,
) -> AnalysisOutput:
    file_ids = list(detected)
    norm = normalised(spark, paths, detected, options)

    handler = _QueryProgress(progress)
    _report(progress, "Reading and aggregating in Spark", QUERY_START)
    spark.registerProgressHandler(handler)
    if tag:
        spark.addTag(tag)
    t0 = time.monotonic()
    stats = {
        "spark_queries": 1,
        "result_rows": 0,
        "detect_seconds": round(t0 - started, 3),
        "bytes_in": sum(det.size for det in detected.values()),
    }

    try:
        output = assemble(result_rows(norm, options, stats), reports, options, stats, file_ids)
    except TimestampRecheck:
        raise  # for analyze() to run again, not an analysis error
    except Exception as exc:
        raise _translate(exc) from exc
    finally:
        if tag:
            spark.removeTag(tag)
        spark.removeProgressHandler(handler)
    stats["query_seconds"] = round(time.monotonic() - t0, 3)
    _report(progress, "Assembling results", QUERY_END + 2)
    return output


def result_rows(norm, options: EngineOptions, stats: dict[str, Any]) -> Any:  # noqa: ANN001 - DataFrame
    """The rows `results.assemble` decodes, for the normalised rows `norm`.

    An input of at most `finish_in_worker_max_bytes` (`stats["bytes_in"]`) gets its
    grouped rows from Spark and is ranked and capped here (spark_client.finish), as
    one table; a larger one, or one with more grouped rows than the budget, is
    finished by Spark and its batches are decoded as they arrive. Counts the rows
    that left Spark and the queries in `stats`.
    """

    def batches(query) -> Iterator[Any]:  # noqa: ANN001 - DataFrame
        for batch in stream_arrow(query):
            stats["result_rows"] += batch.num_rows
            yield batch

    if stats["bytes_in"] <= options.finish_in_worker_max_bytes:
        try:
            table = finish(collect(batches(grouped(norm)), options.finish_in_worker_max_rows), options)
            stats["finished_in"] = "worker"
            return table
        except FinishInSpark as exc:
            logger.info("finishing the analysis in Spark: %s", exc)
            stats["spark_queries"] += 1
            stats["result_rows"] = 0
    stats["finished_in"] = "spark"
    return batches(aggregate(norm, options))


def stream_arrow(query) -> Iterator[Any]:  # noqa: ANN001 - DataFrame -> pyarrow.Tables
    """The query's rows as Arrow tables, one per batch the server sends, in one
    round trip, so the caller never holds the whole result (10^5 rollup rows for a
    large analysis) at once. Same request as `collect_arrow`, through pyspark's
    batch iterator (the one behind `toLocalIterator`, before its Row conversion)."""
    client = query._session.client
    to_tables = getattr(client, "to_table_as_iterator", None)
    if to_tables is None:  # another pyspark: one table
        yield collect_arrow(query)
        return
    for item in to_tables(query._plan.to_proto(client), query._plan.observations):
        if not isinstance(item, StructType):
            yield item


def collect_arrow(query):  # noqa: ANN001, ANN201 - DataFrame -> pyarrow.Table
    """The query's rows as Arrow, in one round trip.

    pyspark's `toArrow()` first asks the server for the schema, which analyses the
    whole plan a second time (~0.3 s for an analysis' plan) only to cast columns
    that already have the right types; `_to_table` (pinned pyspark 4.1) does not.
    """
    to_table = getattr(query, "_to_table", None)
    if to_table is None:
        return query.toArrow()
    table, _schema = to_table()
    return table


def _translate(exc: Exception) -> Exception:
    """gRPC failures mean the server is gone; everything else is an analysis error."""
    text = str(exc)
    name = type(exc).__name__
    lowered = text.lower()
    if (
        "UNAVAILABLE" in text
        or "failed to connect" in lowered
        or "connection refused" in lowered
        or "SESSION_CHANGED" in text
        or "NO_SUCH_SESSION" in text
        or "INVALID_HANDLE" in text
    ):
        return SparkConnectionLostError(
            "Lost the connection to the Spark Connect server while the analysis ran "
            f"({name}); it is retried when the server is back."
        )
    if "OPERATION_CANCELED" in text or "interrupted" in lowered:
        return SparkUnavailableError("The Spark query was interrupted before it finished.")
    first = text.strip().splitlines()[0] if text.strip() else name
    return RuntimeError(f"Spark could not complete the analysis: {first[:500]}")


# A few lines of the common formats, for warming up a fresh server.
_WARM_UP_FILES = {
    "warm-up.csv": (
        "timestamp,log_level,message,ip,service,endpoint\n"
        '2024-01-01 10:00:00,INFO,"started, pid 42",10.0.0.1,api,/health\n'
        "2024-01-01 10:00:01,ERROR,Connection timeout after 30s to 10.0.0.7,,db,/orders\n"
        "2024-01-01 10:00:02,warn,Retrying job 7,10.0.0.2,worker,\n"
    ),
    "warm-up.log": (
        "2024-01-01 10:00:00,123 INFO [main] org.example.Api: started\n"
        "2024-01-01 10:00:01,456 ERROR [main] org.example.Db: failed to connect to 10.0.0.7\n"
        "\tat org.example.Db.connect(Db.java:12)\n"
    ),
}


def warm_up_options() -> EngineOptions:
    """The shipped config.yaml's analytics defaults. Spark reuses compiled code only
    for identical expressions, so warming with the options real analyses use also
    saves them the code generation; with other options only the JIT warm-up helps."""
    import datetime as dt

    return EngineOptions(
        assume_year=dt.date.today().year,
        level_aliases={
            "DEBUG": ["TRACE", "DEBUG", "FINE", "FINER", "FINEST"],
            "INFO": ["INFO", "NOTICE"],
            "WARN": ["WARN", "WARNING"],
            "ERROR": ["ERROR", "ERR", "SEVERE"],
            "CRITICAL": ["CRITICAL", "CRIT", "FATAL", "EMERG", "EMERGENCY", "ALERT", "PANIC"],
        },
        level_inference=[
            ("CRITICAL", r"\b(panic|fatal|emergency|critical)\b"),
            (
                "ERROR",
                r"\b(errors?|exceptions?|fail|fails|failed|failures?|denied|refused|invalid|abort|aborted|break-in)\b",
            ),
            ("WARN", r"\b(warn|warning|warnings|timeout|timed out|retry|retrying)\b"),
        ],
        column_aliases={
            "timestamp": ["timestamp", "time", "datetime", "ts"],
            "date": ["date", "day"],
            "log_level": ["log_level", "level", "severity"],
            "message": ["message", "msg", "content"],
            "ip": ["ip", "ip_address", "client_ip"],
            "service": ["service", "component", "app"],
            "endpoint": ["endpoint", "url", "path"],
        },
    )


def warm_up(
    spark,
    workdir: Path,
    options: EngineOptions | None = None,
    rounds: int = 2,
    volume_lines: int = 0,
    volume_rounds: int = 3,
) -> float:
    """Analyse a few lines of each common format on a fresh server; returns seconds.

    A new Spark JVM runs its first queries in the bytecode interpreter: planning,
    code generation and the Janino compiler itself take ~20 s on the first
    analysis and ~1 s once the JIT has seen them. Paying that at server start keeps
    it out of the first user's analysis. `workdir` must be readable by the server.

    With `volume_lines`, a CSV and a log4j file of that many lines are then
    analysed `volume_rounds` times each: a few lines compile the query's code, but
    HotSpot only optimises the generated per-row loops once they have run over
    real volumes; until then a million CSV lines take about twice as long.
    """
    started = time.monotonic()
    options = options or warm_up_options()
    # Large analyses are finished in Spark, small ones in the worker: the small
    # rounds compile both queries; the volume rounds warm the large analyses' one
    # (the per-row reading they share).
    in_spark = replace(options, finish_in_worker_max_bytes=0)
    workdir.mkdir(parents=True, exist_ok=True)
    inputs = []
    for i, (name, text) in enumerate(sorted(_WARM_UP_FILES.items()), start=1):
        path = workdir / name
        path.write_text(text)
        inputs.append(InputFile(file_id=i, path=str(path), name=name))
    for _ in range(rounds):
        for single in inputs:
            analyze(spark, [single], options)
            analyze(spark, [single], in_spark)
    if volume_lines > 0:
        volume = [
            InputFile(file_id=i, path=str(path), name=path.name)
            for i, path in enumerate(_volume_files(workdir, volume_lines), start=1)
        ]
        for _ in range(volume_rounds):
            for single in volume:
                analyze(spark, [single], in_spark)
    return time.monotonic() - started


_SERVICES = ("api", "auth", "db", "cache", "payments", "search", "worker", "gateway")
_LEVELS = ("INFO",) * 12 + ("DEBUG",) * 4 + ("WARN",) * 2 + ("ERROR", "CRITICAL")
_MESSAGES = (
    "GET /orders/{n} 200 in {m} ms",
    "Connection timeout after {m}s to 10.0.{a}.{b}",
    'Payment {n} failed: "card declined"',
    "Retrying request {u} attempt {a}",
    "Job {n} scheduled, queue depth {m}",
    "NullPointerException in handler {a} at 0x{n:x}",
)


def _volume_files(workdir: Path, lines: int) -> list[Path]:
    """A CSV and a log4j file of `lines` varied lines each (kept for the next start)."""
    csv_path = workdir / f"volume-{lines}.csv"
    log_path = workdir / f"volume-{lines}.log"
    if csv_path.exists() and log_path.exists():
        return [csv_path, log_path]
    csv_rows = ["timestamp,log_level,message,ip,service,endpoint\n"]
    log_rows = []
    for i in range(lines):
        seconds = i * 86_400 // lines
        stamp = f"2024-01-01 {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        mixed = i * 2654435761 % 2**32  # Knuth's multiplicative hash: a fixed, varied mix
        level = _LEVELS[mixed % len(_LEVELS)]
        service = _SERVICES[(mixed >> 8) % len(_SERVICES)]
        message = _MESSAGES[(mixed >> 16) % len(_MESSAGES)].format(
            n=i * 7919 % 100_003, m=i % 997, a=i % 251, b=i * 3 % 253, u=f"{mixed:08x}-{i:04x}"
        )
        quoted = '"' + message.replace('"', '""') + '"'
        csv_rows.append(f"{stamp},{level},{quoted},10.1.{i % 200}.{i % 250},{service},/{service}/{i % 40}\n")
        log_rows.append(f"{stamp},{i % 1000:03d} {level:5s} [main] org.example.{service}: {message}\n")
    for path, rows in ((csv_path, csv_rows), (log_path, log_rows)):
        part = path.with_suffix(path.suffix + ".part")
        part.write_text("".join(rows))
        part.replace(path)
    return [csv_path, log_path]
