"""The analysis page: metrics, charts and tables under filters, from rollups."""

from __future__ import annotations

import html as html_module
import json
import re
from datetime import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from analyses.models import Analysis
from analyses.services.execute import analysis_execute
from tests.analyses.helpers import upload
from tests.logdata import ERRORS, make_events, render_csv

pytestmark = [pytest.mark.django_db, pytest.mark.spark]


@pytest.fixture
def analysed(client_for, bob, spark_url):
    events = make_events(1500, seed=71, span_hours=48)
    client = client_for(bob)
    response = client.post(
        reverse("analyses:upload"),
        {"files": [upload("app.csv", render_csv(events))]},
        HTTP_ACCEPT="application/json",
    )
    analysis_id = response.json()["id"]
    assert analysis_execute(analysis_id=analysis_id) == "succeeded"
    return client, Analysis.objects.get(pk=analysis_id), events


def metric(html: str, name: str) -> str:
    return re.search(rf'id="m-{name}">([^<]+)<', html).group(1)


def figures(html: str) -> dict[str, dict]:
    found = re.findall(r'<script id="figure-([a-z_]+)" type="application/json">(.*?)</script>', html, re.S)
    return {name: json.loads(body) for name, body in found}


def test_unfiltered_page_shows_every_chart_with_data(analysed):
    client, analysis, events = analysed
    html = client.get(reverse("analyses:detail", args=[analysis.pk])).content.decode()
    assert metric(html, "total") == str(len(events))
    assert metric(html, "errors") == str(sum(e.level in ERRORS for e in events))
    charts = figures(html)
    assert set(charts) == {
        "errors_over_time",
        "top_error_types",
        "errors_per_ip",
        "errors_per_service",
        "severity",
    }
    for name, figure in charts.items():
        values = [
            v
            for trace in figure["data"]
            for v in (trace.get("y") or trace.get("values") or trace.get("x") or [])
        ]
        assert values, name
    over_time = {t["name"]: sum(t["y"]) for t in charts["errors_over_time"]["data"]}
    assert over_time["ERROR"] == sum(e.level == "ERROR" for e in events if e.ts)


def test_date_level_and_service_filters_change_the_numbers(analysed):
    client, analysis, events = analysed
    start, end = datetime(2024, 3, 1, 6), datetime(2024, 3, 1, 17)
    url = reverse("analyses:detail", args=[analysis.pk])
    query = {
        "start": "2024-03-01T06:00",
        "end": "2024-03-01T17:59",
        "levels": ["ERROR", "CRITICAL"],
        "services": ["api", "db"],
    }
    html = client.get(url, query).content.decode()
    chosen = [
        e
        for e in events
        if e.ts
        and start <= e.ts.replace(minute=0, second=0) <= end
        and e.level in ("ERROR", "CRITICAL")
        and e.service in ("api", "db")
    ]
    assert metric(html, "total") == str(len(chosen))
    assert metric(html, "errors") == str(len(chosen))
    assert metric(html, "critical") == str(sum(e.level == "CRITICAL" for e in chosen))
    charts = figures(html)
    per_service = dict(
        zip(
            map(html_module.unescape, charts["errors_per_service"]["data"][0]["customdata"]),
            charts["errors_per_service"]["data"][0]["x"],
            strict=True,
        )
    )
    assert per_service == {
        s: sum(e.service == s for e in chosen) for s in ("api", "db") if any(e.service == s for e in chosen)
    }
    assert 'id="filter-note"' in html


def test_a_bad_filter_value_is_explained_not_fatal(analysed):
    client, analysis, _ = analysed
    response = client.get(
        reverse("analyses:detail", args=[analysis.pk]), {"start": "yesterday", "levels": "LOUD"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "is not a date and time like 2024-03-01T14:00" in html
    assert "Unknown level(s) LOUD ignored" in html


def test_log_text_is_escaped(client_for, bob, spark_url):
    csv = "timestamp,log_level,message,service\n2024-01-01 00:00:00,ERROR,<script>alert('x')</script> & more,<b>svc</b>\n"
    client = client_for(bob)
    analysis_id = client.post(
        reverse("analyses:upload"), {"files": [upload("x.csv", csv)]}, HTTP_ACCEPT="application/json"
    ).json()["id"]
    assert analysis_execute(analysis_id=analysis_id) == "succeeded"
    html = client.get(reverse("analyses:detail", args=[analysis_id])).content.decode()
    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in html
    assert "<b>svc</b>" not in html
    # Inside the chart JSON too: escaped for Plotly (which reads tags), then for the page.
    assert "\\u0026lt;script\\u0026gt;alert(" in html.lower()
    assert "\\u003cscript" not in html.lower()


SSH = "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.0.0.{n}  user={user}"


def _syslog_and_access() -> dict[str, str]:
    syslog = "".join(
        f"Dec 10 06:{i % 60:02d}:00 LabSZ sshd[{24000 + i}]: {SSH.format(n=i % 9, user=user)}\n"
        for i, user in enumerate(["root"] * 7 + ["admin"] * 4 + ["test"] * 2)
    )
    access = "".join(
        f'10.1.0.{i} - - [17/May/2015:10:{i:02d}:03 +0000] "GET /x HTTP/1.1" {500 if i % 3 else 200} 5 "-" "curl/8"\n'
        for i in range(12)
    )
    return {"auth.log": syslog, "access.log": access}


def test_a_file_dated_in_the_default_year_says_so_and_a_rerun_gives_it_a_year(client_for, bob, spark_url):
    client = client_for(bob)
    files = _syslog_and_access()
    analysis_id = client.post(
        reverse("analyses:upload"),
        {"files": [upload(name, text) for name, text in files.items()]},
        HTTP_ACCEPT="application/json",
    ).json()["id"]
    assert analysis_execute(analysis_id=analysis_id) == "succeeded"
    analysis = Analysis.objects.get(pk=analysis_id)
    auth, access = analysis.files.order_by("position")
    html = client.get(reverse("analyses:detail", args=[analysis_id])).content.decode()
    year = timezone.now().year
    notice = re.search(rf'id="year-notice-{auth.pk}">(.*?)</p>', html, re.S).group(1)
    assert f"auth.log: 13 lines had no year; dated {year} (the default)." in notice
    assert 'href="#rerun-options"' in notice
    assert f'id="year-notice-{access.pk}"' not in html
    assert '<details id="rerun-options" open>' in html
    assert f"{year}-12-10T06:00:00 → {year}-12-10T06:12:00" in html

    response = client.post(
        reverse("analyses:rerun", args=[analysis_id]),
        {f"file-{auth.pk}-assume_year": "2016", f"file-{auth.pk}-format": "", f"file-{access.pk}-format": ""},
    )
    clone = Analysis.objects.exclude(pk=analysis_id).get()
    assert response["Location"] == reverse("analyses:detail", args=[clone.pk])
    assert analysis_execute(analysis_id=clone.pk) == "succeeded"
    html = client.get(reverse("analyses:detail", args=[clone.pk])).content.decode()
    assert "year-notice" not in html
    assert "13 lines had no year; dated 2016 (the year given)." in html
    assert "2016-12-10T06:00:00 → 2016-12-10T06:12:00" in html
    assert '<details id="rerun-options">' in html


def test_the_error_types_table_shows_20_and_the_rest_behind_show_all(client_for, bob, spark_url):
    # 27 events (error types are patterns: "failure kind AA" ... "failure kind BA"
    # would be one, "failure kind <*>"); event k has k + 1 lines.
    codes = [f"{chr(65 + k // 26)}{chr(65 + k % 26)}" for k in range(27)]
    csv = "timestamp,log_level,message\n" + "".join(
        f"2024-01-01 00:{k:02d}:00,ERROR,{c} subsystem {c.lower()}x failed\n" * (k + 1)
        for k, c in enumerate(codes)
    )
    client = client_for(bob)
    analysis_id = client.post(
        reverse("analyses:upload"), {"files": [upload("many.csv", csv)]}, HTTP_ACCEPT="application/json"
    ).json()["id"]
    assert analysis_execute(analysis_id=analysis_id) == "succeeded"
    html = client.get(reverse("analyses:detail", args=[analysis_id])).content.decode()
    top = re.search(r'<table class="sortable" id="t-error-types">(.*?)</table>', html, re.S).group(1)
    rest = re.search(r'<details id="t-error-types-more">(.*?)</details>', html, re.S).group(1)
    assert top.count("<tr>") == 1 + 20 and rest.count("<tr>") == 1 + 7
    assert "Show all 27 error types" in rest
    assert re.findall(r"<tr><td>(\d+)</td>", top + rest) == [str(i) for i in range(1, 28)]
    assert "BA subsystem bax failed</td><td>27<" in top  # the most frequent first, as in the chart
    # The page's order: summary, alerts, charts, tables, files.
    order = [
        html.index(marker)
        for marker in ('id="metrics"', 'class="charts"', 'id="t-error-types"', 'id="files"')
    ]
    assert order == sorted(order)
