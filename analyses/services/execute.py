"""Run one analysis in the worker: claim it, send it to Spark, store the results.

The only service module that imports spark_client's engine (and so pyspark): the
worker task loads it; the web process never does.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from analyses import engine_config, faults
from analyses.alerting import alerts_evaluate
from analyses.models import Analysis, AnalysisFile
from analyses.services.leases import (
    LeaseHeartbeat,
    LostClaim,
    analysis_claim,
    analysis_fail,
    analysis_progress,
    analysis_requeue,
    claim_owned,
    worker_settings,
)
from analyses.services.lines_files import (
    lines_enabled,
    lines_run_dir,
    lines_run_path,
    lines_run_remove,
    lines_runs_remove,
)
from analyses.services.store import results_store
from spark_client import NoUsableInputError, SparkConnectionLostError, SparkUnavailableError
from spark_client.engine import analyze
from spark_client.types import FileReport

logger = logging.getLogger(__name__)


def analysis_execute(*, analysis_id: int) -> str:
    """Run one analysis end to end in this process (the worker task's body).

    Returns what happened, for the task's log: "not claimed", "succeeded",
    "failed", "requeued" or "lost". Never raises for a problem of the analysis;
    those end in status failed.
    """
    claim = analysis_claim(analysis_id=analysis_id)
    if claim is None:
        logger.info("analysis %s: nothing to claim (done, running elsewhere, or given up)", analysis_id)
        return "not claimed"
    heartbeat = LeaseHeartbeat(claim)
    heartbeat.start()
    started = time.monotonic()
    # This attempt's own run directory for the stored lines: named by its claim, so
    # the reaper can tell the running attempt's directory from a dead one's.
    lines_dir = lines_run_dir(analysis_id=analysis_id, run=claim.token) if lines_enabled() else None
    stored_lines = False
    try:
        analysis = Analysis.objects.select_related("team").get(pk=analysis_id)
        files = list(analysis.files.all())
        # Before connecting: a stored path outside the storage root fails here, unread.
        inputs = engine_config.input_files(files)
        faults.maybe_crash(analysis)
        # A Spark server that is restarting gets `spark.reconnect_wait_seconds` to come back.
        spark = engine_config.spark_session(wait=True)
        tag = engine_config.spark_tag(analysis_id)
        if claim.attempt > 1 and claim.previous_session_id and claim.previous_session_id != spark.session_id:
            # A dead worker's query may still run on the server: stop it first.
            stopped = engine_config.interrupt_previous(claim.previous_session_id, tag)
            logger.info(
                "analysis %s attempt %d: previous Spark session %s, %d operation(s) interrupted",
                analysis_id,
                claim.attempt,
                claim.previous_session_id,
                len(stopped),
            )
            if stopped:
                logger.warning(
                    "analysis %s: interrupted %d orphaned Spark operation(s) of the previous attempt: %s",
                    analysis_id,
                    len(stopped),
                    ", ".join(stopped),
                )
        claim_owned(claim).update(spark_session_id=spark.session_id)
        connected = time.monotonic()
        output = analyze(
            spark,
            inputs,
            engine_config.engine_options(analysis),
            progress=lambda p: analysis_progress(claim=claim, stage=p.stage, percent=p.percent),
            tag=tag,
            lines_dir=str(lines_dir) if lines_dir is not None else None,
        )
        analysed = time.monotonic()
        analysis_progress(claim=claim, stage="Storing results", percent=94)
        document = results_store(
            claim=claim,
            analysis=analysis,
            output=output,
            lines_path=lines_run_path(analysis_id=analysis_id, run=claim.token) if lines_dir else None,
        )
        stored_lines = "lines" in document
        # The document names this run now: earlier attempts' runs are garbage.
        lines_runs_remove(analysis_id=analysis_id, keep=claim.token if stored_lines else None)
        stored = time.monotonic()
        _evaluate_alerts(analysis=analysis, document=document)
        logger.info(
            "analysis %s succeeded in %.2fs (session %.2fs, detect %.2fs, Spark %.2fs, store %.2fs, "
            "alerts %.2fs): %s rows, %s errors",
            analysis_id,
            time.monotonic() - started,
            connected - started,
            output.stats["detect_seconds"],
            output.stats["query_seconds"],
            stored - analysed,
            time.monotonic() - stored,
            output.summary["total_logs"],
            output.summary["error_count"],
        )
        return "succeeded"
    except LostClaim:
        logger.warning("analysis %s: lease lost to another attempt; dropping this one", analysis_id)
        return "lost"
    except SparkConnectionLostError as exc:
        engine_config.forget_spark_session()
        if claim.attempt < worker_settings()["max_attempts"] and analysis_requeue(
            claim=claim, reason=str(exc)
        ):
            return "requeued"
        analysis_fail(claim=claim, message=str(exc))
        return "failed"
    except SparkUnavailableError as exc:
        engine_config.forget_spark_session()
        analysis_fail(claim=claim, message=str(exc))
        return "failed"
    except NoUsableInputError as exc:
        _file_errors_record(analysis_id=analysis_id, reports=exc.reports)
        analysis_fail(claim=claim, message=str(exc))
        return "failed"
    except Exception as exc:
        logger.exception("analysis %s failed", analysis_id)
        analysis_fail(claim=claim, message=_user_message(exc))
        return "failed"
    finally:
        heartbeat.stop()
        if lines_dir is not None and not stored_lines:
            # Nothing names what this attempt wrote: a retry writes its own.
            lines_run_remove(analysis_id=analysis_id, run=claim.token)


def _evaluate_alerts(*, analysis: Analysis, document: dict[str, Any]) -> None:
    """Alerts never fail an analysis that succeeded."""
    try:
        alerts_evaluate(analysis=analysis, document=document)
    except Exception:
        logger.exception("alert evaluation for analysis %s failed", analysis.pk)


def _user_message(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"The analysis failed: {text[:1000]}"


def _file_errors_record(*, analysis_id: int, reports: list[FileReport]) -> None:
    for report in reports:
        AnalysisFile.objects.filter(pk=report.file_id, analysis_id=analysis_id).update(
            error=report.error or "", detected_format=report.format or ""
        )
