"""The engine's pattern step (issue 21, docs/patterns.md): every stored line gets a
message key, the keys are grouped in Spark and mined in the worker, and the
result document's `patterns` agrees line for line with the stored lines joined
to the key -> pattern mapping. Checked on the loghub samples (their EventIds and
EventTemplates are the ground truth) read back with pyarrow, not with the engine.
"""

from __future__ import annotations

import csv
import random
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import yaml

from bench.key_cost import HEX_PREFIXED, SAME_KEYS, variants
from spark_client import lines_layout
from spark_client.engine import analyze, lines, pattern_keys
from spark_client.engine.lines_query import lines_frame
from spark_client.engine.pattern_keys import KEY_CHARS, MAPPING_DIR, MAPPING_FILE, key_regex
from spark_client.engine.pattern_mining import CATCH_ALL, CATCH_ALL_ID, sparkline_for
from spark_client.engine.patterns import MASKS
from spark_client.mining import miner_config, pattern_id
from spark_client.types import InputFile
from tests.spark_client.conftest import CONFIG, engine_options
from tests.spark_client.grouping_accuracy import LOGHUB, grouping_accuracy
from tests.spark_client.linear_regex import problems

pytestmark = pytest.mark.spark

SECTION = yaml.safe_load(CONFIG.read_text())["analytics"]["patterns"]
KEY_MASKS = tuple(SECTION["key_masks"])


def pattern_options(**overrides):
    miner = miner_config({**SECTION, **overrides})
    return engine_options(
        patterns=miner, patterns_max_listed=SECTION["max_listed"], pattern_key_masks=KEY_MASKS
    )


def loghub_rows(system: str) -> list[dict]:
    with (LOGHUB / f"{system}_2k.log_structured.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def linux_syslog(rows: list[dict]) -> str:
    """The Linux sample as the raw syslog file it came from."""
    out = []
    for r in rows:
        program = f"{r['Component']}[{r['PID']}]" if r["PID"] else r["Component"]
        out.append(f"{r['Month']} {int(r['Date']):>2} {r['Time']} combo {program}: {r['Content']}")
    return "\n".join(out) + "\n"


def run(spark, tmp_path: Path, name: str, text: str, options):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    lines_dir = tmp_path / "lines" / "run"
    output = analyze(spark, [InputFile(1, str(path), name)], options, lines_dir=str(lines_dir))
    return output, lines_dir


def stored(lines_dir: Path, blocks) -> list[dict]:
    """Every stored row with its line number and pattern (the mapping joined in Python)."""
    partitioning = ds.HivePartitioning.discover(null_fallback=lines_layout.NULL_PARTITION)
    rows = ds.dataset(lines_dir, format="parquet", partitioning=partitioning).to_table().to_pylist()
    mapping = {
        r["message_key"]: (r["pattern_id"], r["pattern"])
        for r in pq.read_table(lines_dir / MAPPING_DIR / MAPPING_FILE).to_pylist()
    }
    for r in rows:
        r["line"] = lines_layout.line_number(blocks, r["file"], r["row_id"])
        r["mapped"] = r["message_key"] in mapping
        r["pattern_id"], r["pattern"] = (
            (None, None)
            if r["message_key"] is None
            else mapping.get(r["message_key"], (CATCH_ALL_ID, CATCH_ALL))
        )
    return sorted(rows, key=lambda r: r["line"])


def first_message(lines: list[dict]) -> str:
    """A key's example as the engine picks it: the message of its line with the least
    row id (the least of those if files share that id)."""
    least = min(r["row_id"] for r in lines)
    return min((r["message"] or "")[:KEY_CHARS] for r in lines if r["row_id"] == least)


def check_document(patterns: dict, rows: list[dict]) -> None:
    """Each listed pattern's figures are those of the stored lines that have it."""
    timed = [r for r in rows if r["pattern_id"] is not None]
    by_id: dict[str, list[dict]] = {}
    for r in timed:
        by_id.setdefault(r["pattern_id"], []).append(r)
    items = patterns["items"]
    assert patterns["total"] == len(by_id) == len(items)
    assert [(-p["count"], p["template"]) for p in items] == sorted(
        (-p["count"], p["template"]) for p in items
    )
    spark_line = patterns["sparkline"]
    start = datetime.fromisoformat(spark_line["start"])
    for p in items:
        own = by_id[p["id"]]
        assert p["id"] == pattern_id(p["template"])
        assert {r["pattern"] for r in own} == {p["template"]}
        assert p["count"] == len(own)
        assert p["errors"] == sum(1 for r in own if r["is_error"])
        assert p["levels"] == dict(Counter(r["level"] for r in own if r["level"]))
        stamps = sorted(r["ts"].replace(tzinfo=UTC) for r in own if r["ts"] is not None)
        first = stamps[0].replace(microsecond=0).isoformat() if stamps else None
        last = stamps[-1].replace(microsecond=0).isoformat() if stamps else None
        if p["id"] == CATCH_ALL_ID:  # the rest past the cap: the analysis's first and last, a bound
            assert p["first_ts"] <= first and p["last_ts"] >= last
        else:
            assert (p["first_ts"], p["last_ts"]) == (first, last)
        assert p["example"] in {(r["message"] or "")[:500] for r in own}
        if p["id"] != CATCH_ALL_ID:
            # The example of its most frequent key: that key's line with the least row id.
            by_key: dict[int, list[dict]] = {}
            for r in own:
                by_key.setdefault(r["message_key"], []).append(r)
            best = min(by_key.values(), key=lambda lines: (-len(lines), first_message(lines)))
            assert p["example"] == first_message(best)[:500]
        expected = [0] * spark_line["buckets"]
        for moment in stamps:
            index = int((moment - start).total_seconds()) // spark_line["bucket_seconds"]
            expected[min(index, spark_line["buckets"] - 1)] += 1
        assert p["sparkline"] == expected, p["template"]


def masked(message: str) -> str:
    """An error type as the masks make it (docs/formats.md), in Python's re."""
    out = message[:2000]
    for pattern, replacement in MASKS:
        out = re.sub(pattern, replacement, out)
    return out.strip()[:300]


def check_error_types(output, rows: list[dict]) -> Counter:
    """The analysis's error types are its error lines' patterns (cut to 300
    characters); a line whose key was past the miner's cap gets its masked
    message. Returns the expected count per type."""
    expected = Counter(
        r["pattern"][:300] if r["mapped"] else masked(r["message"]) for r in rows if r["is_error"]
    )
    assert expected, "the sample has error lines"
    assert output.summary["distinct_error_types"] == len(expected)
    listed = output.tables["errors_by_type"]
    assert listed and all(row["count"] == expected[row["error_type"]] for row in listed)
    assert [row["count"] for row in listed] == sorted(expected.values(), reverse=True)[: len(listed)]
    return expected


def test_loghub_csv_lines_keep_their_event_template(spark, tmp_path):
    rows = loghub_rows("Hadoop")
    text = (LOGHUB / "Hadoop_2k.log_structured.csv").read_text(encoding="utf-8")
    output, lines_dir = run(spark, tmp_path, "hadoop.csv", text, pattern_options())
    got = stored(lines_dir, output.lines.blocks)
    assert len(got) == len(rows)
    for r, truth in zip(got, rows, strict=True):
        assert r["line"] == int(truth["LineId"]) + 1  # the header is line 1
        assert r["pattern"] == truth["EventTemplate"], r["line"]
    patterns = output.patterns
    assert {p["template"] for p in patterns["items"]} == {r["EventTemplate"] for r in rows}
    assert patterns["distinct_messages"] == len({r["EventTemplate"] for r in rows})
    assert patterns["capped"] is False
    check_document(patterns, got)


@pytest.fixture(params=["inline", "joined"])
def error_types_from(request, monkeypatch):
    """The aggregation takes the error lines' types from a map written into its query
    (a mapping of at most INLINE_KEYS keys) or joins the mapping's file (a larger
    one); the tests that take this fixture check both give the same types. Returns
    the path and the sizes of the maps used (filled as the analysis runs)."""
    if request.param == "joined":
        monkeypatch.setattr(pattern_keys, "INLINE_KEYS", 0)
    calls = []
    real = lines.with_error_types

    def spy(df, error_types):
        calls.append(len(error_types))
        return real(df, error_types)

    monkeypatch.setattr(lines, "with_error_types", spy)
    return request.param, calls


def check_path(error_types_from, keys: int) -> None:
    path, calls = error_types_from
    assert calls == ([keys] if path == "inline" else [])


def test_every_line_of_a_raw_log_gets_a_mined_pattern(spark, tmp_path, error_types_from):
    rows = loghub_rows("Linux")
    output, lines_dir = run(spark, tmp_path, "linux.log", linux_syslog(rows), pattern_options())
    check_path(error_types_from, output.patterns["distinct_messages"])
    got = stored(lines_dir, output.lines.blocks)
    assert [r["line"] for r in got] == list(range(1, len(rows) + 1))
    assert all(r["pattern_id"] is not None for r in got)
    ga = grouping_accuracy([r["pattern_id"] for r in got], [r["EventId"] for r in rows])
    print(f"GA of the engine's patterns on the raw Linux sample: {ga:.4f}")
    assert ga >= 0.90
    patterns = output.patterns
    assert patterns["capped"] is False
    assert patterns["distinct_messages"] == len({r["message_key"] for r in got})
    assert patterns["sparkline"]["buckets"] == 24  # six weeks: 24 buckets of whole hours
    assert patterns["sparkline"]["bucket_seconds"] % 3600 == 0
    check_document(patterns, got)
    # The write, the keys' figures, their example lines, the aggregation.
    assert output.stats["spark_queries"] == 4 and output.stats["patterns_seconds"] > 0
    types = check_error_types(output, got)
    # One event, one type: each pattern's error lines are one error type.
    assert set(types) == {r["pattern"][:300] for r in got if r["is_error"]}
    # The mapping counts as the lines' bytes on disk (it is deleted with them).
    assert output.lines.bytes == sum(p.stat().st_size for p in lines_dir.rglob("*") if p.is_file())


def test_keys_past_the_cap_get_the_catch_all_pattern(spark, tmp_path, error_types_from):
    rows = loghub_rows("Linux")
    output, lines_dir = run(
        spark, tmp_path, "linux.log", linux_syslog(rows), pattern_options(max_distinct=10)
    )
    check_path(error_types_from, 10)
    got = stored(lines_dir, output.lines.blocks)
    patterns = output.patterns
    assert patterns["capped"] is True and patterns["distinct_messages"] == 10
    mapped = pq.read_table(lines_dir / MAPPING_DIR / MAPPING_FILE)
    assert mapped.num_rows == 10
    rest = [r for r in got if r["pattern_id"] == CATCH_ALL_ID]
    assert rest and len({r["message_key"] for r in rest}) > 10
    assert sum(p["count"] for p in patterns["items"]) == len(got)
    check_document(patterns, got)
    assert output.stats["spark_queries"] == 5  # and the totals, for the rest past the cap
    types = check_error_types(output, got)
    unmapped = {masked(r["message"]) for r in got if r["is_error"] and not r["mapped"]}
    assert unmapped and unmapped <= set(types) and CATCH_ALL not in types


def test_without_patterns_the_lines_have_no_keys(spark, tmp_path):
    rows = loghub_rows("Linux")[:200]
    output, lines_dir = run(spark, tmp_path, "linux.log", linux_syslog(rows), engine_options())
    assert output.patterns is None and output.patterns_mapping is None
    assert not (lines_dir / MAPPING_DIR).exists()
    keys = ds.dataset(lines_dir, format="parquet", partitioning="hive").to_table(columns=["message_key"])
    assert keys.column("message_key").null_count == keys.num_rows == 200
    assert output.stats["spark_queries"] == 2


def test_the_sparkline_is_hourly_up_to_a_day_then_24_buckets():
    assert sparkline_for(None, None).buckets == 0
    one = sparkline_for("2024-03-01T14:20:00", "2024-03-01T14:40:00")
    assert (one.start, one.bucket_seconds, one.buckets) == (1709301600, 3600, 1)
    day = sparkline_for("2024-03-01T00:00:00", "2024-03-01T23:59:59")
    assert (day.bucket_seconds, day.buckets) == (3600, 24)
    longer = sparkline_for("2024-03-01T00:10:00", "2024-03-02T00:00:00")
    assert longer.bucket_seconds == 7200 and longer.buckets == 13
    assert longer.as_document()["start"] == "2024-03-01T00:00:00+00:00"


def test_the_key_regex_of_the_shipped_masks_is_linear():
    """Each alternative keeps the rules (linear_regex), so the alternation is linear
    too: at each start it costs what the alternatives cost there, summed. (The
    checker reads one guarded pattern, not an alternation of them.)"""
    assert KEY_MASKS
    for pattern in KEY_MASKS:
        assert problems(pattern) == [], pattern
    assert key_regex(KEY_MASKS) == "|".join(f"(?:{p})" for p in KEY_MASKS)


# Hex letters, dashes and dots near digits, words that end in hex letters, and
# characters Java's and Python's \w and \d do not share.
FRAGMENTS = (
    "cache", "cach", "dead", "beef", "Face", "-", ".", " ", "_", ":", "/", "=", "x", "0",
    "7", "42", "1.2", "host", "user", "abc", "F", "e-", "é", "ß", "\u0663", "a" * 12,
)  # fmt: skip


def test_the_key_variants_the_bench_compares_group_as_the_shipped_key(spark):
    """bench.key_cost times cheaper keys against the shipped one: those it counts
    as equivalent must give two messages one key exactly when the shipped mask
    makes them one text (Python's `re` in ASCII mode standing for Java's regex),
    for messages without a run of more than 16 hex letters and dashes before a
    digit; else the comparison would time different work."""
    assert KEY_MASKS == (HEX_PREFIXED,)
    reference = re.compile(HEX_PREFIXED, re.ASCII)
    rng = random.Random(21)
    messages = {"".join(rng.choices(FRAGMENTS, k=rng.randint(1, 7))) for _ in range(3000)}
    messages |= {"x" * (KEY_CHARS - 3) + "ab" + tail for tail in ("1", "2", "", "c")}
    messages = sorted(m for m in messages if not re.search(r"[a-fA-F-]{17}\d", m))
    expected = partition({m: reference.sub("<*>", m[:KEY_CHARS]) for m in messages})
    assert sum(len(group) > 1 for group in expected) > 50  # messages do share keys

    frame = spark.createDataFrame([(m,) for m in messages], "message string")
    keyed = variants(KEY_MASKS)
    rows = frame.select(
        "message", *[keyed[name].alias(f"k{i}") for i, name in enumerate(SAME_KEYS)]
    ).collect()
    for i, name in enumerate(SAME_KEYS):
        assert partition({r["message"]: r[f"k{i}"] for r in rows}) == expected, name
    current = frame.select("message", keyed["current"].alias("k")).collect()
    assert partition({r["message"]: r["k"] for r in current}) == expected


def partition(keys: dict[str, object]) -> set[frozenset[str]]:
    groups: dict[object, set[str]] = {}
    for message, key in keys.items():
        groups.setdefault(key, set()).add(message)
    return {frozenset(g) for g in groups.values()}


def test_a_mapping_from_before_error_types_were_patterns_shows_masked_types(spark, tmp_path):
    """Lines of an analysis stored before error types were patterns: their mapping
    has no `error_type`, their results hold masked types, and the Lines view must
    show those. (Lines stored now have no masked type: it is made when read.)"""
    rows = loghub_rows("Linux")
    output, lines_dir = run(spark, tmp_path, "linux.log", linux_syslog(rows), pattern_options())
    mapping = lines_dir / MAPPING_DIR / MAPPING_FILE
    table = pq.read_table(mapping)
    assert table.column("error_type").to_pylist() == [p[:300] for p in table.column("pattern").to_pylist()]
    got = stored(lines_dir, output.lines.blocks)
    frame = lines_frame(spark, str(lines_dir), str(mapping.parent))
    shown = {(r["file"], r["row_id"]): r["error_type"] for r in frame.collect()}
    assert {k for k, v in shown.items() if v is not None} == {
        (r["file"], r["row_id"]) for r in got if r["is_error"]
    }
    assert all(shown[(r["file"], r["row_id"])] == r["pattern"][:300] for r in got if r["is_error"])

    # Written without the error types, the lines of an error show its masked
    # message, as the analyses made before stored it.
    pq.write_table(table.drop_columns(["error_type"]), mapping)
    frame = lines_frame(spark, str(lines_dir), str(mapping.parent))
    old = {(r["file"], r["row_id"]): r["error_type"] for r in frame.collect()}
    assert old == {(r["file"], r["row_id"]): masked(r["message"]) if r["is_error"] else None for r in got}
    assert any(masked(r["message"]) != r["pattern"][:300] for r in got if r["is_error"])


def test_an_inline_mapping_of_the_largest_size_types_each_error_line(spark):
    """INLINE_KEYS keys in the query's map: each error line of a mapped key gets its
    key's type, an unmapped one its masked message, a non-error line keeps its own."""
    mapping = [(k * 7919 - 10**12, f"p{k}", f"template {k} <*>") for k in range(pattern_keys.INLINE_KEYS)]
    types = pattern_keys.inline_error_types(mapping)
    assert types is not None and len(types) == pattern_keys.INLINE_KEYS
    assert pattern_keys.inline_error_types([*mapping, (1, "p", "t")]) is None
    schema = "message_key bigint, is_error boolean, error_type string, event_template string, message string"
    rows = [(key, True, None, None, "x") for key, _, _ in mapping[::97]]
    rows += [(5, True, None, None, "disk 42 failed"), (mapping[0][0], False, "own", None, "y")]
    got = pattern_keys.with_error_types(spark.createDataFrame(rows, schema), types).collect()
    expected = [types[key] for key, *_ in rows[:-2]] + [masked("disk 42 failed"), "own"]
    assert [r["error_type"] for r in got] == expected
