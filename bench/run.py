"""`make bench`: the platform against its baselines, in one run, on one Spark server.

    .venv/bin/python -m bench --sizes 100k,1m          # or BENCH_SIZES=100k,1m,10m
    .venv/bin/python -m bench --case pathological      # the bad-line corpus only
    .venv/bin/python -m bench --case mining            # the template miner alone, no Spark

Cases (see docs/performance.md): (a) platform, queued -> succeeded through the
service and a real qcluster; (b) minimal hand-written Spark job; (c) naive one
query per report; (d) streamed upload of the largest file through gunicorn; (e)
the filtered analysis page; plus the 2 000-line upload-to-result latency, worker
memory per size and the Spark server's start and warm-up. Prints a table and
writes bench/results/<timestamp>.json. `--case pathological` instead times the
analysis of each line of bench/pathological.py's corpus, on the same kind of server;
`--case mining` times the template miner (bench/mining.py) and writes mining-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import math
import os
import platform as host
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import datagen, report
from bench.lines_cost import lines_cost
from bench.patterns_cost import patterns_cost
from bench.procs import MemoryWatch, free_port

ROOT = Path(__file__).resolve().parent
FORMATS = ("csv", "log4j")


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * factor)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES") or "100k,1m")
    parser.add_argument("--formats", default=os.environ.get("BENCH_FORMATS") or ",".join(FORMATS))
    parser.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_REPS", "5")))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--warmup",
        type=int,
        default=int(os.environ["BENCH_WARMUP"]) if os.environ.get("BENCH_WARMUP") else None,
        help="unmeasured rounds of (a), (b) and (c) per case below 5M lines (JIT warm-up; recorded "
        "as a_cold and c_cold); default: about a million lines' worth, 1 to 10 rounds",
    )
    parser.add_argument("--small-runs", type=int, default=7, help="2 000-line uploads to time")
    parser.add_argument("--page-requests", type=int, default=50)
    parser.add_argument("--no-web", action="store_true", help="skip gunicorn: upload and page cases")
    parser.add_argument("--no-naive", action="store_true", help="skip case (c)")
    parser.add_argument("--spark-url", default=os.environ.get("BENCH_SPARK_CONNECT_URL"))
    parser.add_argument(
        "--case", choices=("all", "pathological", "mining"), default=os.environ.get("BENCH_CASE", "all")
    )
    parser.add_argument(
        "--mining-distinct", type=int, default=100_000, help="mining case: synthetic distinct messages"
    )
    parser.add_argument(
        "--run-chars",
        type=int,
        default=250_000,
        help="pathological case: length of each line's run (within detection's 256 KB head)",
    )
    parser.add_argument(
        "--line-timeout",
        type=float,
        default=600,
        help="pathological case: seconds before a line's analysis is cut",
    )
    parser.add_argument("--only", default="", help="pathological case: line ids, e.g. syslog-0,access_log-0")
    return parser.parse_args()


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_kb / 1024**2, 1),
        "python": host.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def warmup_rounds(size: int, given: int | None) -> int:
    """Unmeasured rounds of a, b and c before a case is timed.

    What still warms after the server's own warm-up is per-query work (analysis,
    optimisation and code generation run in the JVM's interpreter until HotSpot
    compiles them), and an analysis is one query: one round leaves the timed runs
    of a small case still getting faster (docs/decisions.md). So a case gets about
    a million lines' worth of warm-up: 10 rounds at 100k, 1 at 1M. From 5M lines a
    run warms itself up.
    """
    if size >= 5_000_000:
        return 0
    if given is not None:
        return given
    return min(10, max(1, math.ceil(1_000_000 / size)))


def spark_start(root: Path, url: str | None) -> tuple[str, Any, dict[str, Any]]:
    """Django set up for the bench (its database, storage and Spark URL), then the
    bench's own local Spark Connect server, set up from config.yaml as the
    platform's is (analyses.engine_config.local_server_config), or a given one."""
    from bench import platform

    given = url
    url = url or f"sc://127.0.0.1:{free_port()}"
    platform.django_ready(platform.environment(root=root, spark_url=url))
    if given:
        return url, None, {"given": url}
    from analyses import engine_config
    from spark_client.server import local_server

    # The platform's server (its port from the URL), with its files under the
    # bench's directory; its warm-up is timed apart from its start.
    cfg = replace(
        engine_config.local_server_config(),
        run_dir=root / "spark",
        ui_enabled=False,
        token=None,
        name="bench-connect-server",
    )
    started = time.monotonic()
    local_server.start(replace(cfg, warm_up_options=None))
    up = time.monotonic() - started
    warm = local_server.warm(cfg)
    info = {"port": cfg.port, "start_seconds": round(up, 1), "warm_up_seconds": round(warm or 0, 1)}
    return url, cfg, info


def main() -> None:
    args = arguments()
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    root = datagen.data_dir()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    logs = root / "logs" / stamp
    result: dict[str, Any] = {
        "started": stamp,
        "machine": machine(),
        "sizes": sizes,
        "formats": formats,
        "reps": args.reps,
        "seed": args.seed,
    }
    if args.case == "pathological":
        _main_pathological(args, root, result)
        return
    if args.case == "mining":
        _main_mining(args, result)
        return
    print(f"bench {stamp}: sizes {sizes}, formats {formats}, {result['machine']['cores']} cores", flush=True)

    files = {}
    for size in sizes:
        for fmt in formats:
            gen = datagen.generate(fmt, size, args.seed)
            files[(fmt, size)] = gen
            print(
                f"  data {fmt:5s} {size:>10,} lines: {gen.mb:8.1f} MB (generated in {gen.seconds}s)",
                flush=True,
            )
    small = datagen.generate("csv", 2000, args.seed)
    result["data"] = {f"{f}-{s}": vars(g) for (f, s), g in files.items()}

    url, spark_cfg, result["spark_server"] = spark_start(root, args.spark_url)
    print(f"  Spark Connect {url} {result['spark_server']}", flush=True)
    stack = _Stack(spark_cfg)
    try:
        _run(args, root, logs, url, files, small, result, stack)
    finally:
        stack.close()
    result["machine"]["load_average_at_end"] = os.getloadavg()
    out = ROOT / "results" / f"{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report.write(out, result)
    print(report.table(result))
    print(f"\nwritten to {out}")


def _main_mining(args: argparse.Namespace, result: dict[str, Any]) -> None:
    """The template miner alone, with config.yaml's analytics.patterns (bench/mining.py)."""
    import json

    from bench import mining
    from logplatform import config
    from spark_client.mining import miner_config

    print(f"bench {result['started']}: template mining", flush=True)
    override = os.environ.get("LOGPLATFORM_CONFIG")
    loaded = config.load(ROOT.parent / "config" / "config.yaml", Path(override) if override else None)
    patterns = loaded["analytics"]["patterns"]
    result["mining"] = mining.bench(miner_config(patterns), args.mining_distinct)
    result["machine"]["load_average_at_end"] = os.getloadavg()
    out = ROOT / "results" / f"mining-{result['started']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    print(f"\nwritten to {out}")


def _main_pathological(args: argparse.Namespace, root: Path, result: dict[str, Any]) -> None:
    """Each line of the pathological corpus analysed alone (bench/pathological.py)."""
    from bench import pathological

    print(f"bench {result['started']}: pathological lines, runs of {args.run_chars:,} characters", flush=True)
    url, spark_cfg, result["spark_server"] = spark_start(root, args.spark_url)
    stack = _Stack(spark_cfg)
    try:
        from analyses import engine_config
        from spark_client.server.session import connect

        options = engine_config.engine_options_from_config()
        spark = stack.add(_Session(connect(url, **engine_config.session_options())))
        result["pathological"] = pathological.bench(
            spark,
            options,
            root / "pathological",
            args.run_chars,
            args.line_timeout,
            only={i.strip() for i in args.only.split(",") if i.strip()} or None,
        )
    finally:
        stack.close()
    out = ROOT / "results" / f"pathological-{result['started']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report.write(out, result)
    print(report.table(result))
    print(f"\nwritten to {out}")


class _Session:
    """The harness's own Spark session, closed before the server stops."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    def __getattr__(self, name: str) -> Any:
        return getattr(self.spark, name)

    def stop(self) -> None:
        try:
            self.spark.stop()
        except Exception:  # noqa: S110 - the server may be gone already
            pass


class _Stack:
    """Everything the run started, stopped in reverse order whatever happens."""

    def __init__(self, spark_cfg: Any) -> None:
        self.spark_cfg = spark_cfg
        self.procs: list[Any] = []

    def add(self, proc: Any) -> Any:
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        if self.spark_cfg is not None:
            from spark_client.server import local_server

            local_server.stop(self.spark_cfg)


def _run(args, root, logs, url, files, small, result, stack) -> None:  # noqa: ANN001
    from bench import jobs, lines_web, platform, web

    env = platform.environment(root=root, spark_url=url)  # Django is ready (spark_start)
    from analyses import engine_config
    from spark_client.server.session import connect

    team, user = platform.bench_team()
    options = engine_config.engine_options_from_config()
    spark = stack.add(_Session(connect(url, **engine_config.session_options())))
    qcluster = stack.add(platform.qcluster_start(env, logs / "qcluster.log"))
    # Every django-q2 worker opens its own Spark session on its first task.
    warm = [platform.analysis_timed(team, user, [small], "warm-up") for _ in range(3)]
    result["worker_warm_up_seconds"] = [round(t.seconds, 2) for t in warm]

    cases = []
    for (fmt, size), gen in sorted(files.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        reps = 1 if size >= 5_000_000 else args.reps
        case: dict[str, Any] = {"format": fmt, "size": size, "lines": gen.lines, "mb": round(gen.mb, 1)}
        a_runs, b_runs, c_runs, worker = [], [], [], []
        # A long-running Spark server has compiled this code path long ago: the first
        # runs of a size on a fresh server pay the JVM's JIT, several times the steady
        # state for a million CSV lines. Steady state is what is compared;
        # the cold runs are kept in the JSON. The naive job gets its warm-up rounds
        # too: its queries are compiled and JIT-warmed on their own, and a cold c
        # would flatter c/a.
        rounds = warmup_rounds(size, args.warmup)
        cold = []
        for _ in range(rounds):
            cold.append(platform.analysis_timed(team, user, [gen], f"warm-up {fmt} {size}").seconds)
            jobs.minimal_job(spark, gen.path, fmt, options)
            if not args.no_naive:
                case.setdefault("c_cold", []).append(jobs.naive_job(spark, gen.path, fmt, options).seconds)
        case["warm_up_rounds"] = rounds
        case["a_cold"] = report.runs(cold) if cold else None
        for rep in range(reps):
            with MemoryWatch(qcluster.pid) as watch:
                timed = platform.analysis_timed(team, user, [gen], f"bench {fmt} {size}")
            if timed.status != "succeeded":
                raise RuntimeError(f"analysis {timed.analysis_id} {timed.status}")
            a_runs.append(timed)
            worker.append(watch.as_dict())
            b = jobs.minimal_job(spark, gen.path, fmt, options)
            b_runs.append(b.seconds)
            if rep == 0:
                case["same_results_as_b"] = report.same_results(timed, b.output, options.patterns is not None)
                case["distinct_error_types"] = {
                    "a": (timed.summary or {}).get("distinct_error_types"),
                    "b": b.output.summary.get("distinct_error_types"),
                }
            if not args.no_naive and (rep == 0 or size < 5_000_000):
                c_runs.append(jobs.naive_job(spark, gen.path, fmt, options).seconds)
            print(
                f"  {fmt:5s} {size:>10,}  a {timed.seconds:7.2f}s (queue {timed.queue_seconds:.2f}s, "
                f"spark {timed.stats.get('query_seconds')}s)  b {b.seconds:7.2f}s"
                + (f"  c {c_runs[-1]:7.2f}s" if c_runs and len(c_runs) == rep + 1 else ""),
                flush=True,
            )
        case["a"] = report.runs([t.seconds for t in a_runs])
        case["a_queue_seconds"] = report.runs([t.queue_seconds for t in a_runs])
        case["a_spark_query_seconds"] = report.runs([t.stats.get("query_seconds") or 0 for t in a_runs])
        case["b"] = report.runs(b_runs)
        case["c"] = report.runs(c_runs) if c_runs else None
        case["worker_memory"] = worker
        case["analysis_id"] = a_runs[-1].analysis_id
        if size >= 1_000_000:
            # Each step measured on its own, in turns on one session: storing the
            # lines (issue 20) with patterns off, then the pattern step (issue 21)
            # on top of the stored lines. `a` above has both. `--reps` runs of each
            # at every size: one run of each at 10M moved the ratios by +-0.05.
            warm = size < 5_000_000
            stored = lines_cost(
                spark, gen.path, replace(options, patterns=None), root, reps=args.reps, warm_up=warm
            )
            case["lines_stored"] = stored
            print(
                f"  {fmt:5s} {size:>10,}  lines stored {stored['with']['median']:.2f}s, not stored "
                f"{stored['without']['median']:.2f}s: x{stored['ratio']}; "
                f"{stored['disk_ratio']} of the input on disk",
                flush=True,
            )
            if options.patterns is not None:
                mined = patterns_cost(spark, gen.path, options, root, reps=args.reps, warm_up=warm)
                case["patterns_step"] = mined
                print(
                    f"  {fmt:5s} {size:>10,}  patterns {mined['with']['median']:.2f}s, without "
                    f"{mined['without']['median']:.2f}s: x{mined['ratio']}",
                    flush=True,
                )
        cases.append(case)
    result["cases"] = cases

    if args.no_web:
        return
    port = free_port()
    gunicorn = stack.add(web.gunicorn_start(env, port, logs / "gunicorn.log"))
    base = f"http://127.0.0.1:{port}"
    session = web.signed_in(base, platform.USERNAME, platform.PASSWORD)

    # 2 000 lines from upload to succeeded, Spark warm.
    latencies = []
    for _ in range(args.small_runs):
        started = time.time()
        sent = web.upload_stream(session, port, Path(small.path), "small.csv")
        timed = platform.analysis_wait(sent["response"]["id"], started)
        latencies.append(timed.seconds)
    result["small_upload_to_result"] = {
        "lines": small.lines,
        "runs": [round(x, 2) for x in latencies],
        "median_seconds": round(statistics.median(latencies), 2),
    }
    print(f"  2 000 lines upload -> succeeded: {result['small_upload_to_result']}", flush=True)

    # (e) the filtered page of the largest CSV analysis.
    largest = max((c for c in cases if c["format"] == "csv"), key=lambda c: c["size"], default=cases[-1])
    params = {
        "start": "2024-03-05T00:00",
        "end": "2024-03-08T23:59",
        "levels": ["ERROR", "WARN"],
        "services": ["api"],
    }
    result["page"] = web.page_timing(
        session, base, f"/analyses/{largest['analysis_id']}/", params, args.page_requests
    )
    result["page"]["analysis_lines"] = largest["lines"]
    print(f"  filtered page: {result['page']}", flush=True)

    # The Lines view over the same analysis (issue 20): pages, drill-down, export.
    result["lines_view"] = lines_web.lines_timing(session, base, largest["analysis_id"], args.page_requests)
    result["lines_view"]["analysis_lines"] = largest["lines"]
    result["lines_view"]["export"] = lines_web.lines_export(
        session, base, largest["analysis_id"], gunicorn, {"levels": "ERROR,CRITICAL"}
    )
    print(f"  lines view: {result['lines_view']}", flush=True)

    # (d) the largest file through HTTP, with no worker to pick it up afterwards.
    qcluster.stop()
    biggest = max(files.values(), key=lambda g: g.bytes)
    result["upload"] = web.upload_big(session, port, gunicorn, Path(biggest.path))
    platform.queue_clear()
    platform.analysis_delete(result["upload"]["analysis_id"])
    print(f"  upload: {result['upload']}", flush=True)
