"""The chart builders write Plotly's figure schema by hand (for speed): every
figure must still pass Plotly's own validators, with data and without."""

import html
import json
from datetime import datetime, timedelta

import plotly.graph_objects as go
import pytest

from analyses import charts

DATA = {
    "over_time": {
        "WARN": {"2024-01-01T00:00": 3, "2024-01-01T01:00": 1},
        "ERROR": {"2024-01-01T00:00": 5},
        "CRITICAL": {"2024-01-01T01:00": 2},
    },
    "over_time_unit": "hour",
    "errors_by_type": [{"error_type": "Timeout after <NUM> ms " + "x" * 80, "count": 7}],
    "errors_per_ip": [{"ip": "10.0.0.1", "count": 4}, {"ip": "10.0.0.2", "count": 2}],
    "errors_per_service": [{"service": "api", "count": 6}],
    "levels": {"DEBUG": 0, "INFO": 10, "WARN": 4, "ERROR": 5, "CRITICAL": 2},
}
EMPTY = {
    "over_time": {},
    "over_time_unit": "day",
    "errors_by_type": [],
    "errors_per_ip": [],
    "errors_per_service": [],
    "levels": {"INFO": 0},
}


# Several error types under one 60-character prefix (the OpenSSH case of issue 22),
# log text with what Plotly would read as tags, and two years far apart.
PAM = "pam_unix(sshd:auth): authentication failure; logname= uid=<NUM> euid=<NUM> tty=ssh ruser= rhost=<IP>"
SHARED = {
    **DATA,
    "over_time": {
        "ERROR": {"2015-05-17": 40, "2015-05-18": 12, "2026-12-10": 300, "2026-12-11": 70},
        "WARN": {"2015-05-17": 9, "2026-12-11": 4},
    },
    "over_time_unit": "day",
    "errors_by_type": [
        {"error_type": f"{PAM}  user={user}", "count": count}
        for user, count in (("root", 370), ("admin", 120), ("test", 90), ("<b>guest</b> & co", 50))
    ]
    + [{"error_type": "Failed password for invalid user <STR> from <IP>", "count": 40}],
}


@pytest.mark.parametrize("data", [DATA, EMPTY, SHARED], ids=["data", "empty", "shared-prefix-and-far-years"])
def test_every_figure_passes_plotly_validation(data):
    for name, text in charts.all_charts(data).items():
        figure = go.Figure(json.loads(text))  # raises on any property Plotly does not know
        assert figure.layout.title.text, name


def test_figures_carry_the_numbers():
    figs = {name: json.loads(text) for name, text in charts.all_charts(DATA).items()}
    stacked = {t["name"]: sum(t["y"]) for t in figs["errors_over_time"]["data"]}
    assert stacked == {"WARN": 4, "ERROR": 5, "CRITICAL": 2}
    assert figs["errors_over_time"]["layout"]["barmode"] == "stack"
    ips = figs["errors_per_ip"]
    assert ips["data"][0]["y"] == ["#1", "#2"] and ips["data"][0]["x"] == [4, 2]
    assert ips["layout"]["yaxis"]["autorange"] == "reversed"  # the first row at the top
    assert ips["layout"]["yaxis"]["ticktext"] == ["#1 10.0.0.1", "#2 10.0.0.2"]
    types = figs["top_error_types"]
    assert len(html.unescape(types["layout"]["yaxis"]["ticktext"][0])) == charts.LABEL_CHARS
    assert types["data"][0]["customdata"][0].endswith("x" * 80)
    pie = figs["severity"]["data"][0]
    assert pie["labels"] == ["INFO", "WARN", "ERROR", "CRITICAL"] and pie["values"] == [10, 4, 5, 2]


def _hbars(data: dict) -> dict[str, dict]:
    figs = {name: json.loads(text) for name, text in charts.all_charts(data).items()}
    return {
        name: fig
        for name, fig in figs.items()
        if name in ("top_error_types", "errors_per_ip", "errors_per_service")
    }


def test_bars_whose_cut_labels_are_equal_keep_categories_of_their_own():
    figure = _hbars(SHARED)["top_error_types"]
    (trace,) = figure["data"]
    rows = SHARED["errors_by_type"]
    assert len({charts._short(r["error_type"], 60) for r in rows[:4]}) == 1  # the old labels: one bar
    assert trace["y"] == ["#1", "#2", "#3", "#4", "#5"]
    assert len(set(trace["y"])) == len(rows)
    assert trace["x"] == [r["count"] for r in rows]  # the table's order
    yaxis = figure["layout"]["yaxis"]
    assert yaxis["type"] == "category" and yaxis["categoryarray"] == trace["y"] == yaxis["tickvals"]
    assert yaxis["autorange"] == "reversed"
    assert all(len(html.unescape(t)) <= charts.LABEL_CHARS for t in yaxis["ticktext"])
    assert yaxis["ticktext"][0].startswith("#1 pam_unix(sshd:auth)")
    narrow = figure["layout"]["meta"]["ticktext_narrow"]
    assert all(len(html.unescape(t)) <= charts.LABEL_CHARS_NARROW for t in narrow)
    assert trace["customdata"][0] == charts.plotly_escape(rows[0]["error_type"])
    assert "%{customdata}" in trace["hovertemplate"]


def test_every_bar_chart_has_unique_categories():
    for name, figure in _hbars(SHARED).items():
        for trace in figure["data"]:
            assert len(set(trace["y"])) == len(trace["y"]), name
    over_time = json.loads(charts.all_charts(SHARED)["errors_over_time"])
    for trace in over_time["data"]:
        assert len(set(trace["x"])) == len(trace["x"])


def test_log_text_reaches_plotly_escaped():
    figure = _hbars(SHARED)["top_error_types"]
    hover = figure["data"][0]["customdata"]
    ticks = figure["layout"]["yaxis"]["ticktext"] + figure["layout"]["meta"]["ticktext_narrow"]
    for text in hover + ticks:
        assert "<" not in text and ">" not in text
    assert hover[3].endswith("user=&lt;b&gt;guest&lt;/b&gt; &amp; co")
    assert "rhost=&lt;IP&gt;" in hover[0]
    # Cut first, escaped after: an entity is never cut in half.
    assert charts._label("#1", "a" * 36 + "<>&", 40) == "#1 " + "a" * 36 + "…"
    assert charts._label("#1", "a" * 34 + "<>&", 40) == "#1 " + "a" * 34 + "&lt;&gt;&amp;"


def test_every_axis_makes_room_for_its_labels():
    for name, text in charts.all_charts(SHARED).items():
        layout = json.loads(text)["layout"]
        axes = [v for k, v in layout.items() if k.startswith(("xaxis", "yaxis"))]
        assert axes and all(axis["automargin"] for axis in axes), name


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text)


DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def test_distant_years_are_two_clusters():
    days = [_day(d) for d in ("2015-05-17", "2015-05-18", "2015-05-20", "2026-12-10", "2026-12-11")]
    assert charts.time_clusters(days, DAY) == [
        (_day("2015-05-17"), _day("2015-05-20")),
        (_day("2026-12-10"), _day("2026-12-11")),
    ]


def test_gaps_shorter_than_the_data_or_than_30_buckets_do_not_split():
    week = [datetime(2024, 3, d, h) for d in (4, 5, 6, 7, 8, 11, 12) for h in range(8, 18)]
    assert charts.time_clusters(week, HOUR) == [(week[0], week[-1])]  # a weekend in working days
    months = [datetime(2024, 1, 1) + k * DAY for k in range(60)] + [datetime(2024, 4, 15)]
    assert len(charts.time_clusters(months, DAY)) == 1  # 45 empty days beside 60 with data
    short = [datetime(2024, 1, 1), datetime(2024, 1, 20)]
    assert len(charts.time_clusters(short, DAY)) == 1  # 18 empty days: under 30 buckets


def test_at_most_three_clusters_split_at_the_longest_gaps():
    weeks = [datetime(y, 6, 1) + k * DAY for y in (2010, 2012, 2019, 2024) for k in range(7)]
    assert charts.time_clusters(weeks, DAY) == [
        (datetime(2010, 6, 1), datetime(2012, 6, 7)),
        (datetime(2019, 6, 1), datetime(2019, 6, 7)),
        (datetime(2024, 6, 1), datetime(2024, 6, 7)),
    ]
    assert len(charts.time_clusters(weeks, DAY, max_panels=4)) == 4
    assert charts.time_clusters([], DAY) == []
    assert charts.time_clusters([weeks[0]] * 3, DAY) == [(weeks[0], weeks[0])]


def test_points_spread_evenly_over_years_are_one_cluster():
    # No gap is longer than the time the other runs would cover: panels would not help.
    years = [datetime(y, 6, 1) for y in (2010, 2012, 2015, 2019, 2024)]
    assert charts.time_clusters(years, DAY) == [(years[0], years[-1])]


def test_gap_labels():
    assert charts.gap_label(timedelta(days=4220)) == "12 years"
    assert charts.gap_label(timedelta(days=500)) == "16 months"
    assert charts.gap_label(timedelta(days=40)) == "40 days"
    assert charts.gap_label(timedelta(hours=31)) == "1 day"
    assert charts.gap_label(timedelta(hours=20)) == "20 hours"


def test_far_apart_data_is_drawn_in_one_panel_per_cluster_with_the_gap_marked():
    figure = json.loads(charts.all_charts(SHARED)["errors_over_time"])
    layout = figure["layout"]
    assert [(t["xaxis"], t["name"], t["x"]) for t in figure["data"]] == [
        ("x", "WARN", ["2015-05-17"]),
        ("x", "ERROR", ["2015-05-17", "2015-05-18"]),
        ("x2", "WARN", ["2026-12-11"]),
        ("x2", "ERROR", ["2026-12-10", "2026-12-11"]),
    ]
    assert [t["showlegend"] for t in figure["data"]] == [True, True, False, False]
    assert all(t["yaxis"] == "y" for t in figure["data"])  # one count axis for both panels
    first, second = layout["xaxis"]["domain"], layout["xaxis2"]["domain"]
    assert first[0] == 0 and first[1] < second[0] and second[1] == pytest.approx(1)
    assert layout["xaxis2"]["type"] == "date" and layout["xaxis2"]["anchor"] == "y"
    (note,) = layout["annotations"]
    assert note["text"] == "12 years without lines"
    assert first[1] < note["x"] < second[0]
    stacked = sum(sum(t["y"]) for t in figure["data"])
    assert stacked == sum(n for series in SHARED["over_time"].values() for n in series.values())


def test_data_in_one_cluster_is_one_panel():
    figure = json.loads(charts.all_charts(DATA)["errors_over_time"])
    assert {t["xaxis"] for t in figure["data"]} == {"x"}
    assert "xaxis2" not in figure["layout"] and figure["layout"]["annotations"] == []
