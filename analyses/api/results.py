"""An analysis's result document, and its numbers under the analysis page's filters."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analyses import selectors
from analyses.api.analyses import ANALYSIS_ID
from analyses.api.filters import ResultFilterSerializer, filtered_numbers


class AnalysisResultsApi(APIView):
    """The result document: `analysis`, `summary`, `files`, `tables`, `alerts`.

    Without filters it is exactly the document of `manage.py analyze --json`.
    With any of `start`, `end`, `levels`, `services` it also has `filtered`: the
    analysis page's numbers under those filters, answered from the hourly rollups
    (`filters`, `problems`, `metrics`, `levels`, `over_time`, `over_time_unit`,
    `errors_by_type`, `errors_per_ip`, `errors_per_service`, `errors_by_severity`,
    `other`). `summary` and `tables` always describe the whole analysis.
    `summary`, `tables` and `filtered` are null until the analysis succeeded.
    """

    error_codes = (400, 404)

    class OutputSerializer(serializers.Serializer):
        analysis = serializers.DictField()
        summary = serializers.DictField(allow_null=True)
        files = serializers.ListField(child=serializers.DictField())
        tables = serializers.DictField(allow_null=True)
        alerts = serializers.ListField(child=serializers.DictField())
        filtered = serializers.DictField(
            required=False, allow_null=True, help_text="Only when a filter parameter is given."
        )

    @extend_schema(
        operation_id="analyses_results",
        parameters=[ANALYSIS_ID, ResultFilterSerializer],
        responses=OutputSerializer,
    )
    def get(self, request: Request, analysis_id: int) -> Response:
        analysis = selectors.analysis_get_for_user(user=request.user, analysis_id=analysis_id)
        filters = ResultFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        document = selectors.result_document(analysis=analysis)
        if filters.validated_data:
            document["filtered"] = filtered_numbers(
                analysis=analysis, document=document, query=_filter_query(filters.validated_data)
            )
        return Response(document)


def _filter_query(values: dict[str, Any]) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in values.items():
        if isinstance(value, list):
            query.setlist(key, value)
        else:
            query[key] = value
    return query
