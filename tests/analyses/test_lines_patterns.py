"""Patterns in the Lines API and export (issue 21): each line carries `pattern_id`
and `pattern`, and `pattern=<id>` filters by them, on a real analysis of the
generated files (tests.analyses.lines_helpers) against a plain-Python reference:
the same messages mined with spark_client.mining, in the test.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

import pytest
from django.conf import settings

from analyses.models import AnalysisResult
from spark_client.mining import mine, miner_config
from tests.analyses.lines_helpers import reference
from tests.analyses.test_lines_api import every_page, lines_url

pytestmark = [pytest.mark.spark, pytest.mark.usefixtures("fast_passwords")]


def reference_patterns(expected) -> dict[str, tuple[str, str]]:
    """message -> (pattern id, template), mining every distinct message in Python."""
    config = miner_config(settings.LOGPLATFORM["analytics"]["patterns"])
    counts = Counter(x.message for x in expected if x.status != "blank")
    mined = mine(counts.items(), config)
    templates = mined.by_id()
    return {m: (pid, templates[pid].template) for m, pid in mined.pattern_of.items()}


def test_every_line_carries_the_pattern_the_reference_mines(api, bob, generated_analysis):
    patterns = reference_patterns(generated_analysis.expected)
    by_key = {(generated_analysis.ids[x.file], x.line): x for x in generated_analysis.expected}
    every_status = ["ok", "continuation", "unparsed", "blank"]
    body = (
        api(bob)
        .get(lines_url(generated_analysis.analysis.pk), {"limit": "500", "status": every_status})
        .json()
    )
    assert len(body["results"]) == len(generated_analysis.expected)
    for x in body["results"]:
        e = by_key[(x["file"]["id"], x["line"])]
        if e.status == "blank":
            assert x["pattern_id"] is None and x["pattern"] is None
        else:
            assert (x["pattern_id"], x["pattern"]) == patterns[e.message], x
    # The document lists the same patterns with the same counts.
    document = AnalysisResult.objects.get(analysis=generated_analysis.analysis).document["patterns"]
    counts = Counter(patterns[x.message] for x in generated_analysis.expected if x.status != "blank")
    assert {(p["id"], p["template"]): p["count"] for p in document["items"]} == counts


def test_a_filter_on_patterns_pages_through_exactly_their_lines(api, bob, generated_analysis):
    patterns = reference_patterns(generated_analysis.expected)
    client = api(bob)
    common = Counter(patterns[x.message][0] for x in generated_analysis.expected if x.status != "blank")
    ids = [pid for pid, _ in common.most_common()]
    # One pattern, two repeated, two comma-separated, and with a level.
    queries = [
        {"pattern": ids[0]},
        {"pattern": [ids[1], ids[-1]]},
        {"pattern": f"{ids[2]},{ids[3]}"},
        {"pattern": ids[0:4], "level": "ERROR"},
    ]
    for query in queries:
        wanted = set(query["pattern"] if isinstance(query["pattern"], list) else query["pattern"].split(","))
        for order in ("newest", "oldest"):
            q = {**query, "order": order, "limit": "50"}
            without = {k: v for k, v in q.items() if k != "pattern"}
            expected = [
                key
                for key in reference(
                    generated_analysis.expected, without, generated_analysis.positions, generated_analysis.ids
                )
                if _pattern_of(generated_analysis, key, patterns) in wanted
            ]
            assert expected, query
            assert every_page(client, generated_analysis.analysis.pk, q) == expected, (query, order)


def _pattern_of(generated, key, patterns) -> str | None:
    by_key = {(generated.ids[x.file], x.line): x for x in generated.expected}
    x = by_key[key]
    return None if x.status == "blank" else patterns[x.message][0]


def test_a_wrong_pattern_id_is_a_400_naming_it(api, bob, generated_analysis):
    response = api(bob).get(lines_url(generated_analysis.analysis.pk), {"pattern": "not-an-id"})
    assert response.status_code == 400
    assert "pattern" in json.dumps(response.json())


def test_an_analysis_without_patterns_has_null_patterns_and_refuses_the_filter(api, bob, generated_analysis):
    result = AnalysisResult.objects.get(analysis=generated_analysis.analysis)
    del result.document["lines"]["patterns"]
    result.save(update_fields=["document"])
    client = api(bob)
    body = client.get(lines_url(generated_analysis.analysis.pk), {"limit": "50"}).json()
    assert body["results"] and all(x["pattern_id"] is None and x["pattern"] is None for x in body["results"])
    response = client.get(lines_url(generated_analysis.analysis.pk), {"pattern": "0123456789abcdef"})
    assert response.status_code == 400 and "re-run" in json.dumps(response.json())


def test_exports_carry_the_patterns(api, bob, generated_analysis):
    patterns = reference_patterns(generated_analysis.expected)
    by_key = {(x.file, x.line): x for x in generated_analysis.expected}
    client = api(bob)
    url = lines_url(generated_analysis.analysis.pk, "export/")
    response = client.get(url, {"format": "csv"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows and list(rows[0])[-2:] == ["pattern_id", "pattern"]
    for row in rows:
        e = by_key[(row["file"], int(row["line"]))]
        pid, template = patterns[e.message]
        assert row["pattern_id"] == pid
        # A template is log text: formula-safe like the message.
        assert row["pattern"] in (template, "'" + template)
    response = client.get(url, {"format": "jsonl"})
    lines = [json.loads(x) for x in b"".join(response.streaming_content).decode().splitlines()]
    assert len(lines) == len(rows)
    for x in lines:
        e = by_key[(x["file"]["name"], x["line"])]
        assert (x["pattern_id"], x["pattern"]) == patterns[e.message]
