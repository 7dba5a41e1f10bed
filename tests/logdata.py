"""Seeded log data for tests, with the ground truth known by construction.

`make_events` draws events (timestamp, canonical level, message, ip, service,
endpoint, expected error type); `render` writes them in any supported format; and
`reference` computes the result document from the events in plain Python,
following DESIGN §4-§5 independently of the engine.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

LEVELS = ("DEBUG", "INFO", "WARN", "ERROR", "CRITICAL")
ERRORS = ("ERROR", "CRITICAL")

# How each canonical level may be spelled in a file (DESIGN §4 level mapping).
SPELLINGS = {
    "DEBUG": ["DEBUG", "debug", "TRACE", "FINE", "Finest"],
    "INFO": ["INFO", "info", "NOTICE", "Info"],
    "WARN": ["WARN", "WARNING", "warning", "Warn"],
    "ERROR": ["ERROR", "error", "ERR", "SEVERE"],
    "CRITICAL": ["CRITICAL", "FATAL", "crit", "EMERG", "ALERT", "PANIC", "Emergency"],
}

# Message templates: (text with placeholders, expected masked error type, expected
# pattern). The masked type is an error line's type when patterns are off (the
# engine alone); the pattern is its type in an analysis that mines patterns (the
# platform's default): one type per event, numbers, IPs, ids and quoted text as
# <*>. A {word} stays in the pattern while the analysis holds at most
# CONSTANT_ALTERNATIVES words for it (a few alternatives are events, many are a
# value: config.yaml's analytics.patterns.constant_alternatives).
TEMPLATES = [
    (
        "Connection timeout after {n}s to {ip}",
        "Connection timeout after <NUM>s to <IP>",
        "Connection timeout after <*> to <*>",
    ),
    ('User "{word}" login failed', 'User "<STR>" login failed', "User <*> login failed"),
    ("Disk {hex} usage at {n} percent", "Disk <HEX> usage at <NUM> percent", "Disk <*> usage at <*> percent"),
    (
        "Request {uuid} aborted by upstream",
        "Request <UUID> aborted by upstream",
        "Request <*> aborted by upstream",
    ),
    ("Payment declined for order {n}", "Payment declined for order <NUM>", "Payment declined for order <*>"),
    ("Cache miss for key {word}", "Cache miss for key {word}", "Cache miss for key {word}"),
    ("Worker started with pid {n}", "Worker started with pid <NUM>", "Worker started with pid <*>"),
    ("Retrying job {n} in {n2} ms", "Retrying job <NUM> in <NUM> ms", "Retrying job <*> in <*>"),
    ("Kernel panic in module {word}", "Kernel panic in module {word}", "Kernel panic in module {word}"),
    ("Access denied for client {ip}", "Access denied for client <IP>", "Access denied for client <*>"),
]
CONSTANT_ALTERNATIVES = 3
WORDS = ["alpha", "beta", "gamma", "delta", "omega", "kappa"]
SERVICES = ["api", "auth", "billing", "search", "worker", "gateway", "db"]
ENDPOINTS = ["/api/users", "/api/orders", "/login", "/search", "/health"]

INFERENCE = [
    ("CRITICAL", r"\b(panic|fatal|emergency|critical)\b"),
    (
        "ERROR",
        r"\b(errors?|exceptions?|fail|fails|failed|failures?|denied|refused|invalid|abort|aborted|break-in)\b",
    ),
    ("WARN", r"\b(warn|warning|warnings|timeout|timed out|retry|retrying)\b"),
]


def infer_level(message: str) -> str:
    for level, pattern in INFERENCE:
        if re.search(pattern, message, re.IGNORECASE):
            return level
    return "INFO"


@dataclass(frozen=True)
class Event:
    ts: datetime | None
    level: str  # canonical
    spelling: str  # as written in the file
    message: str
    error_type: str  # expected error type if the event is an error
    ip: str | None  # the event's IP (column, or first IPv4 in the message)
    ip_column: str | None  # what an ip column holds
    service: str | None
    endpoint: str | None
    status: int = 200  # access logs
    kind: int = -1  # its TEMPLATES entry (-1: not made from one)
    word: str | None = None  # the {word} of its message, if it has one


def _message(rng: random.Random) -> tuple[str, str, str | None, int, str | None]:
    kind = rng.randrange(len(TEMPLATES))
    text, masked, _ = TEMPLATES[kind]
    ip = f"10.{rng.randint(0, 3)}.{rng.randint(0, 9)}.{rng.randint(1, 30)}"
    values = {
        "n": rng.randint(1, 99999),
        "n2": rng.randint(1, 999),
        "ip": ip,
        "word": rng.choice(WORDS),
        "hex": "".join(rng.choice("0123456789abcdef") for _ in range(10)) + "a1",
        "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
    }
    message = text.format(**values)
    word = values["word"] if "{word}" in text else None
    return message, masked.format(word=values["word"]), ip if "{ip}" in text else None, kind, word


def make_events(
    n: int,
    *,
    seed: int = 1,
    start: datetime = datetime(2024, 3, 1, 0, 0, 0),
    span_hours: int = 36,
    explicit_levels: bool = True,
    with_ip_column: bool = True,
    with_service: bool = True,
    whole_seconds: bool = True,
    no_ts_every: int = 0,
) -> list[Event]:
    rng = random.Random(seed)
    events = []
    for i in range(n):
        message, masked, msg_ip, kind, word = _message(rng)
        if explicit_levels:
            level = rng.choices(LEVELS, weights=[5, 60, 15, 15, 5])[0]
            spelling = rng.choice(SPELLINGS[level])
        else:
            level = infer_level(message)
            spelling = ""
        seconds = rng.randint(0, span_hours * 3600 - 1)
        ts = start + timedelta(seconds=seconds)
        if not whole_seconds:
            ts += timedelta(milliseconds=rng.randint(0, 999))
        if no_ts_every and i % no_ts_every == 0:
            ts = None
        column_ip = (
            f"192.168.{rng.randint(0, 2)}.{rng.randint(1, 40)}"
            if with_ip_column and rng.random() < 0.8
            else None
        )
        events.append(
            Event(
                ts=ts,
                level=level,
                spelling=spelling,
                message=message,
                error_type=masked,
                ip=column_ip or msg_ip,
                ip_column=column_ip,
                service=rng.choice(SERVICES) if with_service else None,
                endpoint=rng.choice(ENDPOINTS),
                kind=kind,
                word=word,
            )
        )
    return events


def pattern_types(events: list[Event]) -> list[Event]:
    """The events with the error type an analysis that mines patterns gives them:
    their pattern (TEMPLATES). `events` is everything the analysis reads: whether
    a {word} stays depends on how many words the analysis holds for its template."""
    words: dict[int, set[str]] = {}
    for e in events:
        if e.word is not None:
            words.setdefault(e.kind, set()).add(e.word)

    def pattern(e: Event) -> str:
        template = TEMPLATES[e.kind][2]
        if e.word is None:
            return template
        many = len(words[e.kind]) > CONSTANT_ALTERNATIVES
        return template.format(word="<*>" if many else e.word)

    return [replace(e, error_type=pattern(e)) if e.kind >= 0 else e for e in events]


# --------------------------------------------------------------------------- rendering


def _iso(ts: datetime | None, sep: str = " ") -> str:
    return ts.strftime(f"%Y-%m-%d{sep}%H:%M:%S") if ts else "not a time"


def render_csv(
    events: list[Event], *, header: str = "timestamp,log_level,message,ip,service,endpoint", sep: str = ","
) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\n")
    writer.writerow(header.split(","))
    for e in events:
        writer.writerow(
            [_iso(e.ts), e.spelling, e.message, e.ip_column or "", e.service or "", e.endpoint or ""]
        )
    return out.getvalue()


def render_jsonl(events: list[Event]) -> str:
    lines = []
    for e in events:
        obj = {
            "time": e.ts.strftime("%Y-%m-%dT%H:%M:%SZ") if e.ts else None,
            "severity": e.spelling,
            "msg": e.message,
        }
        if e.ip_column:
            obj["client_ip"] = e.ip_column
        if e.service:
            obj["app"] = e.service
        lines.append(json.dumps(obj))
    return "\n".join(lines) + "\n"


def render_syslog(events: list[Event]) -> str:
    lines = []
    for e in events:
        stamp = f"{e.ts.strftime('%b')} {e.ts.day:>2} {e.ts.strftime('%H:%M:%S')}"
        lines.append(f"{stamp} host1 {e.service}[{1000 + len(lines) % 50}]: {e.message}")
    return "\n".join(lines) + "\n"


def render_log4j_spark(events: list[Event]) -> str:
    return "".join(
        f"{e.ts.strftime('%y/%m/%d %H:%M:%S')} {e.spelling} org.example.{e.service}: {e.message}\n"
        for e in events
    )


def render_log4j_iso(events: list[Event]) -> str:
    return "".join(
        f"{e.ts.strftime('%Y-%m-%d %H:%M:%S')},{(i * 7) % 1000:03d} {e.spelling} [main-{i % 3}] org.example.{e.service}: {e.message}\n"
        for i, e in enumerate(events)
    )


def render_log4j_dash(events: list[Event]) -> str:
    return "".join(
        f"{e.ts.strftime('%Y-%m-%d %H:%M:%S')},{i % 1000:03d} - {e.spelling:<5} [Thread[x=1]/0.0.0.0:2181:{e.service}@{i % 90}] - {e.message}\n"
        for i, e in enumerate(events)
    )


def render_apache_error(events: list[Event]) -> str:
    return "".join(
        f"[{e.ts.strftime('%a %b %d %H:%M:%S %Y')}] [{e.spelling.lower()}] "
        + (f"[client {e.ip_column}] " if e.ip_column else "")
        + f"{e.message}\n"
        for e in events
    )


def render_access(events: list[Event]) -> str:
    return "".join(
        f'{e.ip_column} - - [{e.ts.strftime("%d/%b/%Y:%H:%M:%S")} +0000] "GET {e.endpoint}?q={i} HTTP/1.1" {e.status} {100 + i} "-" "curl/8"\n'
        for i, e in enumerate(events)
    )


def access_events(n: int, *, seed: int = 1, start: datetime = datetime(2024, 3, 1)) -> list[Event]:
    rng = random.Random(seed)
    events = []
    for i in range(n):
        status = rng.choice([200, 200, 200, 301, 404, 403, 500, 503])
        level = "ERROR" if status >= 500 else "WARN" if status >= 400 else "INFO"
        endpoint = rng.choice(ENDPOINTS)
        ip = f"172.16.{rng.randint(0, 3)}.{rng.randint(1, 20)}"
        message = f"GET {endpoint}?q={i} HTTP/1.1 {status}"
        events.append(
            Event(
                ts=start + timedelta(seconds=rng.randint(0, 20 * 3600)),
                level=level,
                spelling="",
                message=message,
                error_type=f"GET {endpoint}?q=<NUM> HTTP/<NUM> <NUM>",
                ip=ip,
                ip_column=ip,
                service=None,
                endpoint=endpoint,
                status=status,
            )
        )
    return events


def write(path: Path, text: str, *, compress: bool = False) -> Path:
    data = text.encode("utf-8")
    if compress:
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- reference


def _ranked(counter: Counter, key: str, limit: int = 100) -> list[dict]:
    items = sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))[:limit]
    return [{key: k, "count": v} for k, v in items]


def reference(events: list[Event], *, bucket_seconds: int | None = None) -> dict:
    """The result document's summary and tables, computed from the events."""
    levels = Counter(e.level for e in events)
    errors = [e for e in events if e.level in ERRORS]
    with_ts = [e for e in events if e.ts]
    summary = {
        "total_logs": len(events),
        "error_count": len(errors),
        "critical_count": levels["CRITICAL"],
        "warn_count": levels["WARN"],
        "error_rate": len(errors) / len(events) if events else 0.0,
        "levels": {lv: levels[lv] for lv in LEVELS},
        "rows_without_timestamp": len(events) - len(with_ts),
        "unparsed_lines": 0,
        "first_ts": min(e.ts for e in with_ts).strftime("%Y-%m-%dT%H:%M:%S") if with_ts else None,
        "last_ts": max(e.ts for e in with_ts).strftime("%Y-%m-%dT%H:%M:%S") if with_ts else None,
        "distinct_ips": len({e.ip for e in events if e.ip}),
        "distinct_services": len({e.service for e in events if e.service}),
        "distinct_error_types": len({e.error_type for e in errors}),
    }
    by_hour = Counter(e.ts.strftime("%Y-%m-%dT%H:00:00") for e in errors if e.ts)
    by_day = Counter(e.ts.strftime("%Y-%m-%d") for e in errors if e.ts)
    tables = {
        "errors_by_hour": [{"hour": h, "count": by_hour[h]} for h in sorted(by_hour)],
        "errors_by_day": [{"day": d, "count": by_day[d]} for d in sorted(by_day)],
        "errors_by_type": _ranked(Counter(e.error_type for e in errors), "error_type"),
        "top_errors": _ranked(Counter(e.message for e in errors), "message"),
        "errors_per_ip": _ranked(Counter(e.ip for e in errors if e.ip), "ip"),
        "errors_per_service": _ranked(Counter(e.service for e in errors if e.service), "service"),
        "errors_by_severity": _ranked(Counter(e.level for e in errors), "level"),
    }
    if bucket_seconds:
        buckets = Counter()
        for e in errors:
            if e.ts:
                epoch = int(e.ts.replace(tzinfo=UTC).timestamp())
                start = datetime.fromtimestamp(epoch - epoch % bucket_seconds, tz=UTC)
                buckets[start.strftime("%Y-%m-%dT%H:%M:%S")] += 1
        tables["error_trends"] = [{"bucket_start": b, "count": buckets[b]} for b in sorted(buckets)]
    return {"summary": summary, "tables": tables}


def without(events: list[Event], **changes) -> list[Event]:
    return [replace(e, **changes) for e in events]


def per_hour_level_service(events: list[Event]) -> dict:
    out: dict = defaultdict(int)
    for e in events:
        hour = e.ts.strftime("%Y-%m-%dT%H:00:00") if e.ts else None
        out[(hour, e.level, e.service or "")] += 1
    return dict(out)
