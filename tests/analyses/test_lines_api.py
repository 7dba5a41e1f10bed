"""The Lines API: /api/v1/analyses/{id}/lines/ (a filtered page), …/lines/context/
and …/lines/export/, on real analyses of generated files checked against a
plain-Python reading of those files (tests.analyses.lines_helpers), and on many
stored lines for the bounds: a timeout, an unreachable server, a client that
goes away.
"""

from __future__ import annotations

import csv
import io
import json
import socket
from datetime import datetime
from urllib.parse import urlsplit

import pytest

from accounts import tokens
from analyses.models import Analysis
from analyses.reports import FORMULA_STARTS
from logplatform.processes import wait_until
from tests.analyses.helpers import make_analysis, store_result
from tests.analyses.lines_helpers import (
    FORMULAS,
    HEAVY_REGEX,
    Expected,
    attach_lines,
    reference,
    write_lines,
)
from tests.conftest import free_port
from tests.logdata import make_events, render_csv

pytestmark = [pytest.mark.spark, pytest.mark.usefixtures("fast_passwords")]


def lines_url(analysis_id: int, tail: str = "") -> str:
    return f"/api/v1/analyses/{analysis_id}/lines/{tail}"


def every_page(client, analysis_id: int, query: dict) -> list[tuple[int, int]]:
    """(file id, line) of every line over all pages, following `next`."""
    seen: list[tuple[int, int]] = []
    url = lines_url(analysis_id)
    params: dict | None = query
    for _ in range(200):
        response = client.get(url, params)
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [(x["file"]["id"], x["line"]) for x in body["results"]]
        if body["next"] is None:
            return seen
        assert len(body["results"]) == int(query.get("limit", 100))
        parts = urlsplit(body["next"])
        url, params = f"{parts.path}?{parts.query}", None
    raise AssertionError("more than 200 pages")


# Every filter alone and a few together; values are the generated files'.
FILTERS = {
    "nothing": {},
    "a level": {"level": "ERROR"},
    "levels, comma list": {"level": "warn,CRITICAL"},
    "levels, repeated": {"level": ["DEBUG", "INFO"]},
    "a time range": {"from": "2024-03-02T12:00:00", "to": "2024-03-04T06:30:00"},
    "from only": {"from": "2024-03-05T00:00:00"},
    "services": {"service": ["api", "org.example.auth"]},
    "no service": {"service": "(none)"},
    "an IP": {"ip": "192.168.1.7"},
    "an error type": {"error_type": "Connection timeout after <*> to <*>"},
    "text, any case": {"q": "TIMEOUT"},
    "text in a stack trace": {"q": "broken PIPE"},
    "a regex": {"q": r"^(user|disk) \S+ (login|usage)", "regex": "true"},
    "blank lines only": {"status": "blank"},
    "unparsed and continuation lines": {"status": ["unparsed", "continuation"]},
    "level, service and time range": {
        "level": ["ERROR", "CRITICAL", "WARN"],
        "service": ["api", "auth", "org.example.api"],
        "from": "2024-03-01T06:00:00",
        "to": "2024-03-04T18:00:00",
    },
    "text and level": {"q": "failed", "level": "ERROR"},
}


def test_every_filter_in_both_orders_pages_through_exactly_the_reference(api, bob, generated_analysis):
    client = api(bob)
    for name, query in FILTERS.items():
        for order in ("newest", "oldest"):
            q = {**query, "order": order, "limit": "50"}
            expected = reference(
                generated_analysis.expected, q, generated_analysis.positions, generated_analysis.ids
            )
            assert expected, f"{name}: the generated files should have lines for it"
            got = every_page(client, generated_analysis.analysis.pk, q)
            assert len(got) == len(set(got)), f"{name} {order}: a line came twice"
            assert got == expected, f"{name} {order}"


def test_a_filter_on_files_takes_their_ids(api, bob, generated_analysis):
    client = api(bob)
    ids = generated_analysis.ids
    q = {"file": [str(ids["worker.log"]), str(ids["events.jsonl"])], "limit": "500"}
    got = every_page(client, generated_analysis.analysis.pk, q)
    assert got == reference(generated_analysis.expected, q, generated_analysis.positions, ids)
    assert {file_id for file_id, _ in got} == {ids["worker.log"], ids["events.jsonl"]}


def test_each_line_is_shown_as_it_is_in_its_file(api, bob, generated_analysis):
    by_key = {(generated_analysis.ids[x.file], x.line): x for x in generated_analysis.expected}
    every_status = ["ok", "continuation", "unparsed", "blank"]
    body = (
        api(bob)
        .get(lines_url(generated_analysis.analysis.pk), {"limit": "500", "status": every_status})
        .json()
    )
    assert body["next"] is None and len(body["results"]) == len(generated_analysis.expected)
    for x in body["results"]:
        e = by_key[(x["file"]["id"], x["line"])]
        ts = datetime.fromisoformat(x["ts"].replace("Z", "+00:00")) if x["ts"] else None
        shown = (ts, x["level"], x["service"], x["ip"], x["error_type"], x["status"], x["message"])
        assert shown == (e.ts, e.level, e.service, e.ip, e.error_type, e.status, e.message), x
        assert x["file"]["name"] == e.file and x["truncated"] is False
        assert x["context_url"].endswith(f"/lines/context/?file={x['file']['id']}&line={x['line']}")


def test_the_context_of_a_line_is_the_twenty_lines_before_and_after_it(api, bob, generated_analysis):
    client = api(bob)
    ids = generated_analysis.ids
    by_file: dict[str, dict[int, Expected]] = {}
    for x in generated_analysis.expected:
        by_file.setdefault(x.file, {})[x.line] = x
    for name, line in [
        ("worker.log", 100),
        ("worker.log", 3),
        ("app.csv", 2),
        ("app.csv", 201),
        ("events.jsonl", 46),
    ]:
        response = client.get(
            lines_url(generated_analysis.analysis.pk, "context/"), {"file": ids[name], "line": line}
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["line"] == line and body["file"] == {"id": ids[name], "name": name}
        wanted = [n for n in range(line - 20, line + 21) if n in by_file[name]]
        assert [x["line"] for x in body["lines"]] == wanted
        assert [x["message"] for x in body["lines"]] == [by_file[name][n].message for n in wanted]
        assert [x["line"] for x in body["lines"] if x["current"]] == [line]


def _export(client, analysis_id: int, query: dict) -> tuple[str, str]:
    response = client.get(lines_url(analysis_id, "export/"), query)
    assert response.status_code == 200, response.content
    assert response.streaming
    return response["Content-Type"], b"".join(response.streaming_content).decode()


def test_an_export_is_every_matching_line_as_csv_or_json_lines(api, bob, generated_analysis):
    client = api(bob)
    by_key = {(generated_analysis.ids[x.file], x.line): x for x in generated_analysis.expected}
    for query in ({}, {"level": "INFO", "order": "oldest"}, {"q": "Disk", "service": "(none)"}):
        expected = reference(
            generated_analysis.expected, query, generated_analysis.positions, generated_analysis.ids
        )
        content_type, text = _export(client, generated_analysis.analysis.pk, {**query, "format": "jsonl"})
        assert content_type == "application/x-ndjson"
        rows = [json.loads(line) for line in text.splitlines()]
        assert [(r["file"]["id"], r["line"]) for r in rows] == expected
        assert [r["message"] for r in rows] == [by_key[k].message for k in expected]

        content_type, text = _export(client, generated_analysis.analysis.pk, {**query, "format": "csv"})
        assert content_type.startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [(int(r["file_id"]), int(r["line"])) for r in rows] == expected
        for r in rows:
            message = by_key[(int(r["file_id"]), int(r["line"]))].message
            # A cell a spreadsheet would run as a formula starts with an apostrophe.
            assert r["message"] == ("'" + message if message.startswith(FORMULA_STARTS) else message)


def test_an_export_neutralises_every_formula_and_names_a_safe_file(api, bob, generated_analysis):
    response = api(bob).get(
        lines_url(generated_analysis.analysis.pk, "export/"), {"format": "csv", "q": "", "limit": "50"}
    )
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="analysis-{generated_analysis.analysis.pk}-lines.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    formulas = [r["message"] for r in rows if r["message"].lstrip("'") in FORMULAS]
    assert len(formulas) >= len(FORMULAS)
    assert all(m.startswith("'") for m in formulas)
    assert not any(cell.startswith(FORMULA_STARTS) for r in rows for cell in r.values() if cell)


def test_another_teams_analysis_answers_404_everywhere(api, charlie, generated_analysis):
    client = api(charlie)
    for tail, query in [("", {}), ("context/", {"file": 1, "line": 2}), ("export/", {"format": "csv"})]:
        response = client.get(lines_url(generated_analysis.analysis.pk, tail), query)
        assert response.status_code == 404, tail
        assert response.json()["error"]["code"] == "not_found"


# --------------------------------------------------------------------------- many stored lines


@pytest.fixture(scope="module")
def many_lines(spark, storage_root):
    """200 000 stored lines of one file (lines_helpers.write_lines), written once."""
    relative = "lines/many/run"
    return relative, write_lines(spark, relative, 200_000)


@pytest.fixture
def stored(team_a, alice, tmp_path, many_lines) -> Analysis:
    events = make_events(20, seed=3)
    analysis = store_result(make_analysis(team_a, alice, tmp_path, text=render_csv(events)), events)
    return attach_lines(analysis, *many_lines)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2024-13-01"}, "to"),
        ({"from": "2024-03-02", "to": "2024-03-01"}, "from"),
        ({"level": "LOUD"}, "level"),
        ({"limit": "10"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"order": "random"}, "order"),
        ({"file": "999999"}, "file"),
        ({"q": "(a+)+$", "regex": "true"}, "q"),
        ({"q": r"(x)\1", "regex": "true"}, "q"),
        ({"q": "x" * 201, "regex": "true"}, "q"),
        ({"q": "a[", "regex": "true"}, "q"),  # malformed: Spark's own parser says so
        ({"regex": "maybe"}, "regex"),
    ],
)
def test_a_bad_filter_is_400_naming_it(api, bob, stored, query, field):
    response = api(bob).get(lines_url(stored.pk), query)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["details"]) == [field]
    assert error["message"]


def test_a_bad_context_or_export_is_400(api, bob, stored):
    client = api(bob)
    for tail, query, field in [
        ("context/", {"file": stored.files.get().pk}, "line"),
        ("context/", {"file": "x", "line": 3}, "file"),
        ("context/", {"file": stored.files.get().pk, "line": 999_999}, "line"),
        ("context/", {"file": 424242, "line": 3}, "file"),
        ("export/", {"format": "xlsx"}, "format"),
    ]:
        response = client.get(lines_url(stored.pk, tail), query)
        assert response.status_code == 400, (tail, query, response.content)
        assert field in response.json()["error"]["details"], response.json()


def test_an_analysis_without_stored_lines_is_409_saying_what_to_do(api, bob, team_a, alice, tmp_path):
    events = make_events(20, seed=4)
    old = store_result(make_analysis(team_a, alice, tmp_path, text=render_csv(events)), events)
    queued = make_analysis(team_a, alice, tmp_path, name="q.csv")
    client = api(bob)
    for tail in ("", "context/?file=1&line=1", "export/"):
        error = client.get(lines_url(old.pk, tail)).json()["error"]
        assert error["status"] == 409 and error["code"] == "no_lines"
        assert "re-run it" in error["message"]
        error = client.get(lines_url(queued.pk, tail)).json()["error"]
        assert error["status"] == 409 and "queued" in error["message"]


def test_a_search_past_the_timeout_is_stopped_and_answers_504(api, bob, stored, settings, caplog):
    configured = settings.LOGPLATFORM
    settings.LOGPLATFORM = {
        **configured,
        "lines": {"query_timeout_seconds": 0.5, "export_timeout_seconds": 0.5},
    }
    client = api(bob)
    with caplog.at_level("INFO", logger="analyses.lines"):
        for tail in ("", "export/"):
            response = client.get(lines_url(stored.pk, tail), {"q": HEAVY_REGEX, "regex": "true"})
            assert response.status_code == 504, response.content
            error = response.json()["error"]
            assert error["code"] == "timeout" and "narrow the filters" in error["message"]
    # Each of the two searches had its running operation interrupted.
    stopped = {
        r.getMessage().split()[2]
        for r in caplog.records
        if "reached its time limit" in r.getMessage() and "(1 operation(s))" in r.getMessage()
    }
    assert len(stopped) == 2, [r.getMessage() for r in caplog.records]
    # The session is fine afterwards: the next search answers.
    settings.LOGPLATFORM = configured
    assert client.get(lines_url(stored.pk), {"level": "ERROR", "limit": "50"}).status_code == 200


def test_an_unreachable_spark_server_is_503_without_a_trace(api, bob, stored, settings):
    settings.SPARK_CONNECT_URL = f"sc://127.0.0.1:{free_port()}"
    response = api(bob).get(lines_url(stored.pk))
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "spark_unavailable"
    assert "Traceback" not in error["message"] and "try again" in error["message"]


def test_pages_follow_one_another_without_gaps_on_many_lines(api, bob, stored):
    client = api(bob)
    first = client.get(lines_url(stored.pk), {"level": "WARN", "limit": "500"}).json()
    second = client.get(first["next"]).json()
    lines = [x["line"] for x in first["results"] + second["results"]]
    # Newest first over one file written in time order: line numbers fall by 5 (every 5th line is WARN).
    assert lines == list(range(lines[0], lines[0] - 5 * 1000, -5))


# --------------------------------------------------------------------------- a client that goes away


def _raw_get(base: str, path: str, token: str) -> socket.socket:
    host, port = urlsplit(base).hostname, urlsplit(base).port
    sock = socket.create_connection((host, port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    return sock


def test_a_client_that_goes_away_interrupts_its_query(web_server, stored, bob, tmp_path):
    _, token = tokens.api_token_create(user=bob, name="disconnect")
    base = web_server()
    log = tmp_path / "web-0.log"

    # Waiting on Spark: the search runs for minutes; the client closes after sending it.
    _raw_get(base, lines_url(stored.pk) + f"?regex=true&q={HEAVY_REGEX}", token).close()
    wait_until(
        lambda: "interrupted (1 operation(s)): its client went away" in log.read_text(),
        timeout=60,
        message=lambda: f"the search to be interrupted; the log:\n{log.read_text()[-3000:]}",
    )

    # Streaming: an export of 40 MB; the client reads its start and closes.
    sock = _raw_get(base, lines_url(stored.pk, "export/") + "?format=csv", token)
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    sock.close()
    wait_until(
        lambda: "line(s) sent, stopped before the end" in log.read_text(),
        timeout=60,
        message=lambda: f"the export to stop; the log:\n{log.read_text()[-3000:]}",
    )
    sent = int(log.read_text().split("line(s) sent, stopped before the end")[0].rsplit(":", 1)[1])
    assert sent < 200_000
