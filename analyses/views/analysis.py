"""Upload, the analysis page (dashboard), its status, files and reports."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Membership
from accounts.permissions import current_membership, membership_of, require_upload_role
from analyses import charts, dashboard, drilldown, quota, reports, selectors
from analyses.forms import AnalysisOptionsForm, rerun_files_from_post
from analyses.models import Status
from analyses.options import FORMAT_CHOICES, YEAR_MAX, YEAR_MIN, rerun_file_options_clean
from analyses.services.create import analysis_create, analysis_delete, analysis_rerun
from analyses.uploads import StoredPathError, StoredUpload, stored_path_resolve
from analyses.views.common import wants_json
from logplatform.api.throttling import upload_throttle_wait
from logplatform.upload_state import upload_state
from spark_client.rows import FORMAT_LABELS


def _upload_context(membership: Membership) -> dict:
    uploads = settings.LOGPLATFORM["uploads"]
    storage = quota.team_storage(team=membership.team)
    return {
        "max_file_mb": uploads["max_file_mb"],
        "max_request_mb": uploads["max_request_mb"],
        "max_files": uploads["max_files"],
        "storage_used": quota.human_bytes(storage.used_bytes),
        "storage_quota": quota.human_bytes(storage.quota_bytes) if storage.quota_bytes else "",
        "storage_free_bytes": storage.free_bytes,
    }


def _upload_error(
    request: HttpRequest,
    status: int,
    problems: list[str],
    *,
    code: str | None = None,
    details: dict | None = None,
    retry_after: int | None = None,
) -> HttpResponse:
    if wants_json(request):
        # The API's error shape, plus the list of messages the upload page shows.
        body = {
            "status": status,
            "code": code or {400: "invalid", 413: "too_large"}.get(status, "error"),
            "message": " ".join(problems),
            "details": details or {},
            "messages": problems,
        }
        response = JsonResponse({"error": body}, status=status)
    else:
        response = render(
            request,
            "analyses/upload.html",
            {
                "form": AnalysisOptionsForm(request.POST or None),
                "errors": problems,
                "can_upload": True,
                **_upload_context(request.membership),
            },
            status=status,
        )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _throttled_message(wait: int) -> str:
    rate = settings.LOGPLATFORM["api"]["throttle_upload"]
    return (
        f"Too many uploads: at most {rate} per user (uploads and re-runs, pages and API together); "
        f"try again in {wait} seconds."
    )


def _team_problem(request: HttpRequest, membership: Membership) -> HttpResponse | None:
    """The upload goes to the team the page showed, which must still be the current
    one: a team switched in another tab is refused rather than guessed."""
    posted = request.POST.get("team", "")
    if not posted:
        if len(request.memberships) == 1:
            return None
        slugs = [m.team.slug for m in request.memberships]
        return _upload_error(
            request,
            400,
            [
                f"You are in several teams ({', '.join(slugs)}) and this upload names none; "
                "upload from the upload page, which shows the team the files go to."
            ],
            code="team_required",
            details={"teams": slugs},
        )
    if posted == str(membership.team_id):
        return None
    shown = next((m.team.name for m in request.memberships if str(m.team_id) == posted), None)
    current = membership.team.name
    message = (
        f"The upload page was for {shown}, but your current team is now {current} (switched in "
        f"another tab?). Nothing was uploaded: reload the page to upload to {current}, or "
        f"switch back to {shown} first."
        if shown
        else f"This upload names a team that is not your current team, {current}. Nothing was "
        "uploaded: reload the upload page and try again."
    )
    return _upload_error(
        request,
        409,
        [message],
        code="team_changed",
        details={"current_team": membership.team.slug},
    )


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    if request.method == "GET":
        return render(
            request,
            "analyses/upload.html",
            {
                "form": AnalysisOptionsForm(),
                "can_upload": membership.can_upload,
                **_upload_context(membership),
            },
        )
    require_upload_role(membership, "upload")
    wait = upload_throttle_wait(request)
    if wait is not None:
        return _upload_error(
            request,
            429,
            [_throttled_message(wait)],
            code="throttled",
            details={"retry_after": wait},
            retry_after=wait,
        )
    files = request.FILES.getlist("files")  # streamed to disk by StreamingUploadHandler
    state = upload_state(request)
    if state.problems:
        first = state.problems[0]
        return _upload_error(
            request, first.status, [p.message for p in state.problems], code=first.code, details=first.details
        )
    refused = _team_problem(request, membership)
    if refused is not None:
        return refused
    form = AnalysisOptionsForm(request.POST)
    if not form.is_valid():
        return _upload_error(
            request, 400, [f"{field}: {', '.join(errs)}" for field, errs in form.errors.items()]
        )
    stored = [f for f in files if isinstance(f, StoredUpload)]
    if not stored:
        return _upload_error(request, 400, ["Choose at least one log file to analyse."])
    empty = [f.name for f in stored if f.size == 0]
    if empty:
        return _upload_error(
            request, 400, [f"{name} is empty; upload a file with log lines in it." for name in empty]
        )
    try:
        analysis = analysis_create(
            team=membership.team,
            user=request.user,
            files=stored,
            name=form.cleaned_data.get("name") or "",
            options=form.cleaned_data["options"],
        )
    except quota.QuotaExceeded as exc:
        return _upload_error(request, exc.status, [exc.message], code=exc.code, details=exc.details)
    url = reverse("analyses:detail", args=[analysis.pk])
    if wants_json(request):
        return JsonResponse({"id": analysis.pk, "url": url, "status": analysis.status}, status=202)
    return redirect(url)


@login_required
@require_GET
def detail(request: HttpRequest, analysis_id: int) -> HttpResponse:
    analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
    document = selectors.result_document(analysis=analysis)
    stored = selectors.analysis_document(analysis=analysis) or {}
    files = selectors.files_for_page(analysis=analysis, files=document["files"])
    # Lines to drill down to: a succeeded analysis that stored them (the Lines view's
    # own test, analyses.lines.source); older analyses keep their numbers without links.
    has_lines = analysis.status == Status.SUCCEEDED and bool(stored.get("lines"))
    context = {
        "analysis": analysis,
        "doc": document,
        "trend_bucket_seconds": stored.get("trend_bucket_seconds"),
        "has_lines": has_lines,
        "files": files,
        "files_need_year": any(f["needs_year"] for f in files),
        "format_choices": FORMAT_CHOICES,
        "year_min": YEAR_MIN,
        "year_max": YEAR_MAX,
        "alerts": analysis.alerts.select_related("rule").order_by("acknowledged_at", "pk"),
        "active_alert_count": analysis.alerts.filter(acknowledged_at__isnull=True).count(),
        "format_labels": FORMAT_LABELS,
        "refresh_seconds": settings.LOGPLATFORM["dashboard"]["refresh_seconds"],
        "membership": membership_of(request, analysis.team_id),
    }
    if document["summary"] is not None:
        filters = dashboard.filters_from_query(request.GET)
        data = dashboard.dashboard_data(analysis=analysis, filters=filters)
        if has_lines:
            data = drilldown.dashboard_links(analysis_id=analysis.pk, filters=filters, data=data)
            context["whole"] = drilldown.whole_analysis_links(
                analysis_id=analysis.pk,
                tables=document["tables"] or {},
                trend_seconds=stored.get("trend_bucket_seconds"),
            )
        context.update(
            filters=filters,
            data=data,
            charts=charts.all_charts(data),
            choices=dashboard.filter_choices(analysis=analysis),
            report_names=reports.report_names(),
        )
    return render(request, "analyses/detail.html", context)


@login_required
@require_GET
def status(request: HttpRequest, analysis_id: int) -> JsonResponse:
    analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
    return JsonResponse(
        {
            "id": analysis.pk,
            "status": analysis.status,
            "stage": analysis.stage,
            "progress": analysis.progress,
            "error": analysis.error or None,
            "terminal": analysis.is_terminal,
        }
    )


@login_required
@require_GET
def file_download(request: HttpRequest, analysis_id: int, file_id: int) -> FileResponse:
    f = selectors.analysis_file_get_for_user(user=request.user, analysis_id=analysis_id, file_id=file_id)
    try:
        path = stored_path_resolve(f.stored_path)
    except StoredPathError:
        raise Http404("The stored file is not available.") from None
    if not path.is_file():
        raise Http404("The stored file is gone.")
    return FileResponse(path.open("rb"), as_attachment=True, filename=f.original_name)


def _document_or_404(request: HttpRequest, analysis_id: int) -> tuple:
    analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
    document = selectors.analysis_document(analysis=analysis)
    if document is None:
        raise Http404("This analysis has no results (yet).")
    return analysis, document


@login_required
@require_GET
def report_download(request: HttpRequest, analysis_id: int, filename: str) -> HttpResponse:
    analysis, document = _document_or_404(request, analysis_id)
    try:
        content, content_type = reports.report_render(document, filename)
    except KeyError:
        raise Http404("No such report.") from None
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="analysis-{analysis.pk}-{filename}"'
    return response


@login_required
@require_GET
def reports_zip(request: HttpRequest, analysis_id: int) -> HttpResponse:
    analysis, document = _document_or_404(request, analysis_id)
    response = HttpResponse(reports.reports_zip(document), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="analysis-{analysis.pk}-reports.zip"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, analysis_id: int) -> HttpResponse:
    analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
    require_upload_role(membership_of(request, analysis.team_id), "delete analyses")
    if request.method == "GET":
        return render(request, "analyses/confirm_delete.html", {"analysis": analysis})
    name = analysis.name
    analysis_delete(analysis=analysis)
    messages.success(request, f"Deleted {name} and its files.")
    return redirect("analyses:history")


@login_required
@require_POST
def rerun(request: HttpRequest, analysis_id: int) -> HttpResponse:
    analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
    require_upload_role(membership_of(request, analysis.team_id), "re-run analyses")
    wait = upload_throttle_wait(request)  # a re-run queues Spark work like an upload
    if wait is not None:
        response = render(
            request,
            "analyses/throttled.html",
            {"analysis": analysis, "message": _throttled_message(wait)},
            status=429,
        )
        response["Retry-After"] = str(wait)
        return response
    file_ids = list(analysis.files.values_list("pk", flat=True))
    try:
        file_options = rerun_file_options_clean(
            rerun_files_from_post(request.POST, file_ids=file_ids), file_ids=file_ids
        )
    except ValidationError as exc:
        for problem in exc.message_dict["files"]:
            messages.error(request, f"Nothing was re-run: {problem}")
        return redirect(reverse("analyses:detail", args=[analysis.pk]) + "#rerun-options")
    clone = analysis_rerun(analysis=analysis, user=request.user, file_options=file_options)
    messages.info(request, f"Re-running {analysis.name} as a new analysis.")
    return redirect("analyses:detail", analysis_id=clone.pk)
