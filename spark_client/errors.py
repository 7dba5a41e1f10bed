"""Exceptions raised by spark_client. Messages are written for the end user."""

from __future__ import annotations


class SparkClientError(Exception):
    """Base class for everything spark_client raises on purpose."""


class SparkUnavailableError(SparkClientError):
    """The Spark Connect server cannot be reached (or went away mid-query)."""


class SparkConnectionLostError(SparkUnavailableError):
    """The server went away while a query ran (restart, crash); worth a retry."""


class SparkServerError(SparkClientError):
    """The local Spark Connect server could not be started or stopped."""


class InputFileError(SparkClientError):
    """One input file cannot be analysed; the message says why and what to do."""


class NoUsableInputError(SparkClientError):
    """None of the files of an analysis could be analysed; `reports` says why for each."""

    def __init__(self, message: str, reports: list | None = None) -> None:
        super().__init__(message)
        self.reports = reports or []
