"""Process trees from /proc (the supervised qcluster, the bench and the load test
rely on them) and the one web-server command line."""

import subprocess
import sys
import time

from logplatform.processes import descendants, parents, rss_kb, tree_rss_mb, web_command


def test_descendants_include_grandchildren_and_memory_adds_up():
    # A child that starts a grandchild, both sleeping.
    script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(descendants(child.pid)) < 1:
            time.sleep(0.05)
        below = descendants(child.pid)
        assert len(below) == 1
        (grandchild,) = below
        assert parents()[grandchild] == child.pid
        assert child.pid in descendants(parents()[child.pid])
        assert tree_rss_mb(child.pid) * 1024 >= rss_kb(child.pid) + rss_kb(grandchild) - 1
        assert rss_kb(grandchild) > 0
    finally:
        for pid in descendants(child.pid):
            subprocess.run(["kill", "-9", str(pid)], check=False)
        child.kill()
        child.wait()
    assert rss_kb(child.pid) == 0  # gone


def test_the_web_command_keeps_connections_longer_than_a_pause_between_pages():
    argv = web_command("127.0.0.1:8123", workers=2, threads=8, extra=("--access-logfile", "-"))
    assert argv[:4] == [sys.executable, "-m", "gunicorn", "logplatform.wsgi:application"]
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8123"
    assert argv[argv.index("--workers") + 1] == "2" and argv[argv.index("--threads") + 1] == "8"
    assert int(argv[argv.index("--keep-alive") + 1]) >= 5
    assert argv[-2:] == ["--access-logfile", "-"]


def test_the_supervisor_finds_and_stops_processes_started_after_its_last_look():
    """The qcluster supervisor is a child subreaper: a dead parent's processes are
    handed to it, also one started after its last snapshot, and it stops and reaps them."""
    script = """
import os, subprocess, sys, time
from analyses.management.commands.qcluster import orphans_stop, subreaper_become
from logplatform.processes import descendants, parents
assert subreaper_become()
middle = os.fork()
if middle == 0:  # the 'sentinel': starts a 'worker', then dies without a word
    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    os._exit(0)
os.waitpid(middle, 0)
deadline = time.monotonic() + 10
while not descendants(os.getpid()) and time.monotonic() < deadline:
    time.sleep(0.05)
orphans = descendants(os.getpid())
assert len(orphans) == 1 and parents()[next(iter(orphans))] == os.getpid(), orphans
assert orphans_stop(orphans) == 1
assert not descendants(os.getpid())  # killed and reaped: not even a zombie
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
