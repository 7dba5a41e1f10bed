"""`manage.py qcluster`: django-q2's cluster, supervised so that it outlives a
database outage.

django-q2's `Cluster.start()` waits, with no time limit, for its sentinel process
to report ready. When the database is unreachable while the sentinel starts (a
PostgreSQL restart, a failover), the sentinel dies in its constructor and the
cluster hangs for good: the process is alive, no task is ever taken. This
command, which replaces django-q2's own (the `analyses` app comes first in
INSTALLED_APPS), waits for the database, starts the cluster, and starts a new
one whenever the sentinel ends for any reason but a stop signal. Tasks a dead
sentinel had pulled are recovered by the lease reaper (analyses.services.reaper).

The command makes itself a child subreaper (Linux): the processes of a killed
sentinel are handed to it rather than to init, so it finds and stops all of them,
also those started after its last look at the sentinel's process tree.

`--cluster notifications` runs the cluster that sends alert notifications (its
own queue, settings.Q_CLUSTER["ALT_CLUSTERS"]); analyses never run there and
notifications never run on the analyses cluster. django-q2 reads the cluster's
name from the environment (Q_CLUSTER_NAME) when it is first imported, so the
option starts the command again with that variable set.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import time
from multiprocessing import Event, Process
from uuid import uuid4

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, connections
from django_q.cluster import Cluster, Sentinel

from logplatform.processes import descendants

logger = logging.getLogger("analyses.worker")

RESTART_DELAY_SECONDS = 3.0
DATABASE_WAIT_MAX_DELAY_SECONDS = 10.0
PR_SET_CHILD_SUBREAPER = 36


class SupervisedCluster(Cluster):
    """A `Cluster` whose start gives up when the sentinel dies before it is ready,
    and which remembers whether it was asked to stop."""

    stop_requested = False

    def start(self) -> bool:  # type: ignore[override]
        connections.close_all()  # the sentinel is forked: no shared connection
        self.stop_event = Event()
        self.start_event = Event()
        self.sentinel = Process(
            target=Sentinel,
            name=f"Process-{uuid4().hex}",
            args=(self.stop_event, self.start_event, self.cluster_id, self.broker, self.timeout),
        )
        self.sentinel.start()
        logger.info("Q Cluster %s starting.", self.name)
        while not self.start_event.is_set():
            if not self.sentinel.is_alive():
                return False
            time.sleep(0.1)
        return True

    def sig_handler(self, signum, frame) -> None:  # noqa: ANN001
        self.stop_requested = True
        super().sig_handler(signum, frame)


def subreaper_become() -> bool:
    """Have orphaned descendants reparented to this process (Linux prctl); False elsewhere."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def orphans_stop(pids: set[int]) -> int:
    """SIGKILL what a dead sentinel left behind (its workers would keep taking tasks),
    and reap those that were handed to us so that none stays a zombie."""
    stopped = 0
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            stopped += 1
        except ProcessLookupError:
            pass
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass  # not ours: init reaps it
    return stopped


def database_wait() -> None:
    """Return once the default database accepts a connection, retrying with back-off."""
    delay = 1.0
    while True:
        try:
            connections["default"].ensure_connection()
            connections.close_all()
            return
        except OperationalError as exc:
            connections.close_all()
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            logger.warning("database unreachable (%s); the worker retries in %.0fs", reason, delay)
            time.sleep(delay)
            delay = min(delay * 2, DATABASE_WAIT_MAX_DELAY_SECONDS)


def cluster_name_select(requested: str) -> str:
    """The cluster this process runs: `requested`, else Q_CLUSTER_NAME, else the
    analyses cluster. Re-executes the command when django-q2 was loaded for another."""
    default = settings.Q_CLUSTER["name"]
    known = [default, *settings.Q_CLUSTER.get("ALT_CLUSTERS", {})]
    current = os.environ.get("Q_CLUSTER_NAME") or default
    wanted = requested or current
    if wanted not in known:
        raise CommandError(f"Unknown cluster {wanted!r}; choose one of: {', '.join(known)}.")
    if wanted != current:
        if sys.argv[1:2] != ["qcluster"]:
            raise CommandError(f"Set Q_CLUSTER_NAME={wanted} in the environment to run that cluster.")
        env = {**os.environ, "Q_CLUSTER_NAME": wanted}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)  # noqa: S606 - this command again
    return wanted


class Command(BaseCommand):
    help = (
        "Start a django-q2 cluster (the analysis workers, or with --cluster notifications the "
        "notification senders), restarted if it dies, e.g. in a database outage."
    )

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--run-once", action="store_true", help="Start the cluster, then stop it.")
        parser.add_argument(
            "--cluster",
            default="",
            help="Which cluster: the analyses' (default) or 'notifications' (alert e-mails and webhooks).",
        )

    def handle(self, *args, **options) -> None:
        cluster_name = cluster_name_select(options["cluster"])
        logger.info("starting the %s cluster", cluster_name)
        subreaper = subreaper_become()
        while True:
            database_wait()
            cluster = SupervisedCluster()
            if cluster.start():
                if options["run_once"]:
                    cluster.stop()
                    return
                # Remember the sentinel's processes: if it is killed, they are orphaned.
                processes: set[int] = set()
                while cluster.sentinel.is_alive():
                    processes = descendants(cluster.sentinel.pid) or processes
                    time.sleep(1.0)
                if cluster.stop_requested:
                    return
                if subreaper:  # the sentinel's processes are now ours, and only they
                    processes |= descendants(os.getpid())
                logger.error(
                    "the django-q sentinel exited (code %s); stopped %d of its processes; "
                    "starting a new cluster in %.0fs",
                    cluster.sentinel.exitcode,
                    orphans_stop(processes),
                    RESTART_DELAY_SECONDS,
                )
            elif cluster.stop_requested:
                return
            else:
                logger.error(
                    "the django-q cluster died while starting (code %s), most likely because the "
                    "database went away; starting a new one in %.0fs",
                    cluster.sentinel.exitcode,
                    RESTART_DELAY_SECONDS,
                )
            time.sleep(RESTART_DELAY_SECONDS)
