"""The analysis page's filters (`start`, `end`, `levels`, `services`) for the results endpoint.

Values are validated here (a bad one is a 400 naming it, where the page ignores it
with a notice); the numbers come from `dashboard.filters_from_query` and
`dashboard.dashboard_data`, the very functions behind the page, so both agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analyses import dashboard
from analyses.models import Analysis
from spark_client.rows import LEVELS

MOMENT_HELP = (
    "ISO 8601 date or date and time, e.g. 2024-03-01T14:00 or 2024-03-01T14:00:00Z; "
    "without a zone it is UTC. Hour resolution."
)


@extend_schema_field(OpenApiTypes.DATETIME)
class MomentField(serializers.CharField):
    """A moment as the page's filter reads it, normalised so the page's parser cannot fail on it."""

    default_error_messages = {"invalid": "{value!r} is not a date and time like 2024-03-01T14:00."}

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data).strip()
        if not value:
            return ""
        try:
            parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError:
            self.fail("invalid", value=value[:40])
        if parsed.tzinfo is not None:
            try:
                parsed = parsed.astimezone(UTC)
            except OverflowError:
                # Within a day of year 1 or 9999 with an offset: the limit itself.
                parsed = (datetime.min if parsed.year < 5000 else datetime.max).replace(tzinfo=UTC)
        return parsed.isoformat()


class ResultFilterSerializer(serializers.Serializer):
    start = MomentField(required=False, allow_blank=True, max_length=64, help_text=f"From. {MOMENT_HELP}")
    end = MomentField(required=False, allow_blank=True, max_length=64, help_text=f"To. {MOMENT_HELP}")
    levels = serializers.ListField(
        child=serializers.ChoiceField(choices=LEVELS),
        required=False,
        help_text="Repeat for several: levels=ERROR&levels=CRITICAL.",
    )
    services = serializers.ListField(
        child=serializers.CharField(allow_blank=True, max_length=200),
        required=False,
        max_length=200,
        help_text=f"Repeat for several; {dashboard.NO_SERVICE} means rows without a service.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Blank values are "no filter", as on the page.
        cleaned = {k: [x for x in v if x] if isinstance(v, list) else v for k, v in attrs.items()}
        return {k: v for k, v in cleaned.items() if v}


def filtered_numbers(
    *, analysis: Analysis, document: dict[str, Any], query: QueryDict
) -> dict[str, Any] | None:
    """The page's numbers under the filters in `query`; None before there are results."""
    if document.get("summary") is None:
        return None
    filters = dashboard.filters_from_query(query)
    return {
        "filters": {
            "start": filters.start.isoformat() if filters.start else None,
            "end": filters.end.isoformat() if filters.end else None,
            "levels": filters.levels,
            "services": filters.services,
        },
        "problems": filters.problems,
        **dashboard.dashboard_data(analysis=analysis, filters=filters),
    }
