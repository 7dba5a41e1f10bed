"""A real qcluster process takes uploads to stored results through real Spark."""

import os
import signal
from collections.abc import Callable, Iterator

import pytest
from django.db import connection
from django.urls import reverse

from analyses.models import Analysis, AnalysisResult, Status
from logplatform.processes import descendants, parents, wait_until
from tests.analyses.helpers import upload
from tests.logdata import make_events, pattern_types, reference, render_csv

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

# Every write to an analysis row, recorded by the database itself (the fixture below).
RECORD = (
    "INSERT INTO test_analysis_writes (analysis_id, status, stage, progress)"
    " VALUES (NEW.id, NEW.status, NEW.stage, NEW.progress);"
)
WRITES_SETUP = {
    "postgresql": [
        "CREATE TABLE test_analysis_writes (seq BIGSERIAL PRIMARY KEY, analysis_id BIGINT, status TEXT,"
        " stage TEXT, progress INT)",
        "CREATE FUNCTION test_analysis_writes_record() RETURNS trigger AS $$ BEGIN "
        + RECORD
        + " RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER test_analysis_writes_record AFTER INSERT OR UPDATE ON analyses_analysis"
        " FOR EACH ROW EXECUTE FUNCTION test_analysis_writes_record()",
    ],
    "sqlite": [
        "CREATE TABLE test_analysis_writes (seq INTEGER PRIMARY KEY AUTOINCREMENT, analysis_id BIGINT,"
        " status TEXT, stage TEXT, progress INT)",
        "CREATE TRIGGER test_analysis_writes_insert AFTER INSERT ON analyses_analysis BEGIN "
        + RECORD
        + " END",
        "CREATE TRIGGER test_analysis_writes_update AFTER UPDATE ON analyses_analysis BEGIN "
        + RECORD
        + " END",
    ],
}
WRITES_TEARDOWN = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS test_analysis_writes_record ON analyses_analysis",
        "DROP FUNCTION IF EXISTS test_analysis_writes_record()",
        "DROP TABLE IF EXISTS test_analysis_writes",
    ],
    "sqlite": [
        "DROP TRIGGER IF EXISTS test_analysis_writes_insert",
        "DROP TRIGGER IF EXISTS test_analysis_writes_update",
        "DROP TABLE IF EXISTS test_analysis_writes",
    ],
}


def wait_for_terminal(analysis_id: int, timeout: float = 180) -> Analysis:
    def terminal() -> Analysis | None:
        analysis = Analysis.objects.get(pk=analysis_id)
        return analysis if analysis.is_terminal else None

    return wait_until(
        terminal,
        timeout=timeout,
        interval=0.3,
        message=lambda: f"analysis {analysis_id} to end; it is now "
        f"{Analysis.objects.filter(pk=analysis_id).values('status', 'stage', 'progress').first()}",
    )


@pytest.fixture
def analysis_writes(transactional_db) -> Iterator[Callable[[int], list[tuple[str, str, int]]]]:
    """analysis_writes(id) -> every (status, stage, progress) written to that analysis's
    row, in order, by any process: a trigger records each write as the database makes
    it, so a state the worker passes through quickly cannot slip between two polls."""
    assert Analysis._meta.db_table == "analyses_analysis"
    with connection.cursor() as cursor:
        for statement in WRITES_SETUP[connection.vendor]:
            cursor.execute(statement)

    def writes(analysis_id: int) -> list[tuple[str, str, int]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT status, stage, progress FROM test_analysis_writes WHERE analysis_id = %s ORDER BY seq",
                [analysis_id],
            )
            return [tuple(row) for row in cursor.fetchall()]

    try:
        yield writes
    finally:
        with connection.cursor() as cursor:
            for statement in WRITES_TEARDOWN[connection.vendor]:
                cursor.execute(statement)


def stages(writes: list[tuple[str, str, int]]) -> list[str]:
    """The statuses the row went through, each run of equal ones counted once."""
    seen: list[str] = []
    for status, _, _ in writes:
        if not seen or seen[-1] != status:
            seen.append(status)
    return seen


def test_qcluster_analyses_two_uploaded_files(client_for, bob, qcluster, analysis_writes):
    first, second = make_events(400, seed=21), make_events(300, seed=22)
    response = client_for(bob).post(
        reverse("analyses:upload"),
        {"files": [upload("a.csv", render_csv(first)), upload("b.csv", render_csv(second))]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 202

    analysis = wait_for_terminal(response.json()["id"])

    assert analysis.status == Status.SUCCEEDED, (analysis.error, qcluster.output()[-3000:])
    assert analysis.attempts == 1
    # The worker marked it running and reported its progress before it stored the result.
    writes = analysis_writes(analysis.pk)
    assert stages(writes) == [Status.QUEUED, Status.RUNNING, Status.SUCCEEDED], writes
    assert any(status == Status.RUNNING and 0 < progress < 100 for status, _, progress in writes), writes
    assert analysis.started_at < analysis.finished_at
    document = AnalysisResult.objects.get(analysis=analysis).document
    assert document["summary"] == reference(pattern_types(first + second))["summary"]
    status = client_for(bob).get(reverse("analyses:status", args=[analysis.pk])).json()
    assert status == {
        "id": analysis.pk,
        "status": "succeeded",
        "stage": "Done",
        "progress": 100,
        "error": None,
        "terminal": True,
    }


def _wait_log(proc, text: str, count: int, timeout: float = 60) -> None:  # noqa: ANN001
    wait_until(
        lambda: proc.output().count(text) >= count,
        timeout=timeout,
        message=lambda: f"{text!r} {count} time(s) in the log:\n{proc.output()[-3000:]}",
    )


def test_a_killed_sentinel_is_replaced_and_its_processes_stopped(client_for, bob, qcluster):
    """django-q2 alone leaves a qcluster without its sentinel alive and idle forever;
    ours stops what the dead sentinel left and starts a new cluster that takes work."""
    _wait_log(qcluster, "running.", 1)
    main = qcluster.proc.pid
    family = parents()
    sentinel = next(p for p in descendants(main) if family.get(p) == main)
    old = descendants(sentinel)
    assert len(old) >= 4  # two workers, the monitor and the pusher

    os.kill(sentinel, signal.SIGKILL)
    _wait_log(qcluster, "the django-q sentinel exited", 1)
    _wait_log(qcluster, "running.", 2)
    assert f"stopped {len(old)} of its processes" in qcluster.output()
    assert not (old & descendants(main)), "processes of the dead sentinel still run"

    response = client_for(bob).post(
        reverse("analyses:upload"),
        {"files": [upload("after.csv", render_csv(make_events(200, seed=23)))]},
        HTTP_ACCEPT="application/json",
    )
    analysis = wait_for_terminal(response.json()["id"])
    assert analysis.status == Status.SUCCEEDED, (analysis.error, qcluster.output()[-3000:])
    assert analysis.attempts == 1
