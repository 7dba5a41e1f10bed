"""One Lines request's Spark calls: this process's session, a tag of its own, and
a watcher thread that interrupts the tag at the deadline or as soon as the
client's connection closes; Spark's failures told apart for the client."""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from analyses.lines.source import (
    ClientGone,
    LinesError,
    LinesNotAvailable,
    LinesTimeout,
    LinesUnavailable,
)
from spark_client.errors import SparkUnavailableError
from spark_client.lines_filter import LinesFilterError

logger = logging.getLogger(__name__)

# How often the watcher looks at the deadline and at the client's socket.
WATCH_SECONDS = 0.1
CONNECTION_LOST = ("UNAVAILABLE", "SESSION_CHANGED", "NO_SUCH_SESSION", "INVALID_HANDLE")


def timeout(name: str) -> float:
    """`lines.<name>` from config.yaml, in seconds; 0 means none."""
    return float(settings.LOGPLATFORM["lines"][name])


def peer_closed(sock: socket.socket) -> bool:
    """Whether the other end of the client's connection has closed it."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except (OSError, ValueError):  # reset by the peer, or already closed on our side
        return True


def _session() -> Any:
    """This process's Spark Connect session for Lines (one per process, made again
    after the server restarted), with the analyses' session conf (config.yaml), on a
    channel that does not read megabytes ahead of a slow export's client."""
    from analyses.engine_config import spark_session

    try:
        return spark_session(streaming=True)
    except SparkUnavailableError as exc:
        raise LinesUnavailable(
            "The Spark server is not reachable, so lines cannot be searched now; try again in a "
            "minute, or ask an administrator to start it."
        ) from exc


def _forget_session() -> None:
    from analyses.engine_config import forget_spark_session

    forget_spark_session()


class Guard:
    """The Spark calls of one request, as `with Guard(...) as g: query(g.spark)`,
    or `start()` ... `stop()` around a stream.

    The client's socket is gunicorn's (`gunicorn.socket`); the development server
    and the test client have none, and there only the deadline applies. pyspark
    keeps tags per thread and sends them when an operation starts, so the tag is
    added and removed in the request's thread around the call that starts one;
    interrupting it works from any thread.
    """

    def __init__(self, *, analysis_id: int, request: HttpRequest, seconds: float) -> None:
        self.tag = f"lines-{analysis_id}-{uuid.uuid4().hex}"
        self.socket = request.META.get("gunicorn.socket")
        self.seconds = seconds
        self.reason = ""  # why it is interrupted: "timeout" or "client"
        self.interrupted = False
        self.done = threading.Event()
        self.spark: Any = None

    def start(self) -> None:
        self.spark = _session()
        self.spark.addTag(self.tag)
        deadline = time.monotonic() + self.seconds if self.seconds > 0 else None
        threading.Thread(target=self._watch, args=(deadline,), name=self.tag, daemon=True).start()

    def untag(self) -> None:
        """Later operations of this thread are not this request's."""
        try:
            self.spark.removeTag(self.tag)
        except Exception:  # noqa: S110 - not among this thread's tags: nothing to remove
            pass

    def stop(self) -> None:
        self.done.set()
        self.untag()

    def __enter__(self) -> Guard:
        self.start()
        return self

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: Any) -> None:
        self.stop()
        if isinstance(exc, Exception) and not isinstance(exc, LinesError | LinesFilterError):
            raise self.translate(exc) from exc

    def _watch(self, deadline: float | None) -> None:
        while not self.done.wait(WATCH_SECONDS):
            if not self.reason:
                if deadline is not None and time.monotonic() >= deadline:
                    self.reason = "timeout"
                elif self.socket is not None and peer_closed(self.socket):
                    self.reason = "client"
            if self.reason:
                # Again at every turn until the request ends: an operation that
                # started after the first interruption is stopped too.
                self.interrupt(self.reason)

    def interrupt(self, reason: str) -> None:
        """Stop every operation under the tag (for `reason`: "timeout" or "client")."""
        if self.spark is None:
            return
        first = not self.interrupted
        self.reason = self.reason or reason
        self.interrupted = True
        try:
            stopped = self.spark.interruptTag(self.tag)
        except Exception as exc:  # the server may be gone; then nothing of ours runs there
            logger.warning("could not interrupt Lines query %s: %s", self.tag, exc)
            return
        if first or stopped:
            why = "its client went away" if self.reason == "client" else "it reached its time limit"
            logger.info("Lines query %s interrupted (%d operation(s)): %s", self.tag, len(stopped), why)

    def translate(self, exc: BaseException) -> Exception:
        """What a failed Spark call means for the client."""
        if self.reason == "client":
            return ClientGone(self.tag)
        if self.reason == "timeout":
            return LinesTimeout(
                "The search took longer than this server allows and was stopped; narrow the "
                "filters (a shorter time range, fewer levels or services, a longer search text) "
                "and try again."
            )
        text = str(exc)
        if "PatternSyntaxException" in text:
            detail = text.split("PatternSyntaxException:", 1)[1].strip().splitlines()[0]
            return LinesFilterError({"q": [f"This is not a valid regular expression: {detail[:200]}"]})
        if "PATH_NOT_FOUND" in text:
            return LinesNotAvailable(
                "The stored lines of this analysis are gone; re-run it to browse its lines."
            )
        lowered = text.lower()
        if (
            isinstance(exc, SparkUnavailableError)
            or any(sign in text for sign in CONNECTION_LOST)
            or any(sign in lowered for sign in ("failed to connect", "connection refused", "socket closed"))
        ):
            _forget_session()
            return LinesUnavailable(
                "The Spark server did not answer the search; try again in a minute, or ask an "
                "administrator to check that it runs."
            )
        logger.error("Lines query %s failed", self.tag, exc_info=exc)
        return LinesUnavailable("Spark could not answer this search; the error was logged.")
