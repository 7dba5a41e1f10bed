"""The lines of an analysis: a filtered page, the lines around one line, an export.

Each request queries the analysis's stored lines on Spark Connect (analyses.lines):
bounded, tagged, interrupted after `lines.query_timeout_seconds` (504) and when
the client goes away.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analyses import lines, selectors
from analyses.api.analyses import ANALYSIS_ID
from analyses.models import Analysis
from logplatform.api.errors import ApiError
from logplatform.api.throttling import ApiLinesThrottle, ApiUserThrottle
from spark_client.lines_filter import (
    CONTEXT_LINES,
    LIMIT_DEFAULT,
    LIMIT_MAX,
    LIMIT_MIN,
    NONE_VALUE,
    ORDERS,
    REGEX_MAX_CHARS,
    STATUSES,
    LinesFilterError,
)
from spark_client.rows import LEVELS

Q = OpenApiParameter.QUERY


def _many(name: str, description: str, **kwargs: Any) -> OpenApiParameter:
    return OpenApiParameter(
        name, {"type": "array", "items": {"type": "string", **kwargs}}, Q, description=description
    )


FILTER_PARAMETERS = [
    OpenApiParameter(
        "from", OpenApiTypes.DATETIME, Q, description="Lines at or after (ISO 8601; UTC without a zone)."
    ),
    OpenApiParameter(
        "to", OpenApiTypes.DATETIME, Q, description="Lines at or before (ISO 8601; UTC without a zone)."
    ),
    _many("level", "Repeat, or separate with commas: level=ERROR,CRITICAL.", enum=list(LEVELS)),
    _many("service", f"Repeat for several; {NONE_VALUE} means lines without a service."),
    _many("ip", f"Repeat for several; {NONE_VALUE} means lines without an IP."),
    _many("error_type", f"Repeat for several; {NONE_VALUE} means lines without an error type."),
    _many(
        "pattern",
        "Pattern ids (`patterns.items[].id` of the analysis, 16 hex digits); repeat, or separate with commas.",
    ),
    _many("file", "File ids of this analysis (`files[].id` of the analysis); repeat for several."),
    _many(
        "status",
        "ok, continuation (a stack trace's lines), unparsed, blank; default all but blank.",
        enum=list(STATUSES),
    ),
    OpenApiParameter(
        "q", str, Q, description="Text in the message, any case; with regex=true a Java regular expression."
    ),
    OpenApiParameter(
        "regex",
        OpenApiTypes.BOOL,
        Q,
        description=f"q is a regular expression (case-insensitive, at most {REGEX_MAX_CHARS} characters; "
        "no repeated group holding a quantifier or `|`, no backreference).",
    ),
    OpenApiParameter("order", str, Q, enum=list(ORDERS), description="newest (default) or oldest first."),
]
PAGE_PARAMETERS = [
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": LIMIT_MIN, "maximum": LIMIT_MAX},
        Q,
        description=f"Lines per page, {LIMIT_MIN}–{LIMIT_MAX} (default {LIMIT_DEFAULT}).",
    ),
    OpenApiParameter("cursor", str, Q, description="The page after the one whose `next` gave this cursor."),
]


def _source(request: Request, analysis_id: int) -> lines.LinesSource:
    analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
    return _answer(lambda: lines.lines_source(analysis=analysis))


def _answer(call: Any) -> Any:
    """`call()`, with the service's errors as the API's."""
    try:
        return call()
    except LinesFilterError as exc:
        raise serializers.ValidationError(exc.errors) from None
    except lines.LinesError as exc:
        raise ApiError(status_code=exc.status, code=exc.code, message=exc.message, details={}) from None


def _gone() -> HttpResponse:
    # The client closed the connection: nobody reads this (nginx logs such requests as 499).
    return HttpResponse(status=499)


def context_url(request: Request, analysis: Analysis, line: lines.ShownLine) -> str | None:
    if line.line is None:
        return None
    path = reverse("api:analysis-lines-context", args=(analysis.pk,))
    return request.build_absolute_uri(f"{path}?{urlencode({'file': line.file.pk, 'line': line.line})}")


class LineSerializer(serializers.Serializer):
    ts = serializers.DateTimeField(allow_null=True, help_text="UTC; null when the line had no time.")
    level = serializers.ChoiceField(choices=LEVELS, allow_null=True)
    service = serializers.CharField(allow_null=True)
    ip = serializers.CharField(allow_null=True)
    error_type = serializers.CharField(allow_null=True, help_text="Error lines only.")
    file = serializers.DictField(help_text="id and name of the file.")
    line = serializers.IntegerField(
        allow_null=True, help_text="1-based line number in its file (a CSV file's header is line 1)."
    )
    message = serializers.CharField(help_text="The message; an unparsed line's raw text.")
    status = serializers.ChoiceField(choices=STATUSES)
    truncated = serializers.BooleanField(help_text="The line was longer than the line cap and was cut.")
    pattern_id = serializers.CharField(
        allow_null=True,
        help_text="The line's pattern (16 hex digits); null before patterns or for a blank line.",
    )
    pattern = serializers.CharField(
        allow_null=True, help_text="The pattern's template, `<*>` where lines vary."
    )


class LinesListApi(APIView):
    """The lines of an analysis, filtered, newest (or oldest) first, a page at a time.

    Follow `next` for the next page: its cursor keeps the pages stable. 409 when the
    analysis has no stored lines (not succeeded, or made before lines were stored:
    re-run it); 504 when the search ran past `lines.query_timeout_seconds` (narrow
    the filters); 503 when Spark is not reachable.
    """

    throttle_classes = [ApiUserThrottle, ApiLinesThrottle]
    error_codes = (400, 404, 409, 503, 504)

    class OutputSerializer(serializers.Serializer):
        class ResultSerializer(LineSerializer):
            context_url = serializers.URLField(
                allow_null=True, help_text=f"The {CONTEXT_LINES} lines around it."
            )

        results = ResultSerializer(many=True)
        next = serializers.URLField(allow_null=True, help_text="The next page; null on the last one.")

    @extend_schema(
        operation_id="analyses_lines_list",
        parameters=[ANALYSIS_ID, *FILTER_PARAMETERS, *PAGE_PARAMETERS],
        responses=OutputSerializer,
    )
    def get(self, request: Request, analysis_id: int) -> Response | HttpResponse:
        source = _source(request, analysis_id)
        query = request.query_params
        try:
            page = _answer(
                lambda: lines.lines_page(
                    source=source,
                    lines_filter=lines.lines_filter_from_query(query, source=source),
                    request=request._request,
                )
            )
        except lines.ClientGone:
            return _gone()
        following = None
        if page.next_cursor:
            params = query.copy()
            params["cursor"] = page.next_cursor
            following = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
        results = [
            {**lines.line_as_dict(x), "context_url": context_url(request, source.analysis, x)}
            for x in page.lines
        ]
        return Response({"results": results, "next": following})


class LinesContextApi(APIView):
    """One line of a file of the analysis and the lines before and after it (up to
    20 each way), in the file's order; `current` marks the line asked for."""

    throttle_classes = [ApiUserThrottle, ApiLinesThrottle]
    error_codes = (400, 404, 409, 503, 504)

    class InputSerializer(serializers.Serializer):
        file = serializers.IntegerField(min_value=1, help_text="A file id of this analysis.")
        line = serializers.IntegerField(min_value=1, max_value=2**53, help_text="Its 1-based line number.")

    class OutputSerializer(serializers.Serializer):
        class ContextLineSerializer(LineSerializer):
            current = serializers.BooleanField(help_text="This is the line asked for.")

        file = serializers.DictField(help_text="id and name.")
        line = serializers.IntegerField()
        lines = ContextLineSerializer(many=True)

    @extend_schema(
        operation_id="analyses_lines_context",
        parameters=[ANALYSIS_ID, InputSerializer],
        responses=OutputSerializer,
    )
    def get(self, request: Request, analysis_id: int) -> Response | HttpResponse:
        source = _source(request, analysis_id)
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        try:
            context = _answer(
                lambda: lines.lines_context(
                    source=source,
                    file_id=params.validated_data["file"],
                    line=params.validated_data["line"],
                    request=request._request,
                )
            )
        except lines.ClientGone:
            return _gone()
        return Response(
            {
                "file": {"id": context.file.pk, "name": context.file.original_name},
                "line": context.line,
                "lines": [
                    {**lines.line_as_dict(x), "current": x.line == context.line} for x in context.lines
                ],
            }
        )


class LinesExportApi(APIView):
    """Every line the filters select (no limit), streamed as CSV (cells a spreadsheet
    would run as formulas start with an apostrophe) or JSON lines, newest (or
    oldest) first. A stream that fails midway is cut, never ended as if complete."""

    throttle_classes = [ApiUserThrottle, ApiLinesThrottle]
    error_codes = (400, 404, 409, 503, 504)

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The export goes out as asked; errors are JSON whatever the client accepts.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="analyses_lines_export",
        parameters=[
            ANALYSIS_ID,
            OpenApiParameter(
                "format", str, Q, enum=list(lines.EXPORT_FORMATS), description="csv (default) or jsonl."
            ),
            *FILTER_PARAMETERS,
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV with a header row."),
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.STR, description="One JSON object per line."
            ),
        },
    )
    def get(self, request: Request, analysis_id: int) -> HttpResponse:
        source = _source(request, analysis_id)
        export_format = request.query_params.get("format", "csv") or "csv"
        if export_format not in lines.EXPORT_FORMATS:
            raise serializers.ValidationError(
                {"format": [f"The format is {' or '.join(lines.EXPORT_FORMATS)}."]}
            )
        try:
            export = _answer(
                lambda: lines.lines_export(
                    source=source,
                    lines_filter=lines.lines_filter_from_query(request.query_params, source=source),
                    request=request._request,
                    export_format=export_format,
                )
            )
        except lines.ClientGone:
            return _gone()
        return lines.export_response(export, analysis=source.analysis, export_format=export_format)
