"""Load test on loopback, bounded in time (issue: nothing lost, nothing leaked).

    .venv/bin/python -m loadtest.run --users 50 --seconds 300 --uploads 10 --upload-mb 300

It prepares a team, a user and a few analyses (through the real services and a
real Spark Connect server), starts its own gunicorn, and then:

* browse: N simulated users, each signed in as its own account, in a loop opening
  the history page, an analysis page, the same page with random filters, and the
  API results, with a think time of 0.5-2 s between page views (`--think`), for the
  given time. Reports requests, errors, p50/p95/p99 per kind of request.
* uploads: M parallel uploads of a generated file of the given size through the
  upload endpoint, streamed from disk; reports every status and the web process
  tree's resident memory before and at its peak during the uploads.

Results go to stdout and to artifacts/load.json. Needs DATABASE_URL (PostgreSQL
recommended) and SPARK_CONNECT_URL like the platform itself.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import requests

from bench.web import signed_in as web_signed_in
from logplatform.processes import Child, tree_rss_mb, web_start

BASE_DIR = Path(__file__).resolve().parent.parent
PASSWORD = "load-test-password-123"  # noqa: S105 - a throwaway user on a test database


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "logplatform.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def prepare(analyses: int, rows: int, users: int) -> tuple[list[str], list[int]]:
    """A team, one member per simulated user, and analysed data; returns the
    usernames and analysis ids (one account each: API rates are per user)."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from accounts import services as accounts
    from accounts.models import Team
    from analyses.services import create, execute
    from tests.logdata import make_events, render_csv

    run = uuid.uuid4().hex[:6]
    team = Team.objects.filter(slug="load").first() or accounts.team_create(name="Load", slug="load")
    usernames = [f"load-{run}-{n}" for n in range(users)]
    for username in usernames:
        user = accounts.user_create(username=username, password=PASSWORD)
        accounts.membership_create(team=team, user=user, role="member")
    ids = []
    work = BASE_DIR / "artifacts" / "load-data"
    work.mkdir(parents=True, exist_ok=True)
    for i in range(analyses):
        path = work / f"load-{i}.csv"
        path.write_text(render_csv(make_events(rows, seed=900 + i, span_hours=72)))
        analysis = create.analysis_create(
            team=team, user=None, files=[create.LocalFile(path=path, name=path.name)], enqueue=False
        )
        assert execute.analysis_execute(analysis_id=analysis.pk) == "succeeded"
        ids.append(analysis.pk)
    return usernames, ids


def start_web(port: int, workers: int) -> Child:
    """gunicorn with this process's environment, its log in artifacts/load-web.log."""
    return web_start(
        port=port,
        env=dict(os.environ),
        log=BASE_DIR / "artifacts" / "load-web.log",
        workers=workers,
        threads=8,
    )


def signed_in(url: str, username: str) -> requests.Session:
    """A browser-like session (bench.web's sign-in) with the CSRF headers uploads need."""
    session = web_signed_in(url, username, PASSWORD)
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    session.headers["Referer"] = f"{url}/analyses/upload/"
    return session


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def p(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {
        "n": len(values),
        "p50_ms": p(0.50),
        "p95_ms": p(0.95),
        "p99_ms": p(0.99),
        "mean_ms": round(statistics.mean(values) * 1000, 1),
    }


def browse(
    url: str, usernames: list[str], ids: list[int], seconds: float, think: tuple[float, float]
) -> dict:
    """Each simulated user signs in as its own account and loops over the pages,
    pausing a random think time between page views, as a person (or locust) does."""
    users = len(usernames)
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    api = requests.get(f"{url}/api/schema/", timeout=10).status_code == 200

    def user(n: int) -> None:
        rng = random.Random(n)
        session = signed_in(url, usernames[n])
        while time.monotonic() < stop:
            analysis = rng.choice(ids)
            hour = rng.randint(0, 60)
            requests_ = [
                ("history", f"{url}/analyses/", {}),
                ("analysis", f"{url}/analyses/{analysis}/", {}),
                (
                    "analysis_filtered",
                    f"{url}/analyses/{analysis}/",
                    {
                        "start": f"2024-03-{1 + hour // 24:02d}T{hour % 24:02d}:00",
                        "end": f"2024-03-{1 + (hour + 8) // 24:02d}T{(hour + 8) % 24:02d}:59",
                        "levels": rng.sample(["WARN", "ERROR", "CRITICAL"], 2),
                    },
                ),
            ]
            if api:
                requests_.append(
                    ("api_results", f"{url}/api/v1/analyses/{analysis}/results/", {"levels": "ERROR"})
                )
            for kind, target, params in requests_:
                started = time.monotonic()
                try:
                    r = session.get(target, params=params, timeout=60)
                    ok = r.status_code == 200
                    detail = f"{kind} {r.status_code}"
                except requests.RequestException as exc:
                    ok, detail = False, f"{kind} {type(exc).__name__}"
                with lock:
                    latencies[kind].append(time.monotonic() - started)
                    if not ok:
                        errors.append(detail)
                time.sleep(rng.uniform(*think))

    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "users": users,
        "seconds": seconds,
        "requests": sum(len(v) for v in latencies.values()),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:10],
        "by_kind": {k: percentiles(v) for k, v in latencies.items()},
        "all": percentiles([x for v in latencies.values() for x in v]),
    }


class Multipart:
    """A streaming multipart/form-data body (a file-like object of known length):
    the file's bytes go from disk to the socket, never all in memory."""

    def __init__(self, path: Path, name: str) -> None:
        self.boundary = uuid.uuid4().hex
        head = (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.parts = [io.BytesIO(head), path.open("rb"), io.BytesIO(tail)]
        self.length = len(head) + path.stat().st_size + len(tail)

    def __len__(self) -> int:
        return self.length

    def read(self, size: int = -1) -> bytes:
        size = 1024 * 1024 if size is None or size < 0 else size
        while self.parts:
            chunk = self.parts[0].read(size)
            if chunk:
                return chunk
            self.parts.pop(0).close()
        return b""


def uploads(url: str, username: str, count: int, size_mb: int, web_pid: int) -> dict:
    path = BASE_DIR / "artifacts" / "load-data" / f"upload-{size_mb}mb.csv"
    if not path.exists() or path.stat().st_size < size_mb * 1024 * 1024:
        from tests.logdata import make_events, render_csv

        chunk = render_csv(make_events(20_000, seed=77)).encode()
        body = chunk.split(b"\n", 1)[1]
        with path.open("wb") as fh:
            fh.write(chunk)
            while fh.tell() < size_mb * 1024 * 1024:
                fh.write(body)
    before = tree_rss_mb(web_pid)
    peak = before
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_mb(web_pid))
            time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    results: list[tuple[int, float]] = []

    def one(n: int) -> None:
        session = signed_in(url, username)
        body = Multipart(path, f"big-{n}.csv")
        started = time.monotonic()
        r = session.post(
            f"{url}/analyses/upload/",
            data=body,
            headers={
                "Content-Type": f"multipart/form-data; boundary={body.boundary}",
                "Accept": "application/json",
            },
            timeout=3600,
        )
        results.append((r.status_code, time.monotonic() - started))

    started = time.monotonic()
    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join()
    elapsed = time.monotonic() - started
    total_mb = count * path.stat().st_size / 1024**2
    return {
        "uploads": count,
        "size_mb": round(path.stat().st_size / 1024**2, 1),
        "statuses": sorted(s for s, _ in results),
        "seconds": round(elapsed, 1),
        "throughput_mb_s": round(total_mb / elapsed, 1),
        "web_rss_before_mb": round(before, 1),
        "web_rss_peak_mb": round(peak, 1),
        "web_rss_growth_mb": round(peak - before, 1),
    }


def cleanup_uploads(keep: list[int]) -> None:
    """Delete the analyses the upload run created, with their (large) files."""
    from analyses.models import Analysis
    from analyses.services import create

    for analysis in Analysis.objects.filter(team__slug="load").exclude(pk__in=keep):
        create.analysis_delete(analysis=analysis)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--analyses", type=int, default=3)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--uploads", type=int, default=10)
    parser.add_argument("--upload-mb", type=int, default=300)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(0.5, 2.0),
        metavar=("MIN", "MAX"),
        help="seconds between page views",
    )
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    django_setup()
    usernames, ids = prepare(args.analyses, args.rows, args.users)
    web = start_web(args.port, args.web_workers)
    url = f"http://127.0.0.1:{args.port}"
    report: dict = {"cores": os.cpu_count(), "analyses": ids}
    try:
        report["browse"] = browse(url, usernames, ids, args.seconds, tuple(args.think))
        print(json.dumps(report["browse"], indent=2), flush=True)
        if args.uploads:
            report["uploads"] = uploads(url, usernames[0], args.uploads, args.upload_mb, web.pid)
            print(json.dumps(report["uploads"], indent=2), flush=True)
    finally:
        web.stop()
        cleanup_uploads(ids)
    out = BASE_DIR / "artifacts" / "load.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
