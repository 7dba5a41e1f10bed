"""Writes for analyses, one module per concern. Import the module you need:

- `create`: create, queue, re-run and delete analyses (pages, API, `manage.py analyze`);
- `leases`: a worker's claim on an analysis, its lease, progress, re-queue and failure;
- `execute`: run one analysis in the worker (the only one that loads spark_client's engine);
- `store`: write the engine's `AnalysisOutput` (result document, file reports, rollups);
- `reaper`: the scheduled sweep of expired leases, stranded tasks and stale uploads.

Nothing is re-exported here, so that importing one module never loads another's
dependencies: the web process must never load `execute` (pyspark).
"""
