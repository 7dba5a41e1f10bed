"""Reads for analyses. Every read is scoped to the teams of the asking user;
another team's object answers 404, exactly like one that does not exist."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Team
from accounts.selectors import team_ids_for_user
from analyses.models import Analysis, AnalysisFile, AnalysisResult


def analyses_for_user(*, user: AbstractBaseUser) -> QuerySet[Analysis]:
    return Analysis.objects.filter(team_id__in=team_ids_for_user(user=user))


def analysis_get_for_user(*, user: AbstractBaseUser, analysis_id: int) -> Analysis:
    try:
        return analyses_for_user(user=user).select_related("team", "created_by").get(pk=analysis_id)
    except (Analysis.DoesNotExist, ValueError, TypeError):
        raise Http404("No such analysis") from None


def analysis_file_get_for_user(*, user: AbstractBaseUser, analysis_id: int, file_id: int) -> AnalysisFile:
    try:
        return AnalysisFile.objects.select_related("analysis").get(
            pk=file_id,
            analysis_id=analysis_id,
            analysis__team_id__in=team_ids_for_user(user=user),
        )
    except (AnalysisFile.DoesNotExist, ValueError, TypeError):
        raise Http404("No such file") from None


def analyses_for_team(*, team: Team) -> QuerySet[Analysis]:
    return Analysis.objects.filter(team=team).select_related("created_by").prefetch_related("files")


def analysis_document(*, analysis: Analysis) -> dict | None:
    """The stored result document parts (summary, files, tables), or None."""
    return AnalysisResult.objects.filter(analysis_id=analysis.pk).values_list("document", flat=True).first()


def result_document(*, analysis: Analysis) -> dict:
    """The result document of the engine issue: analysis, summary, files, tables, alerts."""
    stored = analysis_document(analysis=analysis) or {}
    return {
        "analysis": {
            "id": analysis.pk,
            "name": analysis.name,
            "status": analysis.status,
            "error": analysis.error or None,
            "created_at": _iso(analysis.created_at),
            "started_at": _iso(analysis.started_at),
            "finished_at": _iso(analysis.finished_at),
        },
        "summary": stored.get("summary"),
        "files": stored.get("files") or _files_without_results(analysis),
        "tables": stored.get("tables"),
        "alerts": [],
    }


def _iso(value) -> str | None:  # noqa: ANN001
    return value.isoformat() if value else None


def _files_without_results(analysis: Analysis) -> list[dict]:
    return [
        {
            "file_id": f.pk,
            "name": f.original_name,
            "format": f.detected_format or None,
            "rows": f.rows,
            "unparsed_lines": f.unparsed_lines,
            "error": f.error or None,
        }
        for f in analysis.files.all()
    ]
