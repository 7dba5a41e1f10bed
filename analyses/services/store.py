"""Store what the engine produced: the result document, the files' reports and the rollups.

The contract with the engine is `spark_client.types.AnalysisOutput` (plain values
and Arrow rollups; no Spark objects), so this module never loads pyspark.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from analyses.models import (
    Analysis,
    AnalysisFile,
    AnalysisResult,
    RollupErrorType,
    RollupIp,
    RollupService,
    Status,
)
from analyses.services.leases import Claim, LostClaim, claim_owned, db_retry
from spark_client.types import AnalysisOutput, FileReport

if TYPE_CHECKING:
    import pyarrow as pa


def results_store(
    *, claim: Claim, analysis: Analysis, output: AnalysisOutput, lines_path: str | None = None
) -> dict[str, Any]:
    """Write the result set once: replace any earlier set, then mark succeeded.

    One transaction, conditional on still owning the claim, so a retried or
    duplicated attempt can never leave two result sets or a half-written one.
    `lines_path` is where this attempt stored its lines (relative to the storage
    root): the document names it under `lines` (spark_client.lines_layout), in the
    same transaction, so the document always names the run that goes with it.
    Returns the stored result document.
    """
    document = {
        "summary": output.summary,
        "files": [f.as_dict() for f in output.files],
        "tables": output.tables,
        "trend_bucket_seconds": output.trend_bucket_seconds,
        "stats": output.stats,
    }
    if output.lines is not None and lines_path is not None:
        document["lines"] = output.lines.as_document(lines_path)
        if output.patterns_mapping is not None:
            # The key -> pattern mapping the Lines queries join (engine.pattern_keys).
            document["lines"]["patterns"] = f"{lines_path}/{output.patterns_mapping}"
    if output.patterns is not None:
        document["patterns"] = output.patterns
    by_id = {f.file_id: f for f in output.files}
    db_retry(
        lambda: _results_write(claim=claim, analysis=analysis, output=output, by_id=by_id, document=document)
    )
    return document


def _results_write(
    *,
    claim: Claim,
    analysis: Analysis,
    output: AnalysisOutput,
    by_id: dict[int, FileReport],
    document: dict[str, Any],
) -> None:
    summary = output.summary
    with transaction.atomic():
        locked = claim_owned(claim).select_for_update().first()
        if locked is None:
            raise LostClaim()
        AnalysisResult.objects.filter(analysis_id=analysis.pk).delete()
        for model in (RollupService, RollupErrorType, RollupIp):
            model.objects.filter(analysis_id=analysis.pk).delete()
        AnalysisResult.objects.create(analysis_id=analysis.pk, document=document)
        _rollups_insert(analysis.pk, output)
        for f in AnalysisFile.objects.filter(analysis_id=analysis.pk):
            report = by_id.get(f.pk)
            if report is None:
                continue
            f.detected_format = report.format or ""
            f.rows = report.rows if not report.error else None
            f.unparsed_lines = report.unparsed_lines if not report.error else None
            f.error = report.error or ""
            f.save(update_fields=["detected_format", "rows", "unparsed_lines", "error"])
        claim_owned(claim).update(
            status=Status.SUCCEEDED,
            finished_at=timezone.now(),
            stage="Done",
            progress=100,
            claim_token="",
            lease_expires_at=None,
            total_rows=summary["total_logs"],
            error_rows=summary["error_count"],
            error_rate=summary["error_rate"],
            unparsed_lines=summary["unparsed_lines"],
        )


def _rollups_insert(analysis_id: int, output: AnalysisOutput) -> None:
    """The three rollups in bulk, inside the caller's transaction.

    A large analysis has 10^5 rollup rows. On PostgreSQL they go in with COPY
    (psycopg 3), each Arrow batch of the rollup written as CSV by Arrow's own
    writer: no Python object per row or value, so neither time nor the worker's
    memory grows with a Python object per row. Other databases use bulk_create.
    """
    rollups = (
        (RollupService, ("hour", "level", "service"), output.rollup_service),
        (RollupErrorType, ("hour", "level", "service", "error_type"), output.rollup_error_type),
        (RollupIp, ("hour", "level", "service", "ip"), output.rollup_ip),
    )
    if connection.vendor != "postgresql":
        for model, fields, rows in rollups:
            model.objects.bulk_create(
                (
                    model(
                        analysis_id=analysis_id,
                        **{f: r[f] or "" for f in fields[1:]},
                        hour=_parse_hour(r["hour"]),
                        count=r["count"],
                    )
                    for r in rows
                ),
                batch_size=5000,
            )
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model, fields, rollup in rollups:
            names = ("analysis", *fields, "count")
            columns = ", ".join(quote(model._meta.get_field(f).column) for f in names)
            sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN WITH (FORMAT csv)"
            with cursor.cursor.copy(sql) as copy:
                for batch in rollup.batches(50_000):
                    copy.write(_copy_csv(analysis_id, batch, fields))


def _parse_hour(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _copy_csv(analysis_id: int, batch: pa.RecordBatch, fields: tuple[str, ...]) -> bytes:
    """One batch as COPY CSV lines: analysis id, hour with its zone, the text keys
    ('' for none: the columns are NOT NULL), count.

    Arrow's writer quotes every string, so an empty key is `""` (an empty string
    to PostgreSQL) while a missing hour stays an unquoted empty field (NULL).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    columns = [
        pa.repeat(pa.scalar(analysis_id, pa.int64()), batch.num_rows),
        pc.binary_join_element_wise(batch["hour"].cast(pa.string()), "+00", ""),
        *(pc.fill_null(batch[f].cast(pa.string()), "") for f in fields[1:]),
        batch["count"],
    ]
    sink = pa.BufferOutputStream()
    pcsv.write_csv(
        pa.record_batch(columns, names=[f"c{i}" for i in range(len(columns))]),
        sink,
        pcsv.WriteOptions(include_header=False, quoting_style="needed"),
    )
    return sink.getvalue().to_pybytes()
