"""Analyses: upload (create), list, get, delete, re-run (results: api/results.py)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import membership_for, require_upload_role, team_membership
from analyses import quota, selectors
from analyses.api.documented import DocumentedChoiceField, DocumentedIntegerField, DocumentedJsonIntegerField
from analyses.models import Analysis, Status
from analyses.options import (
    FORMAT_CHOICES,
    MAX_RERUN_FILES,
    YEAR_MAX,
    YEAR_MIN,
    analysis_options_clean,
    rerun_file_options_clean,
)
from analyses.services.create import analysis_create, analysis_delete, analysis_rerun
from analyses.uploads import StoredUpload
from logplatform.api.errors import ApiError
from logplatform.api.fields import JsonIntegerField, QueryDateField
from logplatform.api.pagination import PageQuerySerializer, paginated, paginated_response
from logplatform.api.throttling import ApiUploadThrottle, ApiUserThrottle
from logplatform.upload_state import upload_state

ANALYSIS_ID = OpenApiParameter("analysis_id", OpenApiTypes.INT, OpenApiParameter.PATH)
MAX_ID = 2**63 - 1


def analysis_links(request: Request, analysis: Analysis) -> dict[str, str]:
    def absolute(name: str, *args: Any) -> str:
        return request.build_absolute_uri(reverse(name, args=args))

    return {
        "url": absolute("analyses:detail", analysis.pk),
        "api_url": absolute("api:analysis-detail", analysis.pk),
        "results_url": absolute("api:analysis-results", analysis.pk),
        "reports_url": absolute("api:analysis-reports", analysis.pk),
    }


class LinksMixin(serializers.Serializer):
    url = serializers.SerializerMethodField(help_text="The analysis page.")
    api_url = serializers.SerializerMethodField(help_text="This analysis in the API: poll it.")
    results_url = serializers.SerializerMethodField()
    reports_url = serializers.SerializerMethodField()

    def _link(self, obj: Analysis, key: str) -> str:
        return analysis_links(self.context["request"], obj)[key]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: Analysis) -> str:
        return self._link(obj, "url")

    @extend_schema_field(OpenApiTypes.URI)
    def get_api_url(self, obj: Analysis) -> str:
        return self._link(obj, "api_url")

    @extend_schema_field(OpenApiTypes.URI)
    def get_results_url(self, obj: Analysis) -> str:
        return self._link(obj, "results_url")

    @extend_schema_field(OpenApiTypes.URI)
    def get_reports_url(self, obj: Analysis) -> str:
        return self._link(obj, "reports_url")


class AnalysisSummarySerializer(LinksMixin):
    id = serializers.IntegerField()
    name = serializers.CharField()
    team = serializers.CharField(source="team.slug")
    status = serializers.ChoiceField(choices=Status.choices)
    stage = serializers.CharField()
    progress = serializers.IntegerField(help_text="0–100.")
    terminal = serializers.BooleanField(source="is_terminal", help_text="succeeded or failed: stop polling.")
    error = serializers.CharField(allow_null=True, help_text="Why it failed, when it failed.")
    created_by = serializers.CharField(source="created_by.username", allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    total_rows = serializers.IntegerField(allow_null=True)
    error_rows = serializers.IntegerField(allow_null=True)
    error_rate = serializers.FloatField(allow_null=True)
    unparsed_lines = serializers.IntegerField(allow_null=True)

    def to_representation(self, instance: Analysis) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["error"] = data["error"] or None
        return data


class AnalysisFileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    size = serializers.IntegerField(help_text="Bytes as uploaded.")
    sha256 = serializers.CharField()
    format = serializers.SerializerMethodField()
    rows = serializers.IntegerField(allow_null=True)
    unparsed_lines = serializers.IntegerField(allow_null=True)
    format_override = serializers.CharField(
        help_text="The format this file was read as by choice; empty: detected."
    )
    assume_year = serializers.IntegerField(
        source="assume_year_override",
        allow_null=True,
        help_text="This file's year for year-less timestamps (a re-run's option); null: the analysis's.",
    )
    error = serializers.SerializerMethodField()

    def get_format(self, obj: Any) -> str | None:
        return obj.detected_format or obj.format_override or None

    def get_error(self, obj: Any) -> str | None:
        return obj.error or None


class StorageSerializer(serializers.Serializer):
    used_bytes = serializers.IntegerField(help_text="The team's stored files (shared files once).")
    quota_bytes = serializers.IntegerField(help_text="uploads.team_quota_mb in bytes; 0: no quota.")


class AnalysisCreatedSerializer(LinksMixin):
    id = serializers.IntegerField()
    name = serializers.CharField()
    team = serializers.CharField(source="team.slug")
    status = serializers.ChoiceField(choices=Status.choices)
    storage = serializers.SerializerMethodField(help_text="The team's storage after this upload.")

    @extend_schema_field(StorageSerializer)
    def get_storage(self, obj: Analysis) -> dict[str, int]:
        return quota.team_storage(team=obj.team).as_dict()


def _created(request: Request, analysis: Analysis) -> Response:
    data = AnalysisCreatedSerializer(analysis, context={"request": request}).data
    return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["api_url"]})


class AnalysisListApi(APIView):
    """The analyses of your teams, newest first."""

    error_codes = (400, 404)

    class FilterSerializer(PageQuerySerializer):
        team = serializers.CharField(
            required=False, allow_blank=True, max_length=100, help_text="Team slug or id; default all."
        )
        status = serializers.ChoiceField(choices=Status.choices, required=False, allow_blank=True)
        created_from = QueryDateField(required=False, help_text="Created on or after (YYYY-MM-DD, UTC).")
        created_to = QueryDateField(required=False, help_text="Created on or before (YYYY-MM-DD, UTC).")
        q = serializers.CharField(
            required=False, allow_blank=True, max_length=200, help_text="Text in the name or a file name."
        )

    class OutputSerializer(AnalysisSummarySerializer):
        file_count = serializers.IntegerField()

    @extend_schema(
        operation_id="analyses_list",
        parameters=[FilterSerializer],
        responses=paginated(OutputSerializer, "AnalysisPage"),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        team = team_membership(user=request.user, team=data["team"]).team if data.get("team") else None
        analyses = selectors.analyses_search(
            user=request.user,
            team=team,
            status=data.get("status", ""),
            created_from=data.get("created_from"),
            created_to=data.get("created_to"),
            q=data.get("q", ""),
        )
        return paginated_response(
            queryset=analyses, serializer_class=self.OutputSerializer, request=request, view=self
        )


class AnalysisCreateApi(APIView):
    """Upload one or many log files (multipart field `files`, repeated) as a new analysis.

    The analysis is queued; poll `api_url` until `terminal` is true.
    """

    parser_classes = [MultiPartParser]
    throttle_classes = [ApiUserThrottle, ApiUploadThrottle]
    error_codes = (400, 403, 404, 413, 507)

    class InputSerializer(serializers.Serializer):
        files = serializers.ListField(
            child=serializers.FileField(allow_empty_file=True, use_url=False),
            min_length=1,
            help_text="The log files (CSV, syslog, log4j, Apache/Nginx, JSON lines, or .gz of any).",
        )
        # Patterns, so that the schema says what the fields refuse (a NUL character).
        team = serializers.RegexField(
            r"^[-a-zA-Z0-9_]*$",
            required=False,
            allow_blank=True,
            max_length=100,
            help_text="Team slug or id; required when you are in more than one team.",
        )
        name = serializers.RegexField(r"^[^\x00]*$", required=False, allow_blank=True, max_length=200)
        # Checked in `validate` by the rules the upload page uses (analyses.options).
        format = DocumentedChoiceField(
            choices=FORMAT_CHOICES, required=False, allow_blank=True, help_text="Default: detected per file."
        )
        assume_year = DocumentedIntegerField(
            required=False,
            min_value=YEAR_MIN,
            max_value=YEAR_MAX,
            help_text="Year for year-less timestamps (syslog).",
        )

        def validate_files(self, files: list[Any]) -> list[StoredUpload]:
            errors = [f"{f.name} is empty; upload a file with log lines in it." for f in files if not f.size]
            if errors or not all(isinstance(f, StoredUpload) for f in files):
                raise serializers.ValidationError(errors or ["Send the files as multipart file parts."])
            return files

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            try:
                attrs["options"] = analysis_options_clean(attrs)
            except ValidationError as exc:
                raise serializers.ValidationError(exc.message_dict) from None
            return attrs

    @extend_schema(
        operation_id="analyses_create",
        request={"multipart/form-data": InputSerializer},
        responses={202: AnalysisCreatedSerializer},
    )
    def post(self, request: Request) -> Response:
        data = request.data  # streams every file to disk (analyses.uploads)
        problems = upload_state(request._request).problems
        if problems:
            raise ApiError(
                status_code=problems[0].status,
                code=problems[0].code,
                message=" ".join(p.message for p in problems),
                details={
                    **problems[0].details,
                    "files": [{"name": p.name, "message": p.message} for p in problems],
                },
            )
        serializer = self.InputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        valid = serializer.validated_data
        membership = team_membership(user=request.user, team=valid.get("team"))
        require_upload_role(membership, "upload")
        try:
            analysis = analysis_create(
                team=membership.team,
                user=request.user,
                files=valid["files"],
                name=valid.get("name") or "",
                options=valid["options"],
            )
        except quota.QuotaExceeded as exc:
            raise ApiError(
                status_code=exc.status, code=exc.code, message=exc.message, details=exc.details
            ) from None
        return _created(request, analysis)


class AnalysisDetailApi(APIView):
    """One analysis: status, stage and progress while it runs; summary and files when done."""

    error_codes = (404,)

    class OutputSerializer(AnalysisSummarySerializer):
        options = serializers.DictField(help_text="format, assume_year as given.")
        attempts = serializers.IntegerField()
        duration_seconds = serializers.FloatField(allow_null=True)
        files = AnalysisFileSerializer(many=True, source="files.all")
        summary = serializers.DictField(allow_null=True, help_text="The result summary, once succeeded.")
        open_alerts = serializers.IntegerField()

    @extend_schema(operation_id="analyses_retrieve", parameters=[ANALYSIS_ID], responses=OutputSerializer)
    def get(self, request: Request, analysis_id: int) -> Response:
        analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
        analysis.summary = (selectors.analysis_document(analysis=analysis) or {}).get("summary")
        analysis.open_alerts = analysis.alerts.filter(acknowledged_at__isnull=True).count()
        return Response(self.OutputSerializer(analysis, context={"request": request}).data)


class AnalysisDeleteApi(APIView):
    """Delete an analysis, its results and its stored files (files shared with a re-run stay)."""

    error_codes = (403, 404)

    @extend_schema(operation_id="analyses_destroy", parameters=[ANALYSIS_ID], responses={204: None})
    def delete(self, request: Request, analysis_id: int) -> Response:
        analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
        require_upload_role(membership_for(user=request.user, team_id=analysis.team_id), "delete analyses")
        analysis_delete(analysis=analysis)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RerunFileSerializer(serializers.Serializer):
    # Checked in the re-run's `validate` by the rules of the page's re-run form
    # (analyses.options.rerun_file_options_clean).
    id = JsonIntegerField(min_value=1, max_value=MAX_ID, help_text="A file of the analysis (`files[].id`).")
    format = DocumentedChoiceField(
        choices=FORMAT_CHOICES,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="This file's format; empty or null: detect it.",
    )
    assume_year = DocumentedJsonIntegerField(
        required=False,
        allow_null=True,
        min_value=YEAR_MIN,
        max_value=YEAR_MAX,
        help_text="The year for this file's year-less timestamps (syslog); null: the analysis's year.",
    )


class AnalysisRerunApi(APIView):
    """Analyse the same stored files again, as a new analysis (nothing is uploaded again).

    The body may set, per file, the format and the year for timestamps without one
    (`files`); a file not listed keeps the options it had. No body: the same options.
    """

    throttle_classes = [ApiUserThrottle, ApiUploadThrottle]
    error_codes = (400, 403, 404)

    class InputSerializer(serializers.Serializer):
        files = serializers.ListField(
            child=RerunFileSerializer(),
            required=False,
            max_length=MAX_RERUN_FILES,
            help_text="Options per file: each entry sets that file's `format` and `assume_year`.",
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            try:
                attrs["file_options"] = rerun_file_options_clean(
                    attrs.get("files"), file_ids=self.context["file_ids"]
                )
            except ValidationError as exc:
                raise serializers.ValidationError(exc.message_dict) from None
            return attrs

    @extend_schema(
        operation_id="analyses_rerun",
        parameters=[ANALYSIS_ID],
        request=InputSerializer,
        responses={202: AnalysisCreatedSerializer},
    )
    def post(self, request: Request, analysis_id: int) -> Response:
        analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
        require_upload_role(membership_for(user=request.user, team_id=analysis.team_id), "re-run analyses")
        file_ids = list(analysis.files.values_list("pk", flat=True))
        body = self.InputSerializer(data=request.data, context={"file_ids": file_ids})
        body.is_valid(raise_exception=True)
        clone = analysis_rerun(
            analysis=analysis, user=request.user, file_options=body.validated_data["file_options"]
        )
        return _created(request, clone)
