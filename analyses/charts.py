"""Plotly figures of an analysis, as pure functions of stored (or filtered) results.

Each function returns the figure as a JSON string; the page embeds it with
`json_script` and static/js/dashboard.js draws it with the vendored plotly.min.js.
No chart is rendered with data the server did not compute.
"""

from __future__ import annotations

from typing import Any

import plotly.io as pio

LEVEL_COLORS = {
    "DEBUG": "#9aa5b1",
    "INFO": "#4c78a8",
    "WARN": "#f2a93b",
    "ERROR": "#e45756",
    "CRITICAL": "#8b1e3f",
}
AXIS = {"gridcolor": "#ebf0f8", "zerolinecolor": "#ebf0f8"}
# A few explicit styles instead of a Plotly template: a template is ~7 KB of JSON
# per figure and five times the build time, for the same look.
LAYOUT = {
    "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
    "height": 340,
    "paper_bgcolor": "white",
    "plot_bgcolor": "white",
    "font": {"size": 12, "color": "#2a3f5f"},
    "legend": {"orientation": "h", "y": -0.15},
}


def _figure(
    traces: list[dict[str, Any]],
    title: str,
    xaxis: dict | None = None,
    yaxis: dict | None = None,
    **layout: Any,
) -> str:
    """A Plotly figure as JSON, written as Plotly's figure schema (plain dicts).

    Plotly's graph objects validate every property on every build: that was 40 %
    of the analysis page's server time. The figures here are fixed shapes, checked
    once by tests/analyses/test_charts.py against plotly's validators.
    """
    figure = {
        "data": traces,
        "layout": {
            **LAYOUT,
            "title": {"text": title},
            "xaxis": {**AXIS, **(xaxis or {})},
            "yaxis": {**AXIS, **(yaxis or {})},
            **layout,
        },
    }
    return pio.to_json(figure, validate=False, pretty=False)


def _short(label: str, width: int = 60) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def errors_over_time(over_time: dict[str, dict[str, int]], unit: str) -> str:
    traces = [
        {
            "type": "bar",
            "x": list(series),
            "y": list(series.values()),
            "name": level,
            "marker": {"color": LEVEL_COLORS[level]},
        }
        for level in ("WARN", "ERROR", "CRITICAL")
        if (series := over_time.get(level))
    ]
    return _figure(
        traces, f"Errors and warnings per {unit}", yaxis={"title": {"text": "lines"}}, barmode="stack"
    )


def _hbar(rows: list[dict[str, Any]], key: str, title: str, color: str, top: int = 15) -> str:
    rows = rows[:top][::-1]  # largest at the top
    trace = {
        "type": "bar",
        "x": [r["count"] for r in rows],
        "y": [_short(str(r[key])) for r in rows],
        "orientation": "h",
        "marker": {"color": color},
        "hovertext": [str(r[key]) for r in rows],
        "hoverinfo": "text+x",
    }
    return _figure([trace], title, yaxis={"automargin": True})


def top_error_types(rows: list[dict[str, Any]]) -> str:
    return _hbar(rows, "error_type", "Top error types", LEVEL_COLORS["ERROR"])


def errors_per_ip(rows: list[dict[str, Any]]) -> str:
    return _hbar(rows, "ip", "Errors per IP", "#54a24b")


def errors_per_service(rows: list[dict[str, Any]]) -> str:
    return _hbar(rows, "service", "Errors per service", "#72b7b2")


def severity_breakdown(levels: dict[str, int]) -> str:
    present = [(lv, n) for lv, n in levels.items() if n]
    trace = {
        "type": "pie",
        "labels": [lv for lv, _ in present],
        "values": [n for _, n in present],
        "marker": {"colors": [LEVEL_COLORS[lv] for lv, _ in present]},
        "hole": 0.45,
        "sort": False,
    }
    return _figure([trace], "Lines per severity")


def all_charts(data: dict[str, Any]) -> dict[str, str]:
    return {
        "errors_over_time": errors_over_time(data["over_time"], data["over_time_unit"]),
        "top_error_types": top_error_types(data["errors_by_type"]),
        "errors_per_ip": errors_per_ip(data["errors_per_ip"]),
        "errors_per_service": errors_per_service(data["errors_per_service"]),
        "severity": severity_breakdown(data["levels"]),
    }


def warm_up() -> None:
    """Build each chart once, so the first page a web process serves does not pay
    for Plotly's first figure (analyses.receivers runs it at start-up)."""
    all_charts(
        {
            "over_time": {"ERROR": {"2024-01-01T00:00": 1}},
            "over_time_unit": "hour",
            "errors_by_type": [{"error_type": "x", "count": 1}],
            "errors_per_ip": [{"ip": "10.0.0.1", "count": 1}],
            "errors_per_service": [{"service": "api", "count": 1}],
            "levels": {"ERROR": 1},
        }
    )
