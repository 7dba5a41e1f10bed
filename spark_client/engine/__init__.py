"""The analysis engine: files in, AnalysisOutput out, one Spark query in between.

    detect.py, layouts.py, files.py   a file's format and layout from its head (Python)
    parsers.py, patterns.py           each format's lines -> raw records (Spark)
    normalize.py                      raw records -> the normalised row (spark_client.rows)
    aggregate.py                      every result in one query over one read
    finish.py                         a small analysis's last steps, in the worker
    results.py                        the query's rows -> AnalysisOutput
    query.py                          Arrow batches, progress and errors of the query
    pipeline.py                       `analyze`: all of the above, in order

Imports pyspark: only the worker side loads it (analyses.services.execute).
"""

from spark_client.engine.pipeline import analyze

__all__ = ["analyze"]
