"""Plotly figures of an analysis, as pure functions of stored (or filtered) results.

Each function returns the figure as a JSON string; the page embeds it with
`json_script` and static/js/analysis.js draws it with the vendored plotly.min.js.
No chart is rendered with data the server did not compute. The rules every
figure keeps (docs/decisions.md, "Charts"):

- a bar's category is a unique id (its rank), never its label: Plotly stacks
  bars of equal categories into one, and cut labels are often equal;
- log text reaches Plotly escaped, since Plotly reads tags in any text;
- every axis makes room for its labels (`automargin`);
- a time axis over distant clusters of data is drawn as one panel per cluster;
- a point that has lines to show carries their Lines URL (issue 20's drill-down):
  `layout.meta.links[trace][point]`, "" for none ("(other)"), built server-side by
  analyses.drilldown; static/js/analysis.js opens it on a click.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import plotly.io as pio

LEVEL_COLORS = {
    "DEBUG": "#9aa5b1",
    "INFO": "#4c78a8",
    "WARN": "#f2a93b",
    "ERROR": "#e45756",
    "CRITICAL": "#8b1e3f",
}
AXIS = {"gridcolor": "#ebf0f8", "zerolinecolor": "#ebf0f8", "automargin": True}
# A few explicit styles instead of a Plotly template: a template is ~7 KB of JSON
# per figure and five times the build time, for the same look. The margins are
# the least each side needs; `automargin` widens them to fit the labels.
LAYOUT = {
    "margin": {"l": 12, "r": 16, "t": 44, "b": 12, "pad": 2},
    "height": 340,
    "paper_bgcolor": "white",
    "plot_bgcolor": "white",
    "font": {"size": 12, "color": "#2a3f5f"},
    "legend": {"orientation": "h", "x": 0, "yref": "container", "y": 0, "yanchor": "bottom"},
}
BAR_TOP = 15  # bars per ranked chart; the tables below show more
# A bar's label is cut to this many characters on the page, and to the narrow
# width on a phone (static/js/analysis.js picks it from layout.meta).
LABEL_CHARS = 40
LABEL_CHARS_NARROW = 18
# Time clusters: a run of empty buckets is a gap worth a panel break when it is
# longer than GAP_BUCKETS buckets and longer than all the time holding data.
GAP_BUCKETS = 30
MAX_PANELS = 3
PANEL_SPACING = 0.08  # of the plot's width, between panels: room for the gap's note


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
            "title": {"text": title, "x": 0, "xanchor": "left", "xref": "paper"},
            "xaxis": {**AXIS, **(xaxis or {})},
            "yaxis": {**AXIS, **(yaxis or {})},
            **layout,
        },
    }
    return pio.to_json(figure, validate=False, pretty=False)


def plotly_escape(text: str) -> str:
    """Text for any Plotly label: Plotly reads `<b>`, `<br>`, `<a href=…>` in
    labels and hover text, and drops tags it does not know ("rhost=<IP>")."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _links(per_trace: list[list[str]]) -> dict[str, Any]:
    """The layout's `meta` part for click-through links, when any point has one."""
    return {"links": per_trace} if any(any(urls) for urls in per_trace) else {}


def _short(label: str, width: int) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _label(rank: str, text: str, width: int) -> str:
    """The tick text of a bar: its rank and its text, cut then escaped."""
    return plotly_escape(_short(f"{rank} {text}", width))


# --------------------------------------------------------------------------- time


def time_clusters(
    buckets: list[datetime], width: timedelta, *, max_panels: int = MAX_PANELS
) -> list[tuple[datetime, datetime]]:
    """The buckets as runs of data separated by long gaps: (first, last) bucket of each run.

    A gap (empty time between two buckets) splits the runs when it is longer than
    GAP_BUCKETS buckets and longer than all the time the runs cover together, so
    that a chart of one panel per run spends its width on data: a log of 2015
    beside one of 2026 gives two runs, a weekend without lines in a week does
    not. At most `max_panels` runs: the longest gaps split.
    """
    times = sorted(set(buckets))
    if not times:
        return []
    span = times[-1] - times[0] + width
    gaps = [(b - a - width, i) for i, (a, b) in enumerate(zip(times, times[1:], strict=False), start=1)]
    chosen = sorted((g for g in gaps if g[0] > GAP_BUCKETS * width), reverse=True)[: max_panels - 1]
    while chosen:
        covered = span - sum((g for g, _ in chosen), timedelta(0))
        kept = [g for g in chosen if g[0] > covered]
        if kept == chosen:
            break
        chosen = kept
    starts = [0, *sorted(i for _, i in chosen)]
    ends = [*(i - 1 for i in starts[1:]), len(times) - 1]
    return [(times[s], times[e]) for s, e in zip(starts, ends, strict=True)]


def gap_label(gap: timedelta) -> str:
    """'11 years', '3 months', '5 days', '40 hours': the empty time between panels."""
    days = gap.total_seconds() / 86400
    for size, unit in ((365.25, "year"), (30.44, "month"), (1, "day")):
        if days >= size * 2 or (unit == "day" and days >= 1):
            n = round(days / size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    hours = round(gap.total_seconds() / 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}"


def _bucket_time(bucket: str) -> datetime:
    return datetime.fromisoformat(bucket)


def errors_over_time(
    over_time: dict[str, dict[str, int]], unit: str, links: dict[str, dict[str, str]] | None = None
) -> str:
    """Stacked bars per level over time; one panel per cluster of time with data
    (`time_clusters`), side by side on one count axis, each gap marked. `links`:
    level -> bucket -> the Lines URL of that bar."""
    links = links or {}
    width = timedelta(days=1) if unit == "day" else timedelta(hours=1)
    levels = [lv for lv in ("WARN", "ERROR", "CRITICAL") if over_time.get(lv)]
    clusters = time_clusters([_bucket_time(b) for lv in levels for b in over_time[lv]], width)
    panels = max(len(clusters), 1)
    panel_width = (1 - PANEL_SPACING * (panels - 1)) / panels
    traces: list[dict[str, Any]] = []
    urls: list[list[str]] = []  # per trace, per bar
    axes: dict[str, Any] = {}
    annotations: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    for p, (first, last) in enumerate(clusters or [(None, None)]):
        left = p * (panel_width + PANEL_SPACING)
        suffix = "" if p == 0 else str(p + 1)
        for level in levels:
            series = {
                b: n for b, n in over_time[level].items() if first is None or first <= _bucket_time(b) <= last
            }
            if not series:
                continue
            traces.append(
                {
                    "type": "bar",
                    "x": list(series),
                    "y": list(series.values()),
                    "name": level,
                    "legendgroup": level,
                    "showlegend": not any(t["name"] == level for t in traces),
                    "marker": {"color": LEVEL_COLORS[level]},
                    "xaxis": f"x{suffix}",
                    "yaxis": "y",
                }
            )
            urls.append([links.get(level, {}).get(b, "") for b in series])
        axes[f"xaxis{suffix}"] = {
            **AXIS,
            "type": "date",
            "domain": [left, left + panel_width],
            "anchor": "y",
        }
        if p > 0:
            gap = first - clusters[p - 1][1] - width
            middle = left - PANEL_SPACING / 2
            shapes.append(
                {
                    "type": "line",
                    "xref": "paper",
                    "yref": "paper",
                    "x0": middle,
                    "x1": middle,
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": "#9aa5b1", "width": 1, "dash": "dot"},
                }
            )
            annotations.append(
                {
                    "xref": "paper",
                    "yref": "paper",
                    "x": middle,
                    "y": 0.5,
                    "text": f"{gap_label(gap)} without lines",
                    "textangle": -90,
                    "showarrow": False,
                    "bgcolor": "white",
                    "font": {"size": 11, "color": "#52606d"},
                }
            )
    meta = _links(urls)
    figure = {
        "data": traces,
        "layout": {
            **LAYOUT,
            "title": {"text": f"Errors and warnings per {unit}", "x": 0, "xanchor": "left", "xref": "paper"},
            **axes,
            "yaxis": {**AXIS, "title": {"text": "lines"}, "anchor": "x", "rangemode": "tozero"},
            "barmode": "stack",
            "annotations": annotations,
            "shapes": shapes,
            **({"meta": meta} if meta else {}),
        },
    }
    return pio.to_json(figure, validate=False, pretty=False)


# --------------------------------------------------------------------------- ranked bars


def _hbar(rows: list[dict[str, Any]], key: str, title: str, color: str, top: int = BAR_TOP) -> str:
    """Horizontal bars in the order of `rows` (the table's), the first at the top.

    Each bar's category is its rank ("#1"…), so bars never merge; the tick shows
    the rank and the cut label, the hover the whole text. A row's `lines_url` is
    its bar's link.
    """
    rows = rows[:top]
    ranks = [f"#{i}" for i in range(1, len(rows) + 1)]
    texts = [str(r[key]) for r in rows]
    trace = {
        "type": "bar",
        "orientation": "h",
        "y": ranks,
        "x": [r["count"] for r in rows],
        "customdata": [plotly_escape(t) for t in texts],
        "hovertemplate": "%{y} %{customdata}<br>%{x} errors<extra></extra>",
        "marker": {"color": color},
    }
    yaxis = {
        "type": "category",
        "categoryorder": "array",
        "categoryarray": ranks,
        "autorange": "reversed",
        "tickmode": "array",
        "tickvals": ranks,
        "ticktext": [_label(r, t, LABEL_CHARS) for r, t in zip(ranks, texts, strict=True)],
    }
    narrow = [_label(r, t, LABEL_CHARS_NARROW) for r, t in zip(ranks, texts, strict=True)]
    return _figure(
        [trace],
        title,
        xaxis={"rangemode": "tozero"},
        yaxis=yaxis,
        meta={"ticktext_narrow": narrow, **_links([[r.get("lines_url", "") for r in rows]])},
    )


def top_error_types(rows: list[dict[str, Any]]) -> str:
    return _hbar(rows, "error_type", "Top error types", LEVEL_COLORS["ERROR"])


def errors_per_ip(rows: list[dict[str, Any]]) -> str:
    return _hbar(rows, "ip", "Errors per IP", "#54a24b")


def errors_per_service(rows: list[dict[str, Any]]) -> str:
    return _hbar(rows, "service", "Errors per service", "#72b7b2")


def severity_breakdown(levels: dict[str, int], links: dict[str, str] | None = None) -> str:
    """A slice per level with lines; `links`: level -> the Lines URL of its slice."""
    present = [(lv, n) for lv, n in levels.items() if n]
    trace = {
        "type": "pie",
        "labels": [lv for lv, _ in present],
        "values": [n for _, n in present],
        "marker": {"colors": [LEVEL_COLORS[lv] for lv, _ in present]},
        "hole": 0.45,
        "sort": False,
    }
    urls = [(links or {}).get(lv, "") for lv, _ in present]
    meta = _links([urls])
    return _figure([trace], "Lines per severity", **({"meta": meta} if meta else {}))


def all_charts(data: dict[str, Any]) -> dict[str, str]:
    return {
        "errors_over_time": errors_over_time(
            data["over_time"], data["over_time_unit"], data.get("over_time_links")
        ),
        "top_error_types": top_error_types(data["errors_by_type"]),
        "errors_per_ip": errors_per_ip(data["errors_per_ip"]),
        "errors_per_service": errors_per_service(data["errors_per_service"]),
        "severity": severity_breakdown(
            data["levels"], {r["level"]: r["lines_url"] for r in data.get("level_rows", [])}
        ),
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
