"""Pathological lines for every format the platform reads, and their benchmark.

A backtracking regex engine (Python's `re`, Java's `java.util.regex` inside Spark)
can take quadratic time, or recurse once per character, on a line built to make
it try every split: long runs of blanks, `[`, `"`, digits, `\\`, `:` or tabs, and
near-miss prefixes that match the start of a format's pattern and fail late.
`corpus(run)` builds such lines, each with the status the engine must give it;
the bad-input tests (tests/spark_client/test_pathological_lines.py,
tests/security/test_bad_input_corpus.py) analyse them, and
`python -m bench --case pathological` times the worst of them (docs/performance.md).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RUN = 256 * 1024  # the tests' runs: longer than the line cap, so every line is cut
NORMALS_PER_FILE = 10  # enough that detection's majority vote holds beside 4 bad lines


@dataclass(frozen=True)
class Line:
    """One line and the status the engine gives it: `status` as written, `cut` once
    cut to the line cap. `message` (CSV, JSON lines) is the message field, which is
    what a CSV or JSON row has cut; a raw line is cut whole."""

    text: str
    status: str  # ok | unparsed | continuation
    cut: str | None = None
    message: str | None = None

    def expected(self, cap: int) -> str:
        return self.cut if self.cut is not None and len(self.text) > cap else self.status

    def truncated(self, cap: int, raw: bool) -> bool:
        if raw:
            return len(self.text) > cap
        return self.message is not None and len(self.message) > cap


@dataclass(frozen=True)
class Case:
    """A file of one format: normal lines (for detection), then the bad ones."""

    format: str
    name: str
    header: str | None
    normals: list[str]
    lines: list[Line] = field(default_factory=list)

    @property
    def raw(self) -> bool:
        return self.format not in ("csv", "jsonl")

    def text(self) -> str:
        body = [*self._normals(), *(line.text for line in self.lines), self.normals[0]]
        return "\n".join(([self.header] if self.header else []) + body) + "\n"

    def _normals(self) -> list[str]:
        return [self.normals[i % len(self.normals)] for i in range(NORMALS_PER_FILE)]

    def expected(self, cap: int) -> dict[str, int]:
        """rows, unparsed, continuation and truncated lines of `text()` at line cap `cap`."""
        counts = {"ok": NORMALS_PER_FILE + 1, "unparsed": 0, "continuation": 0}
        for line in self.lines:
            counts[line.expected(cap)] += 1
        return {
            "rows": counts["ok"],
            "unparsed": counts["unparsed"],
            "continuation": counts["continuation"],
            "truncated": sum(line.truncated(cap, self.raw) for line in self.lines),
        }


def _json(message: str, **fields: str) -> Line:
    text = json.dumps({**fields, "msg": message})
    return Line(text, "ok", message=message.strip(" "))


def corpus(run: int = RUN) -> list[Case]:
    """One file per format; every bad line holds at least one run of `run` characters."""
    n = run
    syslog = "Jan  1 00:00:00 host"
    rfc5424 = "<165>1 2003-10-11T22:14:15Z host app - id "
    spark = "17/06/09 20:10:40 "
    iso = "2015-10-18 18:01:47,978 "
    dash = "2015-07-29 17:41:44,747 - INFO  ["
    apache = "[Sun Dec 04 04:47:44 2005] ["
    nginx = "2024/01/15 10:30:00 ["
    access = '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "'
    return [
        Case(
            "syslog",
            "syslog.log",
            None,
            [
                "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; rhost=218.188.2.4",
                "Jun 14 15:16:02 combo su(pam_unix)[2]: session opened for user news",
                "Jun 14 15:16:03 combo kernel: Kernel panic - not syncing",
            ],
            [
                Line(syslog + " " * n + "x", "unparsed"),  # the line
                Line(syslog + " app:" + " " * n + "x", "ok"),
                Line(syslog + "\t" * n + "[" + "1" * n, "unparsed"),
                Line("<13>" + syslog + " " + "[" * n, "unparsed"),
                # Java's `.` stops at U+2028, so its `$` fails late, after the blanks.
                Line(syslog + " " * n + "a: b\u2028c", "unparsed"),
                Line("Jan  1 00:00:00 " + "a:" * (n // 2), "unparsed"),
                Line(syslog + " app[" + "1" * n + "x: y", "unparsed"),
            ],
        ),
        Case(
            "syslog5424",
            "rfc5424.log",
            None,
            [
                '<165>1 2003-10-11T22:14:15.003Z mymachine evntslog - ID47 [exampleSDID@32473 iut="3"] An event',
                "<11>1 2003-10-11T22:14:16+02:00 host1 billing 77 - - payment failed for 10.1.2.3",
                "<10>1 2003-10-11T23:00:00Z host1 - - - - disk on fire",
            ],
            [
                Line(rfc5424 + "[" + "a" * n, "unparsed"),  # a Java stack overflow, before
                Line(rfc5424 + "[x " + "\\" * (2 * (n // 2)), "unparsed"),
                Line(rfc5424 + '[x a="' + '\\"' * (n // 2) + '"] msg', "ok", cut="unparsed"),
                Line(rfc5424 + "- " + "a" * n + "\u2028x", "unparsed", cut="ok"),
                Line("<165>1 " + " " * n, "unparsed"),
            ],
        ),
        Case(
            "log4j_spark",
            "spark.log",
            None,
            [
                "17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers",
                "17/06/09 20:11:02 ERROR storage.BlockManager: Failed to fetch block 10.0.0.5",
                "17/06/09 20:11:03 WARN storage.BlockManager: retrying",
            ],
            [
                Line(spark + "INFO " + "a" * n + " x", "unparsed"),
                Line(spark + " " * n + "INFO a.B: x", "ok", cut="unparsed"),
                Line(spark + "INFO a.B: " + "0" * n, "ok"),
                Line(spark + "INFO " + ":" * n, "unparsed"),
                Line("\tat " + "a" * n, "continuation"),
                Line("a" * n + "Exception", "continuation", cut="unparsed"),
                Line("a" * n + "Exceptio", "unparsed"),
            ],
        ),
        Case(
            "log4j_iso",
            "hadoop.log",
            None,
            [
                "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created",
                "2015-10-18 18:01:48,963 ERROR [RMCommunicator] org.apache.hadoop.yarn.RM: ERROR IN CONTACTING RM.",
                "2015-10-18 18:01:49,000 WARN [main] org.apache.Foo: slow",
            ],
            [
                # A long class name, then a message Java's `.*$` cannot finish.
                Line(iso + "INFO [main] " + "a" * n + " x\u2028y", "unparsed", cut="ok"),
                Line(iso + "INFO [" + "[" * n, "unparsed"),
                Line(iso + "INFO [main] a.B: " + '"' * n, "ok"),
                Line(iso + "\t" * n + "INFO", "unparsed"),
            ],
        ),
        Case(
            "log4j_dash",
            "zookeeper.log",
            None,
            [
                "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0.0.0.0:2181:FastLeaderElection@774] - Notification",
                "2015-07-29 17:41:45,747 - WARN  [main:QuorumPeer@1] - slow",
                "2015-07-29 17:41:46,747 - ERROR [main:QuorumPeer@2] - failed",
            ],
            [
                # Every "] -" is a place the thread could end; Java tried each.
                Line(dash + "] - " * (n // 4) + "\u2028x", "unparsed", cut="ok"),
                Line(dash + "]" * n, "unparsed"),
                Line(dash + "x" + " " * n + "]", "unparsed"),
                Line(dash + "x] " + " " * n + "x", "unparsed"),
                Line(dash + "x] -" + " " * n, "ok"),
            ],
        ),
        Case(
            "apache_error",
            "apache_error.log",
            None,
            [
                "[Sun Dec 04 04:47:44 2005] [error] [client 1.2.3.4] Directory index forbidden by rule",
                "[Sun Dec 04 04:47:45 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties",
                "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187] "
                "File does not exist",
            ],
            [
                # The level field is split at its last colon (Java: quadratic, before).
                Line(apache + "a" * n + ":error] x", "ok", cut="unparsed"),
                Line(apache + "error] " + "[" * n, "ok"),
                Line(apache + "error] [pid " + "1" * n, "ok"),
                Line("[" + " " * n, "unparsed"),
                Line(apache + "a:" * (n // 2) + "] x", "ok", cut="unparsed"),
            ],
        ),
        Case(
            "nginx_error",
            "nginx_error.log",
            None,
            [
                '2024/01/15 10:30:00 [error] 1234#0: *1 open() "/x" failed, client: 1.2.3.4, request: "GET /x HTTP/1.1"',
                '2024/01/15 10:30:01 [warn] 1234#0: *2 upstream timed out, client: 1.2.3.5, request: "GET /y HTTP/1.1"',
                "2024/01/15 10:30:02 [notice] 1234#0: signal process started",
            ],
            [
                Line(nginx + "error] " + "1" * n + "#0", "unparsed"),
                Line(nginx + 'error] 1#0: request: "' + "a" * n, "ok"),
                Line(nginx + "error] 1#0: " + 'request: "' * (n // 10), "ok"),
                Line(nginx + "e" * n, "unparsed"),
            ],
        ),
        Case(
            "access_log",
            "access.log",
            None,
            [
                '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326',
                '5.6.7.8 - bob [10/Oct/2000:13:55:37 -0700] "POST /login HTTP/1.1" 401 12 "-" "curl/8.0"',
                '9.9.9.9 - - [10/Oct/2000:13:55:38 -0700] "GET /x HTTP/1.1" 500 0 "http://r/" "Mozilla/5.0"',
            ],
            [
                Line(access + "a" * n, "unparsed"),  # a Java stack overflow, before
                Line(access + "GET /" + '\\"' * (n // 2) + '" 200 1', "ok", cut="unparsed"),
                Line(access + 'GET / HTTP/1.0" 200 ' + "1" * n + "\u2028x", "unparsed", cut="ok"),
                Line(access[:13] + "[" * n, "unparsed"),
                Line(" " * n + "x", "unparsed"),
                Line(access + 'GET / HTTP/1.0" 200 1 "' + "\\" * n, "ok"),
            ],
        ),
        Case(
            "jsonl",
            "events.jsonl",
            None,
            [
                '{"timestamp": "2024-01-01T00:00:00Z", "level": "error", "msg": "boom"}',
                '{"timestamp": "2024-01-01T00:00:01Z", "level": "info", "msg": "fine"}',
                '{"timestamp": "2024-01-01T00:00:02Z", "level": "warn", "msg": "slow"}',
            ],
            [
                Line('{"msg": ' + "[" * n + "}", "unparsed"),  # a RecursionError in detection, before
                _json("\\" * n),
                _json(" " * n + "x"),
                _json('"' * n, level="error"),
                _json("a " * (n // 2) + "failed"),
            ],
        ),
        Case(
            "csv",
            "table.csv",
            "timestamp,log_level,message,ip",
            [
                "2024-01-01 00:00:00,ERROR,boom,1.2.3.4",
                "2024-01-01 00:00:01,INFO,fine,1.2.3.5",
                "2024-01-01 00:00:02,WARN,slow,",
            ],
            [
                Line('2024-01-01 00:00:00,ERROR,"' + '""' * n + '",1.2.3.4', "ok", message='"' * n),
                Line("2024-01-01 00:00:00,ERROR," + " " * n + "x,", "ok", message="x"),
                Line(
                    "2024-01-01 00:00:00,INFO," + "1." * (n // 2) + ",5.6.7.8", "ok", message="1." * (n // 2)
                ),
                Line("2024-01-01 00:00:00,ERROR," + "\\" * n + ",", "ok", message="\\" * n),
            ],
        ),
    ]


def lines_alone(run: int = RUN) -> list[tuple[str, str, str]]:
    """(case format, id, text) of every bad line, for files that hold it alone."""
    return [
        (case.format, f"{case.format}-{i}", line.text)
        for case in corpus(run)
        for i, line in enumerate(case.lines)
    ]


# --------------------------------------------------------------------------- benchmark


def bench(
    spark: Any, options: Any, workdir: Path, run: int, timeout: float, only: set[str] | None = None
) -> dict[str, Any]:
    """Each bad line in a file of its own format, analysed alone: detection (Python)
    and the Spark query, as the engine reports them. A line is placed right after
    the normal lines and within the first 256 KB, so detection reads it whole.

    An analysis still running after `timeout` seconds is interrupted (its Spark
    job cancelled by tag) and recorded as not finished; the detection itself cannot
    be interrupted (Python's `re` holds the GIL), so it is only noticed after it ends.
    `only` limits the run to some lines, by id ("syslog-0": the syslog case's first line).
    """
    from spark_client.engine import analyze
    from spark_client.types import InputFile

    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for case in corpus(run):
        for i, line in enumerate(case.lines):
            if only and f"{case.format}-{i}" not in only:
                continue
            path = workdir / f"{i}-{case.name}"
            head = [case.header] if case.header else []
            path.write_text("\n".join([*head, *case.normals, line.text, case.normals[0]]) + "\n")
            tag = f"bench-pathological-{case.format}-{i}"
            timer = threading.Timer(timeout, spark.interruptTag, args=(tag,))
            started = time.perf_counter()
            timer.start()
            entry: dict[str, Any] = {"format": case.format, "line": i, "chars": len(line.text)}
            try:
                out = analyze(spark, [InputFile(1, str(path), path.name)], options, tag=tag)
                report = out.files[0]
                entry.update(
                    outcome=report.error or f"{report.rows} rows, {report.unparsed_lines} unparsed",
                    detect_seconds=out.stats.get("detect_seconds"),
                    query_seconds=out.stats.get("query_seconds"),
                )
            except Exception as exc:  # noqa: BLE001 - recorded: a failure is a result here
                entry["outcome"] = f"{type(exc).__name__}: {str(exc)[:160]}"
            finally:
                timer.cancel()
            entry["seconds"] = round(time.perf_counter() - started, 3)
            entry["finished"] = entry["seconds"] < timeout
            results.append(entry)
            print(
                f"  pathological {case.format:12s} line {i}: {entry['seconds']:8.2f}s  {entry['outcome'][:80]}",
                flush=True,
            )
    worst = max(results, key=lambda e: e["seconds"])
    return {"run_chars": run, "timeout_seconds": timeout, "lines": results, "worst": worst}
