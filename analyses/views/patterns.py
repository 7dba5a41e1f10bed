"""The Patterns page: an analysis's log templates, what is new against an earlier
analysis, and links to each pattern's lines."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from analyses import patterns_selectors, selectors
from analyses.patterns_compare import rows_filter
from analyses.patterns_selectors import PatternsProblem

TOP = 100
Q_MAX = 200


@login_required
@require_GET
def patterns(request: HttpRequest, analysis_id: int) -> HttpResponse:
    analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
    raw_compare = request.GET.get("compare", "")
    q = request.GET.get("q", "")[:Q_MAX]
    new, grown = request.GET.get("new") == "1", request.GET.get("grown") == "1"
    context = {
        "analysis": analysis,
        "choices": patterns_selectors.compare_choices(analysis=analysis),
        "compare": raw_compare,
        "q": q,
        "new": new,
        "grown": grown,
        "top": TOP,
        "growth": patterns_selectors.growth_rule(),
    }
    if raw_compare and not raw_compare.isdigit():
        context["problem"] = f"compare: {raw_compare[:40]!r} is not an analysis id; pick one from the list."
        return render(request, "analyses/patterns.html", context, status=400)
    try:
        report = patterns_selectors.patterns_report(
            user=request.user, analysis=analysis, compare_id=int(raw_compare) if raw_compare else None
        )
    except PatternsProblem as exc:
        context.update(problem=exc.message, problem_code=exc.code)
        # A missing patterns section is a state of the analysis, not an error of the request.
        return render(request, "analyses/patterns.html", context, status=400 if exc.status == 400 else 200)
    if report.against is not None and report.against not in context["choices"]:
        context["choices"].append(report.against)  # picked by id, older than the select's list
    shown = rows_filter(report.comparison.rows, q=q, new=new, grown=grown)
    context.update(
        report=report,
        section=report.section,
        rows=patterns_selectors.rows_for_page(report, shown),
        filtered=bool(q or new or grown),
    )
    return render(request, "analyses/patterns.html", context)
