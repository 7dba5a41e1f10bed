"""Serializer fields that take JSON types at their word.

DRF coerces (`"12"` for an integer, `0` for a boolean, `5` for a string); a script
that sends the wrong type should hear so, and the schema should mean what it says.
Query strings and multipart forms carry only text, so their serializers keep DRF's
own fields.
"""

from __future__ import annotations

import math
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty


class JsonCharField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class JsonIntegerField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class JsonFloatField(serializers.FloatField):
    """A number: not a string, not a boolean, not NaN or infinity (JSON cannot carry those back out)."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return value


class JsonBooleanField(serializers.BooleanField):
    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


@extend_schema_field({"oneOf": [{"type": "string", "maxLength": 100}, {"type": "integer"}]})
class TeamField(serializers.Field):
    """A team by slug or id (a string of digits is tried as a slug first, then as an id)."""

    default_error_messages = {"invalid": "A team is a slug or an id."}

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, bool) or not isinstance(data, str | int) or not 0 < len(str(data)) <= 100:
            self.fail("invalid")
        if "\x00" in str(data):
            self.fail("invalid")
        return str(data)

    def to_representation(self, value: Any) -> str:
        return str(value)


class QueryValueMixin:
    """A query parameter that is present counts, even blank: `?page=` is an error, not "no page"
    (DRF's form handling would drop it silently)."""

    def get_value(self, dictionary: Any) -> Any:
        if hasattr(dictionary, "getlist"):
            return dictionary.get(self.field_name, empty)
        return super().get_value(dictionary)  # type: ignore[misc]


class QueryIntegerField(QueryValueMixin, serializers.IntegerField):
    pass


class QueryDateField(QueryValueMixin, serializers.DateField):
    pass
