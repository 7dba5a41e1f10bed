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
