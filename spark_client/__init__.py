"""Everything that talks to Spark. Imports nothing from Django: it takes paths and
options and returns plain typed results (see spark_client.types)."""

from spark_client.errors import (
    InputFileError,
    NoUsableInputError,
    SparkClientError,
    SparkConnectionLostError,
    SparkServerError,
    SparkUnavailableError,
)
from spark_client.types import FORMAT_LABELS, FORMATS, AnalysisOutput, EngineOptions, InputFile, Progress

__all__ = [
    "FORMATS",
    "FORMAT_LABELS",
    "AnalysisOutput",
    "EngineOptions",
    "InputFile",
    "InputFileError",
    "NoUsableInputError",
    "Progress",
    "SparkClientError",
    "SparkConnectionLostError",
    "SparkServerError",
    "SparkUnavailableError",
]
