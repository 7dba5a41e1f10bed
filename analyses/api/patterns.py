"""The patterns of an analysis (issue 21): each log template with its counts, and
what is new or grown against an earlier analysis of the team."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analyses import patterns_selectors, selectors
from analyses.api.analyses import ANALYSIS_ID, MAX_ID
from analyses.patterns_compare import PatternRow, rows_filter
from analyses.patterns_selectors import PatternsProblem, PatternsReport
from logplatform.api.errors import ApiError
from logplatform.api.fields import QueryIntegerField, QueryValueMixin
from logplatform.api.pagination import PageQuerySerializer, Pagination


class QueryBooleanField(QueryValueMixin, serializers.BooleanField):
    pass


class PatternSerializer(serializers.Serializer):
    id = serializers.CharField(
        help_text="16 hex digits; the same template has the same id in every analysis."
    )
    template = serializers.CharField(help_text="The message with <*> where it varies.")
    count = serializers.IntegerField(help_text="Lines with this pattern.")
    share = serializers.FloatField(help_text="count / the analysis's lines (0–1).")
    errors = serializers.IntegerField(help_text="Of them, error lines (ERROR, CRITICAL).")
    levels = serializers.DictField(child=serializers.IntegerField(), help_text="Lines per level.")
    first_ts = serializers.DateTimeField(
        allow_null=True, help_text="The first line's time; null: none timed."
    )
    last_ts = serializers.DateTimeField(allow_null=True)
    example = serializers.CharField(help_text="One raw message of the pattern (at most 500 characters).")
    sparkline = serializers.ListField(
        child=serializers.IntegerField(), help_text="Lines per bucket of the page's `sparkline` buckets."
    )
    new = serializers.BooleanField(help_text="Absent from the analysis compared with.")
    grown = serializers.BooleanField(
        help_text="Its share of the lines is at least 3× and 1 percentage point above the one compared with."
    )
    previous_count = serializers.IntegerField(
        allow_null=True,
        help_text="Its lines in the analysis compared with; null: not there, or no comparison.",
    )
    lines_url = serializers.SerializerMethodField(
        help_text="Its lines (the Lines API); null: no stored lines."
    )

    @extend_schema_field(OpenApiTypes.URI)
    def get_lines_url(self, row: PatternRow) -> str | None:
        report: PatternsReport = self.context["report"]
        if not report.has_lines:
            return None
        path = patterns_selectors.pattern_lines_path(
            analysis_id=report.analysis.pk, pattern_id=row.id, api=True
        )
        return self.context["request"].build_absolute_uri(path)


class ComparedWithSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    url = serializers.URLField(help_text="That analysis in the API.")
    chosen = serializers.BooleanField(help_text="Given as `compare`; false: the previous of the same name.")


class SparklineSerializer(serializers.Serializer):
    start = serializers.DateTimeField(allow_null=True, help_text="The first bucket's start.")
    bucket_seconds = serializers.IntegerField(allow_null=True)
    buckets = serializers.IntegerField()


class PatternPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Patterns over all pages (after the filters).")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    total = serializers.IntegerField(
        help_text="Patterns in the analysis (the document lists the most frequent)."
    )
    listed = serializers.IntegerField(help_text="Patterns the analysis listed, before the filters.")
    distinct_messages = serializers.IntegerField()
    capped = serializers.BooleanField(help_text="More distinct messages than the miner takes.")
    sparkline = SparklineSerializer()
    compared_with = ComparedWithSerializer(allow_null=True)
    comparison_note = serializers.CharField(allow_null=True, help_text="When nothing is marked: why.")
    new_count = serializers.IntegerField(help_text="New patterns (before the filters).")
    grown_count = serializers.IntegerField()
    results = PatternSerializer(many=True)


class AnalysisPatternsApi(APIView):
    """The patterns of an analysis, most lines first, and what is new.

    Each pattern is compared with the team's previous succeeded analysis of the same
    name, or with `compare`: `new` (absent there) and `grown` (share of the lines at
    least 3× and 1 percentage point above). `new` and `grown` together list either.
    409 `not_ready` before the analysis succeeded; 409 `no_patterns` for an analysis
    made before patterns were mined (re-run it).
    """

    error_codes = (400, 404, 409)

    class FilterSerializer(PageQuerySerializer):
        compare = QueryIntegerField(
            required=False,
            min_value=1,
            max_value=MAX_ID,
            help_text="An analysis of the same team to compare with; default the previous of the same name.",
        )
        new = QueryBooleanField(required=False, default=False, help_text="Only new patterns.")
        grown = QueryBooleanField(required=False, default=False, help_text="Only grown patterns.")
        q = serializers.CharField(
            required=False, allow_blank=True, max_length=200, help_text="Text in the template, any case."
        )

    @extend_schema(
        operation_id="analyses_patterns",
        parameters=[ANALYSIS_ID, FilterSerializer],
        responses=PatternPageSerializer,
    )
    def get(self, request: Request, analysis_id: int) -> Response:
        analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        try:
            report = patterns_selectors.patterns_report(
                user=request.user, analysis=analysis, compare_id=data.get("compare")
            )
        except PatternsProblem as exc:
            raise ApiError(status_code=exc.status, code=exc.code, message=exc.message, details={}) from None
        except Http404:
            raise Http404("No such analysis to compare with") from None
        rows = rows_filter(report.comparison.rows, q=data.get("q", ""), new=data["new"], grown=data["grown"])
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        body = {
            "count": paginator.page.paginator.count,
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            **_about(request, report),
            "results": PatternSerializer(
                page, many=True, context={"request": request, "report": report}
            ).data,
        }
        return Response(body)


def _about(request: Request, report: PatternsReport) -> dict[str, Any]:
    section = report.section
    spark = section.get("sparkline") or {}
    against = report.against
    return {
        "total": int(section.get("total", len(section.get("items") or []))),
        "listed": len(section.get("items") or []),
        "distinct_messages": int(section.get("distinct_messages") or 0),
        "capped": bool(section.get("capped")),
        "sparkline": {
            "start": spark.get("start"),
            "bucket_seconds": spark.get("bucket_seconds"),
            "buckets": int(spark.get("buckets") or 0),
        },
        "compared_with": (
            ComparedWithSerializer(
                {
                    "id": against.pk,
                    "name": against.name,
                    "created_at": against.created_at,
                    "url": request.build_absolute_uri(reverse("api:analysis-detail", args=[against.pk])),
                    "chosen": report.chosen,
                }
            ).data
            if against is not None
            else None
        ),
        "comparison_note": report.comparison.reason or None,
        "new_count": report.comparison.counts.get("new", 0),
        "grown_count": report.comparison.counts.get("grown", 0),
    }
