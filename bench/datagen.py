"""Seeded benchmark log files, generated column-wise with Arrow and cached on disk.

Lines are never formatted one by one in Python: random draws come from numpy,
text columns are built with Arrow compute kernels (cast, take from lookup
tables, element-wise join), and a finished chunk is the data buffer of one
Arrow string array whose elements already end in a newline: Arrow's kernels build
whole string buffers at once, several times faster than numpy's string functions.
Files are keyed by format, size, seed and GENERATOR_VERSION, so changing the
generator never reuses stale data.

The data is shaped like a real service fleet's logs: a week of traffic with a
daily cycle and two incident windows (more errors), 12 services with skewed
volume, ~20 000 client IPs with a Zipf-like skew, level-specific messages with
variable parts (numbers, IPs, UUIDs, hex ids, quoted values) and, in the log4j
file, stack traces after some errors.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

GENERATOR_VERSION = 1
CHUNK = 500_000
START = np.datetime64("2024-03-04T00:00:00", "s")
SPAN_SECONDS = 7 * 24 * 3600
# Hours (from START) with an incident: error and critical rates go up fivefold.
INCIDENTS = ((30, 32), (101, 102))
CSV_HEADER = b"timestamp,log_level,message,ip,service,endpoint\n"

LEVELS = np.array([b"DEBUG", b"INFO", b"WARN", b"ERROR", b"CRITICAL"])
LEVEL_WEIGHTS = np.array([0.08, 0.68, 0.14, 0.08, 0.02])
INCIDENT_WEIGHTS = np.array([0.05, 0.43, 0.12, 0.32, 0.08])

SERVICES = np.array(
    [
        b"api",
        b"gateway",
        b"auth",
        b"search",
        b"billing",
        b"worker",
        b"db",
        b"cache",
        b"payments",
        b"inventory",
        b"notifications",
        b"scheduler",
    ]
)
ENDPOINTS = np.array(
    [
        b"/orders",
        b"/users",
        b"/search",
        b"/cart",
        b"/pay",
        b"/login",
        b"/logout",
        b"/health",
        b"/app.js",
        b"/stock",
        b"/notify",
        b"/admin",
    ]
)
WORDS = np.array([b"alice", b"bob", b"carol", b"dave", b"erin", b"frank", b"grace", b"heidi"])
TABLES = np.array([b"orders", b"users", b"payments", b"sessions", b"inventory"])
CLASSES = np.array([b"OrderService", b"UserRepository", b"PaymentClient", b"SearchIndex", b"CartController"])
IP_POOL = 20_000

# Per level: message templates. "{x}" are variable parts (see _variable); the
# CSV writer quotes a template's field when its text holds a comma or a quote.
TEMPLATES: dict[int, list[str]] = {
    0: [
        "Query took {ms} ms",
        "Payload size {n} bytes for {endpoint}",
        "Cache lookup key user:{n}",
    ],
    1: [
        "GET {endpoint} 200 in {ms} ms",
        'User "{word}" logged in',
        "Batch {n} done, {k} records",
        "Job {n} scheduled",
        "Session {hex} refreshed",
        "Cache hit for {word}",
    ],
    2: [
        "Slow response from {service} took {ms} ms",
        "Retrying request {uuid} attempt {k}",
        "Connection pool at {pct} percent, waiting",
        "Deprecated header X-Api-Version used by {ip}",
    ],
    3: [
        "Connection timeout after {k}s to {ip}",
        "NullPointerException in {cls}.process at line {n}",
        "Database query failed: deadlock detected on table {table}",
        "Payment declined for order {n}",
        "Request {uuid} failed with status 500",
        'Access denied for user "{word}" from {ip}',
        "Upstream {service} returned 503 after {ms} ms",
        "Invalid token {hex} for session",
    ],
    4: [
        "Out of memory in worker {n}, killing process",
        "Disk {hex} full on /var/data",
        "Kernel panic in module {word}",
        "Replication lag {k} s on {ip}, cluster degraded",
    ],
}


@dataclass
class Generated:
    path: str
    fmt: str
    size: int  # events requested
    lines: int  # lines in the file (log4j stack traces add lines)
    events: int
    bytes: int
    seed: int
    seconds: float
    sha256: str

    @property
    def mb(self) -> float:
        return self.bytes / 1e6


def data_dir() -> Path:
    return Path(os.environ.get("BENCH_DATA_DIR", Path(__file__).resolve().parent / "data"))


def generate(fmt: str, size: int, seed: int = 7) -> Generated:
    """The cached file for (fmt, size, seed), generated on first use."""
    if fmt not in ("csv", "log4j"):
        raise ValueError(f"unknown bench format {fmt!r}")
    root = data_dir()
    root.mkdir(parents=True, exist_ok=True)
    ext = "csv" if fmt == "csv" else "log"
    stem = f"{fmt}-{size}-s{seed}-g{GENERATOR_VERSION}"
    path = root / f"{stem}.{ext}"
    meta_path = root / f"{stem}.json"
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("bytes") == path.stat().st_size:
            return Generated(**meta)
    started = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    digest = hashlib.sha256()
    lines = events = written = 0
    with tmp.open("wb") as out:
        if fmt == "csv":
            out.write(CSV_HEADER)
            digest.update(CSV_HEADER)
            written += len(CSV_HEADER)
            lines += 1
        for chunk, chunk_lines, chunk_events in _chunks(fmt, size, seed):
            out.write(chunk)
            digest.update(chunk)
            written += len(chunk)
            lines += chunk_lines
            events += chunk_events
    tmp.replace(path)
    meta = Generated(
        path=str(path),
        fmt=fmt,
        size=size,
        lines=lines,
        events=events,
        bytes=written,
        seed=seed,
        seconds=round(time.perf_counter() - started, 2),
        sha256=digest.hexdigest(),
    )
    meta_path.write_text(json.dumps(asdict(meta), indent=2))
    return meta


def _chunks(fmt: str, size: int, seed: int) -> Iterator[tuple[bytes, int, int]]:
    # Timestamps are drawn for the whole file first so the file is in time order,
    # like a real log; the rest is drawn chunk by chunk from per-chunk seeds.
    rng = np.random.default_rng(seed)
    offsets = np.sort(_draw_offsets(rng, size))
    for index, begin in enumerate(range(0, size, CHUNK)):
        chunk_rng = np.random.default_rng([seed, index])
        part = offsets[begin : begin + CHUNK]
        if fmt == "csv":
            yield _csv_chunk(chunk_rng, part)
        else:
            yield _log4j_chunk(chunk_rng, part, begin)


def _draw_offsets(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds from START with a daily cycle (busy afternoons, quiet nights)."""
    hours = np.arange(SPAN_SECONDS // 3600)
    weight = 1.0 + 0.8 * np.sin((hours % 24 - 9) / 24 * 2 * np.pi)
    hour = rng.choice(hours, size=n, p=weight / weight.sum())
    return hour * 3600 + rng.integers(0, 3600, size=n)


@functools.cache
def _tables() -> dict[str, pa.Array]:
    """Lookup tables: text for every day, second of day, hex quad and pooled IP."""
    days = [str(START.astype("datetime64[D]") + i) for i in range(SPAN_SECONDS // 86400)]
    seconds = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]
    # A fixed scatter of pool index -> 10.x.y.z, so the busiest clients are not neighbours.
    scatter = (np.arange(IP_POOL, dtype=np.int64) * 2654435761) % (1 << 24)
    ips = [f"10.{h >> 16 & 255}.{h >> 8 & 255}.{(h & 255) or 1}" for h in scatter.tolist()]
    return {
        "day": pa.array(days),
        "second": pa.array(seconds),
        "hex4": pa.array([f"{i:04x}" for i in range(1 << 16)]),
        "ip": pa.array(ips),
        "level": pa.array([x.decode() for x in LEVELS]),
        "level5": pa.array([x.decode().ljust(5) for x in LEVELS]),
        "millis": pa.array([f"{i:03d}" for i in range(1000)]),
    }


def _pick(pool: np.ndarray | pa.Array, idx: np.ndarray) -> pa.Array:
    table = pool if isinstance(pool, pa.Array) else pa.array([x.decode() for x in pool])
    return table.take(pa.array(idx))


def _join(parts: list[pa.Array | str], sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def _text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _stamps(offsets: np.ndarray, sep: str = " ") -> pa.Array:
    t = _tables()
    return _join([_pick(t["day"], offsets // 86400), _pick(t["second"], offsets % 86400)], sep)


def _levels(rng: np.random.Generator, offsets: np.ndarray) -> np.ndarray:
    hour = offsets // 3600
    incident = np.zeros(len(offsets), dtype=bool)
    for low, high in INCIDENTS:
        incident |= (hour >= low) & (hour < high)
    normal = rng.choice(5, size=len(offsets), p=LEVEL_WEIGHTS)
    burst = rng.choice(5, size=len(offsets), p=INCIDENT_WEIGHTS)
    return np.where(incident, burst, normal)


def _zipf_index(rng: np.random.Generator, n: int, pool: int, a: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, pool + 1) ** a
    return rng.choice(pool, size=n, p=weights / weights.sum())


def _hex(rng: np.random.Generator, n: int, quads: int) -> pa.Array:
    table = _tables()["hex4"]
    return _join([_pick(table, rng.integers(0, 1 << 16, size=n)) for _ in range(quads)])


def _variable(name: str, rng: np.random.Generator, ip: pa.Array) -> pa.Array:
    n = len(ip)
    if name == "ms":
        return _text(np.round(rng.lognormal(4.0, 1.0, size=n)).astype(np.int64))
    if name == "n":
        return _text(rng.integers(1, 1_000_000, size=n))
    if name == "k":
        return _text(rng.integers(1, 60, size=n))
    if name == "pct":
        return _text(rng.integers(80, 100, size=n))
    if name == "ip":
        return ip
    if name == "uuid":
        parts = [_hex(rng, n, 2), _hex(rng, n, 1), _hex(rng, n, 1), _hex(rng, n, 1), _hex(rng, n, 3)]
        return _join(parts, "-")
    if name == "hex":
        # Ids with a letter and a digit are what the error-type mask calls hex.
        return _join([_hex(rng, n, 2), "a1"])
    pools = {"word": WORDS, "service": SERVICES, "endpoint": ENDPOINTS, "table": TABLES, "cls": CLASSES}
    return _pick(pools[name], rng.integers(0, len(pools[name]), size=n))


def _render(template: str, rng: np.random.Generator, ip: pa.Array, csv: bool) -> pa.Array:
    """One template over its rows: literal pieces and variable columns joined as arrays."""
    quote = csv and ("," in template or '"' in template)
    text = template.replace('"', '""') if quote else template
    pieces = text.split("{")
    parts: list[pa.Array | str] = [('"' if quote else "") + pieces[0]]
    for piece in pieces[1:]:
        name, literal = piece.split("}", 1)
        parts += [_variable(name, rng, ip), literal]
    if quote:
        parts.append('"')
    return _join(parts)


def _messages(rng: np.random.Generator, level: np.ndarray, ip: pa.Array, csv: bool) -> pa.Array:
    """Level-specific messages: each template is rendered over its rows only, then the
    pieces are put back in row order with one `take`."""
    n = len(level)
    template_id = np.empty(n, dtype=np.int64)
    flat: list[str] = []
    for lvl, templates in TEMPLATES.items():
        rows = np.flatnonzero(level == lvl)
        template_id[rows] = len(flat) + rng.integers(0, len(templates), size=len(rows))
        flat += templates
    order = np.argsort(template_id, kind="stable")
    bounds = np.searchsorted(template_id[order], np.arange(len(flat) + 1))
    rendered = [
        _render(template, rng, ip.take(pa.array(order[bounds[t] : bounds[t + 1]])), csv)
        for t, template in enumerate(flat)
        if bounds[t + 1] > bounds[t]
    ]
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    return pa.concat_arrays(rendered).take(pa.array(inverse))


def _columns(rng: np.random.Generator, offsets: np.ndarray, csv: bool) -> dict:
    n = len(offsets)
    level = _levels(rng, offsets)
    ip = _pick(_tables()["ip"], _zipf_index(rng, n, IP_POOL, 1.1))
    return {
        "level": level,
        "ip": ip,
        "message": _messages(rng, level, ip, csv),
        "service": _pick(SERVICES, _zipf_index(rng, n, len(SERVICES), 0.8)),
        "endpoint": _pick(ENDPOINTS, rng.integers(0, len(ENDPOINTS), size=n)),
    }


def _lines_bytes(lines: pa.Array) -> bytes:
    """The file content of a chunk: its lines (each ending in a newline) back to back."""
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    _, offsets, data = lines.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    return data.to_pybytes()[bounds[0] : bounds[-1]]


def _csv_chunk(rng: np.random.Generator, offsets: np.ndarray) -> tuple[bytes, int, int]:
    cols = _columns(rng, offsets, csv=True)
    n = len(offsets)
    # One row in ten has no client IP (internal jobs): an empty CSV field.
    ip = pc.if_else(pa.array(rng.random(n) < 0.9), cols["ip"], "")
    level = _pick(_tables()["level"], cols["level"])
    line = _join([_stamps(offsets), level, cols["message"], ip, cols["service"], cols["endpoint"]], ",")
    return _lines_bytes(_join([line, "\n"])), n, n


TRACE = (
    "\n\tat com.example.core.Dispatcher.dispatch(Dispatcher.java:212)"
    "\n\tat java.base/java.lang.Thread.run(Thread.java:840)"
)


def _log4j_chunk(rng: np.random.Generator, offsets: np.ndarray, first: int) -> tuple[bytes, int, int]:
    cols = _columns(rng, offsets, csv=False)
    n = len(offsets)
    t = _tables()
    stamp = _join([_stamps(offsets), _pick(t["millis"], rng.integers(0, 1000, size=n))], ",")
    thread = _join(["[http-nio-8080-exec-", _text((np.arange(n) + first) % 16), "]"])
    logger = _join(["com.example.", cols["service"], ".Handler:"])
    # Raw logs carry the client address in the message, where the engine finds it.
    with_ip = pa.array(rng.random(n) < 0.5)
    message = pc.if_else(with_ip, _join([cols["message"], " client=", cols["ip"]]), cols["message"])
    line = _join([stamp, _pick(t["level5"], cols["level"]), thread, logger, message], " ")
    # One error in five is followed by a two-line stack trace (continuation lines).
    traced = (cols["level"] == 3) & (rng.random(n) < 0.2)
    line = pc.if_else(pa.array(traced), _join([line, TRACE]), line)
    return _lines_bytes(_join([line, "\n"])), n + 2 * int(traced.sum()), n
