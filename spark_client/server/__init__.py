"""The Spark Connect server side of spark_client.

    local_server.py   the local server's lifecycle: spark-submit of driver/connect_main.py,
                      bound to loopback (or a token), a pid file, start/stop/status/kill
    cluster.py        a Spark standalone cluster on this machine, with a Connect server
    session.py        Spark Connect sessions: connect, one per process, health, interrupt
    warm_up.py        the analyses that warm a fresh server, with the analyses' options
    driver/           the server's driver program, run as a script by spark-submit

Importing local_server, cluster and session loads no pyspark (a session imports it as
it connects); warm_up loads the engine.
"""
