"""What a Lines query asks for (filters, order, page size, cursor) and what it
answers (`Line`, `LinesPage`), as plain values.

The web process builds a `LinesFilter` from a request (analyses.lines) and the
engine turns it into a DataFrame (spark_client.engine.lines_query). No pyspark and
no Django here, so a page that only validates a query loads neither.

A regular expression runs in Spark's JVM (java.util.regex), which backtracks: a
pattern such as `(a+)+$` takes exponential time on a line of `a`s. The checks here
refuse, before any query, the constructs that make backtracking explode (a repeated
group holding a quantifier or an alternation, backreferences) and patterns longer
than REGEX_MAX_CHARS. What is left is bounded by the engine: each message is at
most `analytics.max_line_chars` characters (cut when the lines were stored), so a
pattern costs at most that many characters times the rows it reads, and every
Lines query also runs under a timeout (`lines.query_timeout_seconds`) after which
its tag is interrupted.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from spark_client.rows import LEVELS

NEWEST = "newest"
OLDEST = "oldest"
ORDERS = (NEWEST, OLDEST)
LIMIT_MIN = 50
LIMIT_MAX = 500
LIMIT_DEFAULT = 100
REGEX_MAX_CHARS = 200
CONTEXT_LINES = 20
# A line's status (spark_client lines layout); blank lines are hidden unless asked for.
STATUSES = ("ok", "continuation", "unparsed", "blank")
DEFAULT_STATUSES = ("ok", "continuation", "unparsed")
# How rows without a value are asked for, as the dashboard shows them.
NONE_VALUE = "(none)"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A pattern id (spark_client.mining.pattern_id): 16 hex digits.
PATTERN_ID = re.compile(r"[0-9a-f]{16}")


class LinesFilterError(ValueError):
    """A filter value is wrong: `errors` maps the parameter to what to do about it."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class CursorError(ValueError):
    """A cursor that this module did not make."""


@dataclass(frozen=True)
class Cursor:
    """The sort key of the last row of a page: the next page starts after it."""

    ts_micros: int | None  # microseconds since the epoch (UTC); None for a line without a time
    file: int  # the file's position in the analysis
    row_id: int

    def encode(self) -> str:
        raw = json.dumps([self.ts_micros, self.file, self.row_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor in `text`, or CursorError: it is opaque, so anything else is refused."""
        if not text or len(text) > 200:
            raise CursorError("empty or too long")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            ts, file, row_id = json.loads(raw)
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
            raise CursorError(str(exc)) from None
        ints = [v for v in (ts, file, row_id) if v is not None]
        if file is None or row_id is None or any(isinstance(v, bool) or not isinstance(v, int) for v in ints):
            raise CursorError("not a cursor")
        if file < 0 or row_id < 0 or abs(ts or 0) > 2**62:
            raise CursorError("out of range")
        return cls(ts, file, row_id)


@dataclass(frozen=True)
class LinesFilter:
    """One Lines query. Empty tuples mean "any"; `start` and `end` are both inclusive."""

    start: datetime | None = None
    end: datetime | None = None
    levels: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    error_types: tuple[str, ...] = ()
    files: tuple[int, ...] = ()  # positions in the analysis (lines layout `file`), not ids
    patterns: tuple[str, ...] = ()  # pattern ids (docs/patterns.md)
    statuses: tuple[str, ...] = DEFAULT_STATUSES
    q: str = ""
    regex: bool = False
    order: str = NEWEST
    limit: int = LIMIT_DEFAULT
    cursor: Cursor | None = None

    def __post_init__(self) -> None:
        errors = check(self)
        if errors:
            raise LinesFilterError(errors)


def micros(moment: datetime) -> int:
    """Microseconds since the epoch; a naive moment is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def check(f: LinesFilter) -> dict[str, list[str]]:
    """Every problem of `f`, by parameter name (empty when it is fine)."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if f.start and f.end and micros(f.start) > micros(f.end):
        add("from", "The start is after the end; swap them.")
    unknown = [lv for lv in f.levels if lv not in LEVELS]
    if unknown:
        add("level", f"Unknown level {', '.join(unknown)}; the levels are {', '.join(LEVELS)}.")
    unknown = [s for s in f.statuses if s not in STATUSES]
    if unknown:
        add("status", f"Unknown status {', '.join(unknown)}; the statuses are {', '.join(STATUSES)}.")
    wrong = [p for p in f.patterns if not PATTERN_ID.fullmatch(p)]
    if wrong:
        add(
            "pattern",
            f"{wrong[0][:40]!r} is not a pattern id (16 hex digits, as the patterns list gives them).",
        )
    if f.order not in ORDERS:
        add("order", f"The order is {' or '.join(ORDERS)}.")
    if not LIMIT_MIN <= f.limit <= LIMIT_MAX:
        add("limit", f"The limit is between {LIMIT_MIN} and {LIMIT_MAX} lines per page.")
    if f.regex:
        problem = regex_problem(f.q)
        if problem:
            add("q", problem)
    return errors


def regex_problem(pattern: str) -> str | None:
    """Why `pattern` is refused as a search, or None.

    Not a parser of Java's syntax (Spark reports a malformed pattern itself); it
    finds the shapes that backtrack exponentially. A group that is repeated (`*`,
    `+`, `{n,}` or `{n,m}` after its `)`) may not hold a quantifier or a `|`:
    `(a+)+`, `(a|ab)*`, `(\\w+\\s?)*` are refused, `(ab)+`, `a+b*` and `(a|b)` pass.
    """
    if not pattern:
        return "Give a pattern to search for."
    if len(pattern) > REGEX_MAX_CHARS:
        return f"A pattern is at most {REGEX_MAX_CHARS} characters."
    # For each open group: whether it holds a quantifier or an alternation so far.
    stack: list[bool] = []
    i = 0
    in_class = False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1 : i + 2]
            if nxt.isdigit() and nxt != "0" or nxt == "k":
                return "Backreferences (\\1, \\k<name>) are not allowed in a search pattern."
            i += 2
            continue
        if in_class:
            in_class = c != "]"
            i += 1
            continue
        if c == "[":
            in_class = True
            # A `]` right after `[` or `[^` is a literal inside the class.
            if pattern[i + 1 : i + 2] == "^":
                i += 1
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif c == "(":
            stack.append(False)
            i = _group_body(pattern, i + 1)
            continue
        elif c == ")":
            if not stack:
                return "The pattern has a `)` without its `(`."
            risky = stack.pop()
            repeated = _repeat_after(pattern, i + 1)
            if risky and repeated:
                return (
                    "A repeated group may not contain a quantifier or an alternation "
                    "(such as (a+)+ or (a|ab)*): such patterns can take exponential time. "
                    "Simplify the pattern."
                )
            if stack and (risky or repeated):
                stack[-1] = True
        elif stack and (c in "*+?|" or (c == "{" and _repeat_after(pattern, i))):
            stack[-1] = True
        i += 1
    if stack:
        return "The pattern has a `(` without its `)`."
    return None


def _group_body(pattern: str, i: int) -> int:
    """Where the body of a group opened just before `i` starts: past `?:`, `?=`,
    `?!`, `?<=`, `?<!`, `?>`, `?<name>` and inline flags such as `?i` (whose `)`
    closes the group as usual)."""
    if pattern[i : i + 1] != "?":
        return i
    for prefix in ("?<=", "?<!", "?:", "?=", "?!", "?>"):
        if pattern.startswith(prefix, i):
            return i + len(prefix)
    if pattern.startswith("?<", i):
        end = pattern.find(">", i)
        return end + 1 if end > 0 else i + 2
    i += 1
    while i < len(pattern) and (pattern[i].isalpha() or pattern[i] == "-"):
        i += 1
    return i + 1 if pattern[i : i + 1] == ":" else i


def _repeat_after(pattern: str, i: int) -> bool:
    """Whether the quantifier at `i` (if any) repeats: `*`, `+`, `{n,}`, `{n,m}` with m > 1."""
    c = pattern[i : i + 1]
    if c in ("*", "+"):
        return True
    if c == "{":
        end = pattern.find("}", i)
        if end < 0:
            return False
        low, _, high = pattern[i + 1 : end].partition(",")
        if "," not in pattern[i + 1 : end]:
            return low.strip().isdigit() and int(low) > 1
        return not high.strip() or (high.strip().isdigit() and int(high) > 1)
    return False


class Line(NamedTuple):
    """One stored line as a Lines query returns it (the engine's select, in order)."""

    ts_micros: int | None
    level: str | None
    service: str | None
    ip: str | None
    error_type: str | None
    file: int  # position in the analysis
    row_id: int
    status: str
    message: str | None
    truncated: bool | None
    endpoint: str | None
    pattern_id: str | None = None  # None: the analysis was made before patterns
    pattern: str | None = None  # the pattern's template

    @property
    def ts(self) -> datetime | None:
        return None if self.ts_micros is None else from_micros(self.ts_micros)

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.ts_micros, self.file, self.row_id)


@dataclass(frozen=True)
class LinesPage:
    lines: list[Line]
    next: Cursor | None  # after the last line, when there are more
