"""Process trees from /proc (the supervised qcluster, the bench and the load test
rely on them), the one web-server command line and its start, and the one wait."""

import socket
import subprocess
import sys

import pytest

from logplatform.processes import (
    descendants,
    parents,
    rss_kb,
    tree_rss_mb,
    wait_until,
    web_command,
    web_start,
)


def test_descendants_include_grandchildren_and_memory_adds_up():
    # A child that starts a grandchild, both idle (sleeping is all they do).
    script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        below = wait_until(
            lambda: descendants(child.pid), timeout=10, interval=0.05, message="the grandchild"
        )
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
import os, subprocess, sys
from analyses.management.commands.qcluster import orphans_stop, subreaper_become
from logplatform.processes import descendants, parents, wait_until
assert subreaper_become()
middle = os.fork()
if middle == 0:  # the 'sentinel': starts a 'worker', then dies without a word
    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    os._exit(0)
os.waitpid(middle, 0)
orphans = wait_until(lambda: descendants(os.getpid()), timeout=10, interval=0.05, message="the orphan")
assert len(orphans) == 1 and parents()[next(iter(orphans))] == os.getpid(), orphans
assert orphans_stop(orphans) == 1
assert not descendants(os.getpid())  # killed and reaped: not even a zombie
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_wait_until_returns_the_first_truthy_value():
    values = iter([0, None, [], "ready", "later"])
    assert wait_until(lambda: next(values), timeout=5, interval=0, message="a value") == "ready"


def test_wait_until_says_what_it_waited_for_and_what_it_saw_last():
    with pytest.raises(TimeoutError) as raised:
        wait_until(lambda: [], timeout=0.2, interval=0.05, message="the analysis")
    assert "waiting for the analysis" in str(raised.value)
    assert "last seen: []" in str(raised.value)


def test_wait_until_treats_only_the_named_exceptions_as_not_yet():
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionRefusedError("starting")
        return "up"

    assert wait_until(flaky, timeout=5, interval=0, message="up", ignore=(OSError,)) == "up"
    with pytest.raises(ZeroDivisionError):
        wait_until(lambda: 1 / 0, timeout=5, interval=0, message="never", ignore=(OSError,))

    def refused() -> None:
        raise ConnectionRefusedError("still starting")

    with pytest.raises(TimeoutError, match="ConnectionRefusedError"):
        wait_until(refused, timeout=0.2, interval=0.05, message="a server", ignore=(OSError,))


def test_web_start_fails_with_gunicorns_words_when_the_port_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match="in use") as raised:
            web_start(port=port, env={"PATH": "/usr/bin:/bin"}, log=tmp_path / "web.log", wait=60)
    assert "gunicorn exited" in str(raised.value)
