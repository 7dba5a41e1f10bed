"""Line patterns of the raw formats, shared by detection (Python `re`) and parsing
(Spark, Java regex). Only constructs both engines read the same way are used:
positional groups, no named groups; possessive quantifiers (`*+`, `++`: Java, and
Python since 3.11).

Every pattern here takes time linear in the line, whatever the line. Both engines
backtrack: a line built to make a pattern try every split of a long run (blanks,
`[`, `"`, digits) costs its length squared, and Python's `re` holds the GIL the
whole time, so the worker's lease heartbeat stops with it. Java's matcher also
recurses once per iteration of a greedy group loop, and a task's stack overflow
stops the whole SparkContext. So:
- no two neighbouring quantified parts can match the same character unless the
  first gives nothing back (possessive, or followed by a character it cannot match);
- a repeated group is possessive: Java runs a possessive loop iteratively;
- what precedes a final `(.*)$` is fixed once matched, because Java's `.` stops at
  U+0085, U+2028 and U+2029 and `$` then fails late: every split before it would be
  tried again.
Each rewrite matches the same lines with the same groups as the greedy pattern it
replaced (tests/spark_client/test_pathological_lines.py compares them), and lines
are cut to `analytics.max_line_chars` before any of these run.
"""

from __future__ import annotations

import re

MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
WEEKDAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
ISO_TS = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d{1,9})?"
LEVEL_WORD = r"[A-Za-z]+"
# What Java's `.` does not match. Python's `.` only leaves out \n, but detection's
# lines (str.splitlines) never hold any of these.
NOT_LINE_END = r"\n\r\u0085\u2028\u2029"

# Each pattern matches a whole line. The group numbers are used by engine.parsers.
RAW_PATTERNS: dict[str, str] = {
    # <PRI>? Mmm dd HH:mm:ss host tag[pid]: message  (the tag may hold spaces: "-- root").
    # The tag starts at the first non-blank after the host; it is the last blank
    # only when a colon or bracket follows the blanks at once ("host  : msg").
    "syslog": (
        r"^(?:<(\d{1,3})>)?(" + MONTH + r"\s+\d{1,2}\s+\d{2}:\d{2}:\d{2})\s+(\S+)\s+"
        r"([^:\[\]\s][^:\[\]]*?|\s(?=[:\[\]]))(?:\[(\d+)\])?:\s?(.*)$"
    ),
    # <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD]|- MSG
    "syslog5424": (r"^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\]|\\.)*+\])++)(?: (.*))?$"),
    # 17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: message
    "log4j_spark": r"^(\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2})\s+(" + LEVEL_WORD + r")\s+([^\s:]+):\s?(.*)$",
    # 2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.Class: message
    "log4j_iso": (r"^(" + ISO_TS + r")\s+(" + LEVEL_WORD + r")\s+\[([^\]]*)\]\s+([^\s:]++):?\s?(.*)$"),
    # 2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0.0.0.0:2181:FastLeaderElection@774] - msg
    # The thread ends at the first "] -" (it may hold brackets of its own).
    "log4j_dash": (
        r"^(" + ISO_TS + r")\s+-\s+(" + LEVEL_WORD + r")\s+"
        r"\[((?:[^\]" + NOT_LINE_END + r"]|\](?!\s+-))*+)\]\s+-\s?(.*)$"
    ),
    # [Sun Dec 04 04:47:44 2005] [error] [client 1.2.3.4] message   (2.4: [core:error] [pid 1:tid 2])
    "apache_error": (
        r"^\[(" + WEEKDAY + r" " + MONTH + r" +\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \d{4})\] "
        r"\[([^\]]+)\](?: \[pid [^\]]*\])?(?: \[client ([^\]]+)\])?\s?(.*)$"
    ),
    # 2024/01/15 10:30:00 [error] 1234#0: *1 message, client: 1.2.3.4, request: "GET /x HTTP/1.1"
    "nginx_error": r"^(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[(\w+)\] (\d+)#(\d+): (.*)$",
    # 1.2.3.4 - user [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "ref" "agent"
    "access_log": (
        r'^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*+)" (\d{3}|-) (\d++|-)'
        r'(?: "((?:[^"\\]|\\.)*+)" "((?:[^"\\]|\\.)*+)")?.*$'
    ),
}

# Lines that continue the previous event (stack traces) rather than start one.
CONTINUATION = r"^(?:\s+\S.*|Caused by: .*|\.\.\. \d+ more|[\w$.]+(?:Exception|Error|Throwable)(?::.*)?)$"

# First IPv4 address in a text.
IPV4 = r"(?<![\d.])((?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})(?![\d.])"

# Masks that turn a message into its error type, applied in order.
MASKS: list[tuple[str, str]] = [
    (r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", "<UUID>"),
    (r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?(?![\d.])", "<IP>"),
    (r'"[^"]*"', '"<STR>"'),
    (r"(?<![A-Za-z0-9])'[^']*'", "'<STR>'"),
    (r"\b0[xX][0-9a-fA-F]+\b", "<HEX>"),
    (r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b", "<HEX>"),
    (r"\d+(?:\.\d+)?", "<NUM>"),
    (r"\s+", " "),
]

COMPILED = {name: re.compile(p) for name, p in RAW_PATTERNS.items()}
CONTINUATION_RE = re.compile(CONTINUATION)
