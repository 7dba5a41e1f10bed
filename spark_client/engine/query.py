"""The query plumbing between the engine and a Spark Connect session: the result
rows of one analysis as Arrow batches, progress from Spark's events, and Spark's
failures told apart (the server went away, or the query itself failed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from pyspark.sql.types import StructType

from spark_client.engine.aggregate import aggregate, grouped
from spark_client.engine.finish import FinishInSpark, collect, finish
from spark_client.errors import SparkConnectionLostError, SparkUnavailableError
from spark_client.types import EngineOptions, Progress, ProgressCallback

logger = logging.getLogger(__name__)

# Share of the progress bar given to the Spark query (detection comes before it).
QUERY_START, QUERY_END = 10, 90


class QueryProgress:
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


def result_rows(norm, options: EngineOptions, stats: dict[str, Any]) -> Any:  # noqa: ANN001 - DataFrame
    """The rows `results.assemble` decodes, for the normalised rows `norm`.

    An input of at most `finish_in_worker_max_bytes` (`stats["bytes_in"]`) gets its
    grouped rows from Spark and is ranked and capped here (engine.finish), as
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
    whole plan a second time only to cast columns
    that already have the right types; `_to_table` (pinned pyspark 4.1) does not.
    """
    to_table = getattr(query, "_to_table", None)
    if to_table is None:
        return query.toArrow()
    table, _schema = to_table()
    return table


def spark_error(exc: Exception) -> Exception:
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
