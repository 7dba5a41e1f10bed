"""The chart builders write Plotly's figure schema by hand (for speed): every
figure must still pass Plotly's own validators, with data and without."""

import json

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


@pytest.mark.parametrize("data", [DATA, EMPTY], ids=["data", "empty"])
def test_every_figure_passes_plotly_validation(data):
    for name, text in charts.all_charts(data).items():
        figure = go.Figure(json.loads(text))  # raises on any property Plotly does not know
        assert figure.layout.title.text, name


def test_figures_carry_the_numbers():
    figs = {name: json.loads(text) for name, text in charts.all_charts(DATA).items()}
    stacked = {t["name"]: sum(t["y"]) for t in figs["errors_over_time"]["data"]}
    assert stacked == {"WARN": 4, "ERROR": 5, "CRITICAL": 2}
    assert figs["errors_over_time"]["layout"]["barmode"] == "stack"
    ips = figs["errors_per_ip"]["data"][0]
    assert ips["y"] == ["10.0.0.2", "10.0.0.1"] and ips["x"] == [2, 4]  # largest at the top
    label = figs["top_error_types"]["data"][0]
    assert len(label["y"][0]) == 60 and label["hovertext"][0].endswith("x" * 80)
    pie = figs["severity"]["data"][0]
    assert pie["labels"] == ["INFO", "WARN", "ERROR", "CRITICAL"] and pie["values"] == [10, 4, 5, 2]
