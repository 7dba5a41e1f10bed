"""The analysis engine: files in, AnalysisOutput out, one Spark query in between.

detect (Python, file heads) -> read + normalise each file (Spark plans, lazy)
-> union -> aggregate (one query, collected as Arrow) -> assemble (Python)

With a lines directory, the union is first written there as the stored lines
(engine.lines) and the aggregation reads them back: two queries, one parse. With
patterns on, a query between the two groups the stored lines by message key, the
worker mines the keys' examples and writes the key -> pattern mapping
(engine.pattern_keys, docs/patterns.md), and the aggregation joins it: an error
line's type is its pattern.
"""

from __future__ import annotations

import logging
import threading
import time
from copy import deepcopy
from dataclasses import replace
from functools import reduce
from pathlib import Path

from spark_client.engine import lines, pattern_keys
from spark_client.engine.detect import Detected, detect
from spark_client.engine.files import csv_has_quoted_newline
from spark_client.engine.normalize import normalize
from spark_client.engine.parsers import read_file
from spark_client.engine.query import QUERY_END, QUERY_START, QueryProgress, result_rows, spark_error
from spark_client.engine.results import TimestampRecheck, assemble
from spark_client.errors import (
    InputFileError,
    NoUsableInputError,
    SparkConnectionLostError,
    SparkUnavailableError,
)
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
        report = FileReport(file_id=f.file_id, name=f.name, assumed_year=f.assume_year or options.assume_year)
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
    lines_dir: str | None = None,
) -> AnalysisOutput:
    """Analyse `files` on the Spark Connect session `spark`.

    Files that cannot be read are reported in `files[].error` and left out; if none
    is left, NoUsableInputError says why for each file. With `lines_dir` (a
    directory the Spark server and this process share; replaced if it exists) the
    normalised lines are stored there and described in `AnalysisOutput.lines`.
    """
    started = time.monotonic()
    reports, detected = detect_files(files, options, progress)
    if not detected:
        details = "; ".join(f"{r.name}: {r.error}" for r in reports.values())
        raise NoUsableInputError(
            f"None of the files could be analysed. {details}", reports=list(reports.values())
        )
    paths = {f.file_id: f.path for f in files}
    years = {f.file_id: f.assume_year for f in files if f.assume_year is not None}

    # A CSV file is read in parallel only if no value holds a line break. Scanning
    # it whole takes a while, so the scan runs while the server plans the
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
            return _analyze_detected(
                spark, paths, years, dets, deepcopy(reports), options, progress, tag, started, lines_dir
            )
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
            output = _analyze_detected(
                spark, paths, years, full, deepcopy(reports), options, progress, tag, started, lines_dir
            )
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


def normalised(  # noqa: ANN201
    spark,  # noqa: ANN001
    paths: dict[int, str],
    detected: dict[int, Detected],
    options: EngineOptions,
    years: dict[int, int] | None = None,
    mask_errors: bool = True,
):
    """The normalised rows of every detected file, one DataFrame.

    Inside Spark a file is known by its position in `detected`, not by the
    caller's id: the id would be a literal in the generated code, making every
    analysis compile (and JIT) its own code instead of reusing the last one's.
    `years` holds a file's own year for its year-less timestamps (by id); each
    file is normalised by its own plan, so its year is a literal of that plan
    and the union stays one pass.
    """
    years = years or {}
    frames = [
        normalize(
            read_file(
                spark, paths[fid], position, det, options.csv_multiline_max_bytes, options.max_line_chars
            ),
            TS_KIND[det.format],
            options,
            iso_only=det.iso_timestamps,
            assume_year=years.get(fid),
            mask_errors=mask_errors,
        )
        for position, (fid, det) in enumerate(detected.items())
    ]
    return reduce(lambda a, b: a.unionByName(b), frames)


def _analyze_detected(
    spark,
    paths: dict[int, str],
    years: dict[int, int],
    detected: dict[int, Detected],
    reports: dict[int, FileReport],
    options: EngineOptions,
    progress: ProgressCallback | None,
    tag: str | None,
    started: float,
    lines_dir: str | None = None,
) -> AnalysisOutput:
    file_ids = list(detected)
    mine = lines_dir is not None and options.patterns is not None
    # Mining: an error line's type is its pattern, so its message needs no masks
    # here (a line past the miner's cap is masked when read: pattern_keys.with_patterns).
    norm = normalised(spark, paths, detected, options, years, mask_errors=not mine)

    handler = QueryProgress(progress)
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

    skipped = lines.SkippedLines(paths, detected, options.csv_multiline_max_bytes) if lines_dir else None
    try:
        source = norm
        mined = None
        if lines_dir:
            key_masks = options.pattern_key_masks if mine else None
            written = lines.write(spark, norm, lines_dir, key_masks)
            stats["spark_queries"] += 1
            stats["lines_write_seconds"] = round(time.monotonic() - t0, 3)
            mapping = None
            if mine:
                # Mined before the aggregation, which reads an error line's pattern
                # as its error type.
                t1 = time.monotonic()
                span = (written.first_ts, written.last_ts)
                mined = pattern_keys.mine_patterns(spark, lines_dir, span, options, stats)
                mapping = str(Path(lines_dir) / pattern_keys.MAPPING_DIR)
                stats["patterns_seconds"] = round(time.monotonic() - t1, 3)
            error_types = pattern_keys.inline_error_types(mined.mapping) if mined is not None else None
            source = lines.read(spark, lines_dir, mapping, options.error_levels, error_types)
        output = assemble(result_rows(source, options, stats), reports, options, stats, file_ids)
        if mined is not None:
            output.patterns = mined.document
            output.patterns_mapping = pattern_keys.MAPPING_DIR
        if lines_dir:
            output.lines = lines.manifest(spark, lines_dir, written.starts, file_ids, skipped.result())
    except TimestampRecheck:
        raise  # for analyze() to run again, not an analysis error
    except Exception as exc:
        raise spark_error(exc) from exc
    finally:
        if tag:
            spark.removeTag(tag)
        spark.removeProgressHandler(handler)
        if skipped is not None:
            skipped.result()
    stats["query_seconds"] = round(time.monotonic() - t0, 3)
    _report(progress, "Assembling results", QUERY_END + 2)
    return output
