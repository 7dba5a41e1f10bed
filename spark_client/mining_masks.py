"""The template miner's text side (issue 21): the masks that turn variable text
into `<*>`, and the split of a masked message into tokens. No pyspark, no Django.

The masks are written in what Python's `re` and Java's regex read alike, so the
engine applies some of them in Spark too (spark_client.engine.pattern_keys: the
key of a message); docs/patterns.md states the rules that keep each linear.
"""

from __future__ import annotations

import re
from typing import Protocol

WILDCARD = "<*>"
# A longer message is read as its head: what tells events apart comes first, and
# the masks and the tree then read a bounded text.
MAX_MESSAGE_CHARS = 4096
# Tokens past this many are folded into the last one: comparing a message with a
# template costs at most this many token comparisons.
MAX_TOKENS = 128

MONTHS = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]{0,6}"
WEEKDAYS = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]{0,6}"

# (name, pattern, replacement), applied in this order. Each pattern runs in time
# linear in the text (tests/spark_client/linear_regex.py states the rules and
# checks them): a quantifier inside a repeated group is possessive, a greedy run
# is never followed by something it could also match, and a run a match may fail
# after is reached from one start per run, not from each of its characters. They
# are written in what Python's `re` and Java's regex read alike, so the engine may
# apply them in Spark too, and each leaves `<*>` unchanged (masking twice is
# masking once).
DEFAULT_MASKS: tuple[tuple[str, str, str], ...] = (
    (
        "uuid",
        r"(?<![0-9A-Za-z])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
        r"(?![0-9A-Za-z])",
        WILDCARD,
    ),
    ("quoted", r'"[^"]*+"', WILDCARD),
    ("url", r"(?<![\w+.-])[A-Za-z][\w+.-]*+://[^\s\"'<>()\[\]{},;]++", WILDCARD),
    ("path", r"(?<![\w./+@-])(?:[A-Za-z]:)?+(?:/[\w.+@-]++){2,}+/?+", WILDCARD),
    (
        "datetime",
        r"(?<![\w-])\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?+(?:[.,]\d++)?+(?:Z|[+-]\d{2}:?\d{2})?+)?+"
        r"(?![\w-])",
        WILDCARD,
    ),
    ("date", r"\b(?:" + WEEKDAYS + r",?\s++)?+" + MONTHS + r"\.?\s++\d{1,2}\b(?:,?\s++\d{4}\b)?+", WILDCARD),
    ("time", r"(?<![\w:])\d{1,2}:\d{2}(?::\d{2})?+(?:[.,]\d++)?+(?![\w:])", WILDCARD),
    # Colon-separated hex groups: IPv6 (uncompressed or with one `::`), MAC addresses.
    ("ipv6", r"(?<![\w:])(?:[0-9a-fA-F]{1,4}|:)(?::[0-9a-fA-F]{0,4}+){2,7}+(?![\w:])", WILDCARD),
    ("host_port", r"(?<![\w.-])[A-Za-z0-9][\w-]*+(?:\.[\w-]++)++:\d{1,5}(?![\w.:])", WILDCARD),
    ("ipv4", r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?+(?![\w.])", WILDCARD),
    (
        "hex",
        r"(?<![\w.])(?:0[xX][0-9a-fA-F]++|(?=[a-fA-F]*+\d)(?=\d*+[a-fA-F])[0-9a-fA-F]{8,}+)(?![\w.])",
        WILDCARD,
    ),
    (
        "size_or_duration",
        r"(?<![\w.])\d++(?:\.\d++)?+\s?+(?:[KMGTP]i?B|B|bytes|ms|us|ns|s|sec|secs|seconds|mins?|minutes)\b",
        WILDCARD,
    ),
    # key=value whose value holds a digit or looks like an address (uid=0,
    # rhost=host.example.org); a plain word (user=root) stays: it names the event.
    (
        "key_value",
        r"(?<==)(?=[^\s,;=()\[\]{}\d.:/@]*+[\d.:/@])[^\s,;=()\[\]{}]++",
        WILDCARD,
    ),
    # Digits not glued to a letter before them: 42, 0.5, 1.2.3, 123ms, rdd_11_0
    # (but IPv4, SOCKS5, en0 keep theirs: a digit after a letter is mostly a name).
    ("number", r"(?<![A-Za-z\d.])\d++(?:\.\d++)*+", WILDCARD),
)


class Masked(Protocol):
    """What `mask` reads of a MinerConfig: its compiled masks, in order."""

    compiled: tuple[tuple[re.Pattern[str], str], ...]


def mask(message: str, config: Masked) -> str:
    """The message's head with every mask applied in order."""
    text = message[:MAX_MESSAGE_CHARS]
    for pattern, replacement in config.compiled:
        text = pattern.sub(replacement, text)
    return text[:MAX_MESSAGE_CHARS]  # `<*>` is longer than a digit


TOKEN = re.compile(r"\s*+(?:[^\s=,:]*+[=,:]|[^\s=,:]++)")
# A token that is only a value: `<*>`, perhaps quoted, bracketed or followed by punctuation.
VALUE_ONLY = re.compile(r"[^\w<>*]*+<\*>[^\w<>*]*+")


def _value_only(token: str) -> bool:
    return WILDCARD in token and VALUE_ONLY.fullmatch(token.strip()) is not None


def tokens_of(masked: str) -> tuple[tuple[str, ...], tuple[bool, ...]]:
    """The tokens of a masked message, and for each whether blanks precede it."""
    raw: list[str] = []
    previous_value = False
    for token in TOKEN.findall(masked):
        value = _value_only(token)
        if value and previous_value:
            # One value over several tokens; keep a separator the split ended on.
            lead = " " if raw[-1][:1].isspace() else ""
            raw[-1] = lead + WILDCARD + (token[-1] if token[-1] in "=,:" else "")
            continue
        raw.append(token)
        previous_value = value
    if len(raw) > MAX_TOKENS:
        raw[MAX_TOKENS - 1 :] = ["".join(raw[MAX_TOKENS - 1 :])]
    return tuple(t.strip() for t in raw), tuple(t[:1].isspace() for t in raw)


def is_variable(token: str) -> bool:
    return WILDCARD in token
