"""Report files of an analysis: the list, one report (CSV or JSON), all in a zip."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analyses import reports, selectors
from analyses.api.analyses import ANALYSIS_ID
from analyses.models import Analysis, Status
from logplatform.api.errors import ApiError, NotReady


def _document_or_409(analysis: Analysis) -> dict[str, Any]:
    document = selectors.analysis_document(analysis=analysis)
    if document is None:
        if analysis.status == Status.FAILED:
            raise NotReady("This analysis failed, so it has no reports; see its `error`.")
        raise NotReady(
            f"This analysis is {analysis.status}; reports exist once it succeeded. "
            f"Poll /api/v1/analyses/{analysis.pk}/ until `terminal` is true."
        )
    return document


class AnalysisReportListApi(APIView):
    """The report files of an analysis, with their download URLs."""

    error_codes = (404,)

    class OutputSerializer(serializers.Serializer):
        zip_url = serializers.URLField(help_text="Every report in one zip (csv/ and json/).")
        reports = serializers.ListField(child=serializers.DictField(), help_text="name, content_type, url")

    @extend_schema(operation_id="analyses_reports_list", parameters=[ANALYSIS_ID], responses=OutputSerializer)
    def get(self, request: Request, analysis_id: int) -> Response:
        analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)

        def url(name: str, *args: Any) -> str:
            return request.build_absolute_uri(reverse(name, args=(analysis.pk, *args)))

        names = reports.report_names()
        return Response(
            {
                "zip_url": url("api:analysis-reports-zip"),
                "reports": [
                    {
                        "name": name,
                        "content_type": "text/csv" if name.endswith(".csv") else "application/json",
                        "url": url("api:analysis-report", name),
                    }
                    for name in names
                ],
            }
        )


def _attachment(content: str | bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class AnalysisReportApi(APIView):
    """One report file: CSV tables (`*.csv`) or JSON (`*.json`)."""

    error_codes = (404, 409)

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The file goes out as it is; errors are JSON whatever the client accepts.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="analyses_report",
        parameters=[
            ANALYSIS_ID,
            OpenApiParameter("filename", str, OpenApiParameter.PATH, enum=reports.report_names()),
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="A CSV report."),
            (200, "application/json"): OpenApiResponse(OpenApiTypes.ANY, description="A JSON report."),
        },
    )
    def get(self, request: Request, analysis_id: int, filename: str) -> HttpResponse:
        analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
        names = reports.report_names()
        if filename not in names:
            raise ApiError(
                status_code=404,
                code="not_found",
                message=f"No report {filename!r}; the reports are {', '.join(names)}.",
                details={"reports": names},
            )
        content, content_type = reports.report_render(_document_or_409(analysis), filename)
        return _attachment(content, content_type, f"analysis-{analysis.pk}-{filename}")


class AnalysisReportsZipApi(APIView):
    """Every report of an analysis in one zip file."""

    error_codes = (404, 409)

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="analyses_reports_zip",
        parameters=[ANALYSIS_ID],
        responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="A zip file.")},
    )
    def get(self, request: Request, analysis_id: int) -> HttpResponse:
        analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
        content = reports.reports_zip(_document_or_409(analysis))
        return _attachment(content, "application/zip", f"analysis-{analysis.pk}-reports.zip")
