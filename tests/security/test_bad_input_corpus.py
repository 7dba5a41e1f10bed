"""A corpus of hostile and broken inputs, each with its expected clear outcome.

All file-level cases go into ONE analysis next to a good file: each must end with
its own message (or be read correctly), no worker may crash, and the good file
must be analysed whatever the others do. Upload-level cases go through HTTP.
"""

from __future__ import annotations

import gzip
import json

import pytest
from django.conf import settings
from django.urls import reverse

from analyses.models import Analysis, AnalysisFile, RollupIp, Status
from analyses.services.execute import analysis_execute
from analyses.uploads import INCOMING
from bench.pathological import corpus
from tests.analyses.helpers import upload

pytestmark = [pytest.mark.django_db, pytest.mark.spark]

GOOD = "timestamp,log_level,message\n" + "".join(
    f"2024-05-01 10:{i:02d}:00,ERROR,good {i}\n" for i in range(40)
)


def _bomb() -> bytes:
    return gzip.compress(b"\0" * (30 * 1024 * 1024), compresslevel=9)


def _many_ips() -> str:
    rows = "".join(
        f"2024-05-01 11:00:00,ERROR,refused,10.{i // 65536}.{(i // 256) % 256}.{i % 256}\n"
        for i in range(100_000)
    )
    return "timestamp,log_level,message,ip\n" + rows


# name -> (content, expectation); expectation keys: error / warning (substring),
# rows, unparsed, first_ts, last_ts.
CORPUS: dict[str, tuple[bytes | str, dict]] = {
    "empty.log": (b"", {"error": "the file is empty"}),
    "blank_lines.log": (b"\n\n   \n\n", {"error": "only blank lines"}),
    "header_only.csv": ("timestamp,log_level,message\n", {"error": "has a header but no rows"}),
    "binary.bin": (bytes(range(256)) * 200, {"error": "binary file, not a text log"}),
    "truncated.log.gz": (
        gzip.compress(b"17/06/09 20:10:40 INFO a.B: x\n" * 5000)[:300],
        {"error": "truncated"},
    ),
    "bomb.log.gz": (_bomb(), {"error": "decompression bomb"}),
    "latin1.log": (
        b"17/06/09 20:10:40 INFO a.B: caf\xe9\n17/06/09 20:10:41 ERROR a.B: na\xefve \xff\n",
        {"rows": 2},
    ),
    "bom.csv": ("\ufefftimestamp,log_level,message\n2024-05-01 00:00:00,INFO,bom\n", {"rows": 1}),
    "crlf.log": (
        "17/06/09 20:10:40 INFO a.B: one\r\n17/06/09 20:10:41 WARN a.B: two\r\n",
        {"rows": 2, "unparsed": 0},
    ),
    "quoted_newlines.csv": (
        'timestamp,log_level,message\n2024-05-01 00:00:00,ERROR,"line one\nline two"\n',
        {"rows": 1},
    ),
    "huge_line.log": (
        "17/06/09 20:10:40 ERROR a.B: " + "z" * (5 * 1024 * 1024) + "\n17/06/09 20:10:41 INFO a.B: ok\n",
        {"rows": 2},
    ),
    "missing_columns.csv": (
        "when,what\n2024,x\n",
        {"error": "missing required column(s) timestamp, log_level, message. Found columns: when, what"},
    ),
    "duplicate_headers.csv": (
        "timestamp,log_level,message,message\n2024-05-01 00:00:00,INFO,first,second\n",
        {"rows": 1, "warning": "duplicate column name(s) message"},
    ),
    "wrong_delimiter.csv": (
        "timestamp,log_level,message\n2024-05-01 00:00:00;INFO;x\n2024-05-01 00:00:01;INFO;y\n",
        {"warning": "none of the 2 lines could be read as csv", "unparsed": 2},
    ),
    "semicolons.csv": (
        "timestamp;level;message\n2024-05-01 00:00:00;INFO;semicolons are fine\n",
        {"rows": 1},
    ),
    "formula.csv": (
        "timestamp,log_level,message\n2024-05-01 00:00:00,ERROR,=cmd|' /C calc'!A0\n",
        {"rows": 1},
    ),
    "script.csv": (
        "timestamp,log_level,message\n2024-05-01 00:00:00,ERROR,<script>alert(1)</script>\n",
        {"rows": 1},
    ),
    "epoch_1970.csv": (
        "timestamp,log_level,message\n1970-01-01 00:00:00,INFO,epoch\n",
        {"rows": 1, "first_ts": "1970-01-01T00:00:00"},
    ),
    "year_2100.csv": (
        "timestamp,log_level,message\n2100-12-31 23:59:59,INFO,future\n",
        {"rows": 1, "last_ts": "2100-12-31T23:59:59"},
    ),
    "unreadable_times.csv": (
        "timestamp,log_level,message\nnever,ERROR,a\nsoon,INFO,b\n",
        {"rows": 2, "warning": "no timestamp could be read in any row"},
    ),
    "prose.txt": ("Dear diary, nothing here is a log.\n", {"error": "the log format could not be detected"}),
    "half_json.jsonl": (
        '{"msg": "ok", "level": "error"}\nnot json at all\n{"msg": "fine"}\n',
        {"rows": 2, "unparsed": 1},
    ),
    "extra_fields.csv": (
        "timestamp,log_level,message\n2024-05-01 00:00:00,INFO,x,unexpected,more\n2024-05-01 00:00:01,INFO,y\n",
        {"rows": 1, "unparsed": 1},
    ),
    "no_final_newline.log": ("17/06/09 20:10:40 INFO a.B: last line without newline", {"rows": 1}),
    "access.log": ('1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET /a HTTP/1.0" 500 1\n', {"rows": 1}),
    "syslog.log": ("Jun 14 15:16:01 host sshd[1]: Failed password\n", {"rows": 1}),
    "many_ips.csv": (_many_ips(), {"rows": 100_000}),
}


def _pathological() -> dict[str, tuple[str, dict]]:
    """Every format with lines built to make a backtracking regex try every split
    (runs of 256 KB of blanks, `[`, `"`, digits, `\\`, `:`, tabs; near-miss
    prefixes): each line is counted, cut to the line cap (bench/pathological.py)."""
    cap = settings.LOGPLATFORM["analytics"]["max_line_chars"]
    files = {}
    for case in corpus():
        expected = case.expected(cap)
        files[f"pathological-{case.name}"] = (
            case.text(),
            {
                "format": case.format,
                "rows": expected["rows"],
                "unparsed": expected["unparsed"],
                "continuation_lines": expected["continuation"],
                "truncated_lines": expected["truncated"],
            },
        )
    return files


# A guard against a hang (a pathological line used to take tens of minutes), not a
# timing assertion. SIGALRM (the default method) also stops a Python regex.
@pytest.mark.timeout(900)
@pytest.mark.usefixtures("spark_url")  # analysis_execute talks to the test session's server
def test_the_corpus_in_one_analysis(client_for, bob):
    client = client_for(bob)
    corpus_files = {**CORPUS, **_pathological()}
    files = [upload("good.csv", GOOD)] + [
        upload(name, content) for name, (content, _) in corpus_files.items() if content
    ]
    response = client.post(reverse("analyses:upload"), {"files": files}, HTTP_ACCEPT="application/json")
    assert response.status_code == 202, response.content
    analysis_id = response.json()["id"]

    assert analysis_execute(analysis_id=analysis_id) == "succeeded"

    document = client.get(reverse("analyses:report", args=[analysis_id, "summary.json"]))
    assert document.status_code == 200
    analysis = Analysis.objects.get(pk=analysis_id)
    assert analysis.status == Status.SUCCEEDED
    from analyses.selectors import result_document

    reports = {f["name"]: f for f in result_document(analysis=analysis)["files"]}
    assert reports["good.csv"]["rows"] == 40 and reports["good.csv"]["error"] is None
    outcomes = {}
    for name, (content, expected) in corpus_files.items():
        if not content:
            continue
        report = reports[name]
        for key, value in expected.items():
            if key in ("error", "warning"):
                assert report[key] and value in report[key], (name, report)
            elif key == "unparsed":
                assert report["unparsed_lines"] == value, (name, report)
            else:
                assert report[key] == value, (name, key, report)
        outcomes[name] = report["error"] or report["warning"] or f"{report['rows']} rows"
    # 100 000 distinct IPs: the rollups keep the cap and fold the rest.
    ips = set(RollupIp.objects.filter(analysis_id=analysis_id).values_list("ip", flat=True))
    assert len(ips) == settings.LOGPLATFORM["analytics"]["rollup_cap"] + 1 and "(other)" in ips
    assert analysis.result.document["summary"]["distinct_ips"] >= 100_000
    from tests.conftest import BASE_DIR

    (BASE_DIR / "artifacts").mkdir(exist_ok=True)
    (BASE_DIR / "artifacts" / "bad-input.json").write_text(json.dumps(outcomes, indent=2))


def test_the_empty_upload_is_refused_at_the_door(client_for, bob):
    response = client_for(bob).post(
        reverse("analyses:upload"), {"files": [upload("empty.log", b"")]}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400
    assert "empty.log is empty" in response.json()["error"]["messages"][0]


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../x.log", "x.log"),
        ("..\\..\\x.log", "x.log"),
        ("a\x00b.log", "ab.log"),
        ("é" * 300 + ".log", None),  # shortened to 255 characters, extension kept
        ("日志.log", "日志.log"),
        ("...", "unnamed"),
    ],
    ids=["dot-dot-slash", "dot-dot-backslash", "nul", "300-chars", "unicode", "dots-only"],
)
def test_hostile_filenames_are_stored_under_generated_names(client_for, bob, name, shown):
    response = client_for(bob).post(
        reverse("analyses:upload"), {"files": [upload(name, GOOD)]}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 202
    stored = AnalysisFile.objects.get(analysis_id=response.json()["id"])
    if shown is None:
        assert len(stored.original_name) <= 255 and stored.original_name.endswith("é.log")
    else:
        assert stored.original_name == shown
    root = settings.STORAGE_ROOT.resolve()
    path = (root / stored.stored_path).resolve()
    assert root in path.parents and path.is_file()
    assert path.name.endswith(".log") and len(path.stem) == 32


def test_101_files_in_one_request_are_refused_and_leave_nothing(client_for, bob):
    files = [upload(f"f{i}.log", "x\n") for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)]
    response = client_for(bob).post(
        reverse("analyses:upload"), {"files": files}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400
    assert Analysis.objects.count() == 0
    assert not list((settings.STORAGE_ROOT / INCOMING).glob("*.part"))


def test_a_request_over_the_total_cap_is_413(client_for, bob, settings):
    settings.UPLOAD_MAX_REQUEST_BYTES = 3000
    files = [upload("a.log", "a" * 2000), upload("b.log", "b" * 2000)]
    response = client_for(bob).post(
        reverse("analyses:upload"), {"files": files}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 413
    assert "add up to more than" in response.json()["error"]["messages"][0]
    assert Analysis.objects.count() == 0
    assert not list((settings.STORAGE_ROOT / INCOMING).glob("*.part"))
