"""Pages of the analyses app. Thin: parse, call a selector or service, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Membership
from analyses import selectors, services
from analyses.forms import AnalysisOptionsForm
from analyses.models import Status
from analyses.uploads import StoredUpload, upload_state
from spark_client.types import FORMAT_LABELS, LEVELS


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _membership(request: HttpRequest) -> Membership:
    if request.membership is None:
        raise PermissionDenied("You are not a member of any team yet; ask a team admin to add you.")
    return request.membership


def _upload_error(request: HttpRequest, status: int, messages_: list[str]) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"error": {"status": status, "messages": messages_}}, status=status)
    return render(
        request,
        "analyses/upload.html",
        {"form": AnalysisOptionsForm(request.POST or None), "errors": messages_, **_upload_context()},
        status=status,
    )


def _upload_context() -> dict:
    uploads = settings.LOGPLATFORM["uploads"]
    return {
        "max_file_mb": uploads["max_file_mb"],
        "max_request_mb": uploads["max_request_mb"],
        "max_files": uploads["max_files"],
    }


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    if request.method == "GET":
        return render(
            request,
            "analyses/upload.html",
            {"form": AnalysisOptionsForm(), "can_upload": membership.can_upload, **_upload_context()},
        )
    if not membership.can_upload:
        raise PermissionDenied("Viewers cannot upload; ask a team admin for the member role.")
    files = request.FILES.getlist("files")  # streamed to disk by StreamingUploadHandler
    state = upload_state(request)
    if state.problems:
        return _upload_error(request, 413, [p.message for p in state.problems])
    form = AnalysisOptionsForm(request.POST)
    if not form.is_valid():
        errors = [f"{field}: {', '.join(errs)}" for field, errs in form.errors.items()]
        return _upload_error(request, 400, errors)
    if not files:
        return _upload_error(request, 400, ["Choose at least one log file to analyse."])
    stored = [f for f in files if isinstance(f, StoredUpload)]
    empty = [f.name for f in stored if f.size == 0]
    if empty:
        return _upload_error(
            request, 400, [f"{name} is empty; upload a file with log lines in it." for name in empty]
        )
    analysis = services.analysis_create(
        team=membership.team,
        user=request.user,
        files=stored,
        name=form.cleaned_data.get("name") or "",
        options=form.options(),
    )
    url = reverse("analyses:detail", args=[analysis.pk])
    if _wants_json(request):
        return JsonResponse({"id": analysis.pk, "url": url, "status": analysis.status}, status=202)
    return redirect(url)


@login_required
@require_GET
def detail(request: HttpRequest, analysis_id: int) -> HttpResponse:
    analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
    document = selectors.result_document(analysis=analysis)
    summary = document["summary"]
    levels = [(lv, (summary or {}).get("levels", {}).get(lv, 0)) for lv in LEVELS] if summary else []
    return render(
        request,
        "analyses/detail.html",
        {
            "analysis": analysis,
            "doc": document,
            "summary": summary,
            "levels": levels,
            "files": document["files"],
            "format_labels": FORMAT_LABELS,
            "refresh_seconds": settings.LOGPLATFORM["dashboard"]["refresh_seconds"],
        },
    )


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
    path = services.stored_file_path(f)
    return FileResponse(path.open("rb"), as_attachment=True, filename=f.original_name)


@login_required
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    analyses = selectors.analyses_for_team(team=membership.team)
    page = Paginator(analyses, settings.LOGPLATFORM["dashboard"]["history_page_size"]).get_page(
        request.GET.get("page")
    )
    return render(request, "analyses/history.html", {"page": page, "statuses": Status})


@login_required
@require_POST
def delete(request: HttpRequest, analysis_id: int) -> HttpResponse:
    analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
    membership = next(m for m in request.memberships if m.team_id == analysis.team_id)
    if not membership.can_upload:
        raise PermissionDenied("Viewers cannot delete analyses.")
    name = analysis.name
    services.analysis_delete(analysis=analysis)
    messages.success(request, f"Deleted {name} and its files.")
    return redirect("analyses:history")


@login_required
@require_POST
def rerun(request: HttpRequest, analysis_id: int) -> HttpResponse:
    analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
    membership = next(m for m in request.memberships if m.team_id == analysis.team_id)
    if not membership.can_upload:
        raise PermissionDenied("Viewers cannot re-run analyses.")
    clone = services.analysis_rerun(analysis=analysis, user=request.user)
    return redirect("analyses:detail", analysis_id=clone.pk)
