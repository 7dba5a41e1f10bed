"""Serializer fields that state an entity's rules in the OpenAPI schema without checking them.

An analysis's options and an alert rule's fields are checked by one function each
(analyses.options.analysis_options_clean, analyses.alerting.alert_rule_fields_clean),
which the pages' forms call too; the serializer's `validate` calls it. These fields
keep their choices and bounds because drf-spectacular writes the schema from them:
a client (and the schemathesis test) reads the limits the shared check enforces.
A multipart value is text, as from a form, and goes to the check as it came; a JSON
value's type is still checked here (a JSON number, not a string that looks like one).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from logplatform.api.fields import JsonCharField, JsonFloatField, JsonIntegerField


class DocumentedRules:
    """Skips the field's own validators (bounds, lengths): the shared check applies them."""

    def run_validators(self, value: Any) -> None:
        return None


class PassedOn:
    """Passes the value on as given, for the shared check to read like a form's."""

    def to_internal_value(self, data: Any) -> Any:
        return data


class DocumentedChoiceField(PassedOn, DocumentedRules, serializers.ChoiceField):
    pass


class DocumentedIntegerField(PassedOn, DocumentedRules, serializers.IntegerField):
    pass


class DocumentedJsonIntegerField(DocumentedRules, JsonIntegerField):
    pass


class DocumentedJsonFloatField(DocumentedRules, JsonFloatField):
    pass


class DocumentedJsonCharField(DocumentedRules, JsonCharField):
    pass
