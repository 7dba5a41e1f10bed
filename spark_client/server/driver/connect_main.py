"""The Spark Connect server's driver program, run by `spark-submit` (server.local_server).

Spark's own `SparkConnectServer` main forces per-session artifact isolation, which
gives every Spark Connect session its own class loader. The generated-code cache
is keyed by class loader, so under it every new session (each qcluster worker, each
reconnect) would compile the whole analysis query again and run the new classes
interpreted until HotSpot caught up: a new session's first large analysis would
take far longer than a warm one, and warming the server at start would help only
the warm-up's own session.

This main does what Spark's does (create the session, then start the Connect
service on its SparkContext, so the port answers only once sessions can be
served) with artifact isolation off: sessions share compiled code, so the
server's warm-up serves every later session. The platform never adds artifacts
(jars, classes, Python UDFs), so there is nothing to isolate, and the server
serves this platform only (loopback, or a token).

Only the standard library and pyspark: this runs in the driver's Python, not Django,
as a script (this directory holds nothing else for it to import by mistake).
"""

from __future__ import annotations

import os
import signal
import threading

# A process that used a Spark Connect client (a test run, a worker) marks its
# environment for Connect mode, and this driver inherits it: it must be classic.
for _name in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE", "SPARK_API_MODE"):
    os.environ.pop(_name, None)

from pyspark.sql import SparkSession  # noqa: E402 - after the environment is cleaned

SHARED_CODE_CONF = {
    "spark.sql.artifact.isolation.enabled": "false",
    "spark.sql.artifact.isolation.alwaysApplyClassloader": "false",
}


def main() -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    builder = SparkSession.builder
    for key, value in SHARED_CODE_CONF.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    service = spark.sparkContext._jvm.org.apache.spark.sql.connect.service.SparkConnectService
    service.start(spark.sparkContext._jsc.sc())
    print("Spark Connect server started", flush=True)
    try:
        stop.wait()
    finally:
        service.stop()
        spark.stop()


if __name__ == "__main__":
    main()
