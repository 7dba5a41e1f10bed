"""Everything that talks to Spark. Imports nothing from Django: it takes paths and
options and returns plain typed results.

    spark_client/            what crosses the boundary, no pyspark: types, errors, rows
    spark_client/engine/     files in, AnalysisOutput out (detect, parse, normalise,
                             aggregate, finish, decode): the worker's side
    spark_client/server/     sessions, the local server and a standalone cluster, the
                             server's driver program and its warm-up

Importing this package, or `types`, `errors` and `rows`, loads no pyspark: pages,
forms and the API read them in the web process.
"""

from spark_client.errors import (
    InputFileError,
    NoUsableInputError,
    SparkClientError,
    SparkConnectionLostError,
    SparkServerError,
    SparkUnavailableError,
)
from spark_client.rows import FORMAT_LABELS, FORMATS, LEVELS, OTHER
from spark_client.types import AnalysisOutput, EngineOptions, InputFile, Progress

__all__ = [
    "FORMATS",
    "FORMAT_LABELS",
    "LEVELS",
    "OTHER",
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
