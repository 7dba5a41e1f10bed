"""Rollups go from Arrow columns to the database unchanged, whatever their text holds."""

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from analyses.models import Analysis, RollupErrorType, RollupIp, RollupService, Status
from analyses.services import store
from analyses.services.create import analysis_delete
from analyses.services.leases import LostClaim, analysis_claim
from analyses.services.store import results_store
from spark_client.types import AnalysisOutput, Rollup
from tests.analyses.helpers import make_analysis

pytestmark = pytest.mark.django_db

# Text a COPY line could trip over: delimiters, quotes, escapes, line breaks, NUL-free unicode.
AWKWARD = ["a,b", 'say "hi"', "back\\slash", "tab\there", "line\nbreak\r\n", "", "ünïcödé ✓", "\\N", "NULL"]


def _output(rows: int) -> AnalysisOutput:
    hours = [None if i % 7 == 0 else f"2024-03-{1 + i % 28:02d}T{i % 24:02d}:00:00" for i in range(rows)]
    services_ = [None if i % 5 == 0 else AWKWARD[i % len(AWKWARD)] for i in range(rows)]
    levels = ["ERROR" if i % 2 else "CRITICAL" for i in range(rows)]
    counts = list(range(1, rows + 1))
    keys = [f"k{i}-{AWKWARD[i % len(AWKWARD)]}" for i in range(rows)]

    def rollup(**extra):
        return Rollup(
            pa.table(
                {
                    "hour": hours,
                    "level": levels,
                    "service": services_,
                    **extra,
                    "count": pa.array(counts, pa.int64()),
                }
            )
        )

    return AnalysisOutput(
        summary={
            "total_logs": sum(counts),
            "error_count": sum(counts),
            "error_rate": 1.0,
            "unparsed_lines": 0,
        },
        files=[],
        tables={},
        rollup_service=rollup(),
        rollup_error_type=rollup(error_type=keys),
        rollup_ip=rollup(ip=[k[:60] for k in keys]),
        trend_bucket_seconds=None,
        stats={},
    )


def _ordered(rows) -> list[tuple]:
    return sorted(rows, key=lambda row: tuple((v is None, "" if v is None else str(v)) for v in row))


def _expected(rollup: Rollup, key: str | None) -> list[tuple]:
    return _ordered(
        (
            None if r["hour"] is None else datetime.fromisoformat(r["hour"]).replace(tzinfo=UTC),
            r["level"],
            r["service"] or "",
            *([r[key]] if key else []),
            r["count"],
        )
        for r in rollup
    )


@pytest.mark.parametrize("rows", [0, 1, 60_123])
def test_rollups_are_stored_value_for_value(team_a, alice, tmp_path, rows):
    analysis = make_analysis(team_a, alice, tmp_path)
    claim = analysis_claim(analysis_id=analysis.pk)
    output = _output(rows)

    results_store(claim=claim, analysis=analysis, output=output)

    assert Analysis.objects.get(pk=analysis.pk).status == Status.SUCCEEDED
    for model, rollup, key in (
        (RollupService, output.rollup_service, None),
        (RollupErrorType, output.rollup_error_type, "error_type"),
        (RollupIp, output.rollup_ip, "ip"),
    ):
        fields = ["hour", "level", "service", *([key] if key else []), "count"]
        stored = _ordered(model.objects.filter(analysis=analysis).values_list(*fields))
        assert len(stored) == rows
        assert stored == _expected(rollup, key)


def _rollup_counts(analysis_id: int) -> list[int]:
    return [
        m.objects.filter(analysis_id=analysis_id).count() for m in (RollupService, RollupErrorType, RollupIp)
    ]


def test_deleting_an_analysis_deletes_its_rollups(team_a, alice, tmp_path):
    analysis = make_analysis(team_a, alice, tmp_path)
    kept = make_analysis(team_a, alice, tmp_path, name="b.csv")
    for a in (analysis, kept):
        results_store(claim=analysis_claim(analysis_id=a.pk), analysis=a, output=_output(40))
    assert _rollup_counts(analysis.pk) == [40, 40, 40]

    analysis_delete(analysis=analysis)

    assert _rollup_counts(analysis.pk) == [0, 0, 0]
    assert _rollup_counts(kept.pk) == [40, 40, 40]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("deleted_by", ["service", "team"])
def test_a_delete_during_a_results_write_leaves_no_orphaned_rollups(team_a, alice, tmp_path, deleted_by):
    """Rollups have no database foreign key: a delete, by the service or by a team's
    cascade, waits for the analysis row lock a results write holds, then deletes
    what the write committed."""
    import threading

    from django.db import connection, connections, transaction

    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    analysis = make_analysis(team_a, alice, tmp_path)
    writing, release = threading.Event(), threading.Event()

    def results_write() -> None:  # what store._results_write does, paused before commit
        try:
            with transaction.atomic():
                Analysis.objects.select_for_update().get(pk=analysis.pk)
                store._rollups_insert(analysis.pk, _output(30))
                writing.set()
                release.wait(30)
        finally:
            connections.close_all()

    writer = threading.Thread(target=results_write)
    writer.start()
    assert writing.wait(30)
    threading.Timer(1.0, release.set).start()  # the delete below waits for the write until then
    if deleted_by == "service":
        analysis_delete(analysis=Analysis.objects.get(pk=analysis.pk))
    else:
        team_a.delete()
    writer.join(30)

    assert not Analysis.objects.filter(pk=analysis.pk).exists()
    assert _rollup_counts(analysis.pk) == [0, 0, 0]


def test_a_results_write_after_a_delete_stores_nothing(team_a, alice, tmp_path):
    analysis = make_analysis(team_a, alice, tmp_path)
    claim = analysis_claim(analysis_id=analysis.pk)
    analysis_delete(analysis=Analysis.objects.get(pk=analysis.pk))

    with pytest.raises(LostClaim):
        results_store(claim=claim, analysis=analysis, output=_output(25))
    assert _rollup_counts(analysis.pk) == [0, 0, 0]
