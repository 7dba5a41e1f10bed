"""The Lines view: an analysis's stored lines under filters, a line's context, an export."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_GET

from analyses import dashboard, lines, selectors
from analyses.models import Analysis
from logplatform.api.throttling import lines_throttle_wait
from spark_client.lines_filter import (
    LIMIT_MAX,
    LIMIT_MIN,
    NONE_VALUE,
    OLDEST,
    STATUSES,
    LinesFilter,
    LinesFilterError,
)
from spark_client.rows import LEVELS

PAGE_SIZES = (50, 100, 200, 500)
# The cursors of the pages before this one, oldest first; FIRST stands for the first page.
PAGES = "pages"
FIRST = "first"
STEP = "%Y-%m-%dT%H:%M:%S"


def _problem(
    request: HttpRequest, template: str, context: dict[str, Any], status: int, message: str
) -> HttpResponse:
    return render(request, template, {**context, "problem": message}, status=status)


def _throttled(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse | None:
    wait = lines_throttle_wait(request)
    if wait is None:
        return None
    response = _problem(request, template, context, 429, f"Too many searches; try again in {wait} seconds.")
    response["Retry-After"] = str(wait)
    return response


def _query(request: HttpRequest, **changes: Any) -> str:
    """The current query string with `changes` (a list sets every value, None drops)."""
    query = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        elif isinstance(value, list):
            query.setlist(key, value)
        else:
            query[key] = value
    return query.urlencode()


def _form(analysis: Analysis, source: lines.LinesSource, f: LinesFilter | None, request: HttpRequest) -> dict:
    """What the filter form shows: the filter in force (or what was typed)."""
    choices = dashboard.filter_choices(analysis=analysis)
    query = request.GET
    levels = f.levels if f else [v.upper() for v in query.getlist("level") + query.getlist("levels")]
    services = list(f.services) if f else query.getlist("service") + query.getlist("services")
    return {
        "from": f.start.strftime(STEP) if f and f.start else query.get("from", ""),
        "to": f.end.strftime(STEP) if f and f.end else query.get("to", ""),
        "levels": [(lv, lv in levels) for lv in LEVELS],
        "services": [
            (s, s in services) for s in dict.fromkeys([NONE_VALUE, *choices["services"], *services])
        ],
        "ip": query.get("ip", ""),
        "error_type": query.get("error_type", ""),
        "files": [(x.pk, x.original_name, str(x.pk) in query.getlist("file")) for x in source.files],
        "statuses": [(s, s in (f.statuses if f else ())) for s in STATUSES],
        "q": query.get("q", ""),
        "regex": bool(f and f.regex),
        "oldest": bool(f and f.order == OLDEST),
        "limit": f.limit if f else 100,
        "page_sizes": PAGE_SIZES,
    }


@login_required
@require_GET
def lines_list(request: HttpRequest, analysis_id: int) -> HttpResponse:
    analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
    template = "analyses/lines.html"
    context: dict[str, Any] = {"analysis": analysis, "limits": (LIMIT_MIN, LIMIT_MAX)}
    throttled = _throttled(request, template, context)
    if throttled:
        return throttled
    try:
        source = lines.lines_source(analysis=analysis)
    except lines.LinesNotAvailable as exc:
        return _problem(request, template, context, exc.status, exc.message)
    try:
        f = lines.lines_filter_from_query(request.GET, source=source)
    except LinesFilterError as exc:
        context.update(form=_form(analysis, source, None, request), errors=exc.errors)
        return render(request, template, context, status=400)
    context["form"] = _form(analysis, source, f, request)
    try:
        page = lines.lines_page(source=source, lines_filter=f, request=request)
    except LinesFilterError as exc:
        return render(request, template, {**context, "errors": exc.errors}, status=400)
    except lines.LinesError as exc:
        return _problem(request, template, context, exc.status, exc.message)
    except lines.ClientGone:
        return HttpResponse(status=499)
    before = request.GET.getlist(PAGES)
    current = request.GET.get("cursor", "") or FIRST
    context.update(
        lines=page.lines,
        number=len(before) + 1,
        next_query=_query(request, cursor=page.next_cursor, **{PAGES: [*before, current]})
        if page.next_cursor
        else "",
        previous_query=_query(
            request, cursor=None if before[-1] == FIRST else before[-1], **{PAGES: before[:-1]}
        )
        if before
        else "",
        export_query=_query(request, cursor=None, **{PAGES: None, "limit": None}),
    )
    return render(request, template, context)


def _context_params(query: QueryDict) -> tuple[int, int] | None:
    file, line = query.get("file", ""), query.get("line", "")
    if file.isdigit() and line.isdigit() and len(file) < 19 and len(line) < 16 and int(line) > 0:
        return int(file), int(line)
    return None


@login_required
@require_GET
def lines_context(request: HttpRequest, analysis_id: int) -> HttpResponse:
    analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
    template = "analyses/lines_context.html"
    context: dict[str, Any] = {"analysis": analysis}
    throttled = _throttled(request, template, context)
    if throttled:
        return throttled
    params = _context_params(request.GET)
    if params is None:
        return _problem(request, template, context, 400, "Open a line's context from the lines page.")
    try:
        source = lines.lines_source(analysis=analysis)
        around = lines.lines_context(source=source, file_id=params[0], line=params[1], request=request)
    except LinesFilterError as exc:
        return _problem(
            request, template, context, 400, " ".join(m for ms in exc.errors.values() for m in ms)
        )
    except lines.LinesError as exc:
        return _problem(request, template, context, exc.status, exc.message)
    except lines.ClientGone:
        return HttpResponse(status=499)
    return render(request, template, {**context, "context": around})


@login_required
@require_GET
def lines_export(request: HttpRequest, analysis_id: int) -> HttpResponse:
    analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
    template = "analyses/lines.html"
    context: dict[str, Any] = {"analysis": analysis}
    throttled = _throttled(request, template, context)
    if throttled:
        return throttled
    export_format = request.GET.get("format", "csv")
    if export_format not in lines.EXPORT_FORMATS:
        return _problem(request, template, context, 400, "Export as csv or jsonl.")
    try:
        source = lines.lines_source(analysis=analysis)
        f = lines.lines_filter_from_query(request.GET, source=source)
        export = lines.lines_export(
            source=source, lines_filter=f, request=request, export_format=export_format
        )
    except LinesFilterError as exc:
        return _problem(
            request, template, context, 400, " ".join(m for ms in exc.errors.values() for m in ms)
        )
    except lines.LinesError as exc:
        return _problem(request, template, context, exc.status, exc.message)
    except lines.ClientGone:
        return HttpResponse(status=499)
    return lines.export_response(export, analysis=analysis, export_format=export_format)
