"""Alerts (list, acknowledge) and alert rules (list, get, create, update, delete)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import CAN_ADMIN
from accounts.permissions import membership_for, require_admin_role, require_upload_role, team_membership
from accounts.selectors import memberships_for_user
from analyses import alerting, selectors
from analyses.alerting import COUNT_MAX, EMAIL_MAX_LENGTH, THRESHOLD_MAX, WEBHOOK_URL_MAX_LENGTH
from analyses.api import selectors as api_selectors
from analyses.api.documented import (
    DocumentedChoiceField,
    DocumentedJsonCharField,
    DocumentedJsonFloatField,
    DocumentedJsonIntegerField,
)
from analyses.models import AlertKind, AlertRule, Severity
from logplatform.api.fields import JsonBooleanField, QueryIntegerField, TeamField
from logplatform.api.pagination import PageQuerySerializer, paginated, paginated_response

ALERT_ID = OpenApiParameter("alert_id", OpenApiTypes.INT, OpenApiParameter.PATH)
RULE_ID = OpenApiParameter("rule_id", OpenApiTypes.INT, OpenApiParameter.PATH)
MAX_ID = 2**63 - 1


class AlertSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    team = serializers.CharField(source="team.slug")
    analysis_id = serializers.IntegerField()
    analysis_name = serializers.CharField(source="analysis.name")
    rule_id = serializers.IntegerField(allow_null=True)
    kind = serializers.ChoiceField(choices=AlertKind.choices)
    severity = serializers.ChoiceField(choices=Severity.choices)
    value = serializers.FloatField()
    threshold = serializers.FloatField()
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    notified = serializers.BooleanField(help_text="False when the rule was cooling down.")
    acknowledged = serializers.BooleanField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = serializers.CharField(source="acknowledged_by.username", allow_null=True)


class AlertListApi(APIView):
    """Alerts of your teams, newest first."""

    error_codes = (400, 404)

    class FilterSerializer(PageQuerySerializer):
        team = serializers.CharField(
            required=False, allow_blank=True, max_length=100, help_text="Team slug or id; default all."
        )
        status = serializers.ChoiceField(
            choices=["open", "acknowledged", "all"],
            required=False,
            allow_blank=True,
            default="all",
            help_text="Default all.",
        )
        analysis = QueryIntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="Analysis id.")
        severity = serializers.ChoiceField(choices=Severity.choices, required=False, allow_blank=True)

    @extend_schema(
        operation_id="alerts_list",
        parameters=[FilterSerializer],
        responses=paginated(AlertSerializer, "AlertPage"),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        team = team_membership(user=request.user, team=data["team"]).team if data.get("team") else None
        analysis = (
            selectors.analysis_get_for_user(user=request.user, analysis_id=data["analysis"])
            if data.get("analysis")
            else None
        )
        alerts = api_selectors.alerts_list(
            user=request.user,
            team=team,
            state=data["status"],
            analysis=analysis,
            severity=data.get("severity", ""),
        )
        return paginated_response(
            queryset=alerts, serializer_class=AlertSerializer, request=request, view=self
        )


class AlertAcknowledgeApi(APIView):
    """Acknowledge an alert (idempotent: a second call changes nothing)."""

    error_codes = (403, 404)

    @extend_schema(
        operation_id="alerts_acknowledge", parameters=[ALERT_ID], request=None, responses=AlertSerializer
    )
    def post(self, request: Request, alert_id: int) -> Response:
        alert = selectors.alert_get_for_user(user=request.user, alert_id=alert_id)
        require_upload_role(membership_for(user=request.user, team_id=alert.team_id), "acknowledge alerts")
        alert = alerting.alert_acknowledge(alert=alert, user=request.user)
        return Response(AlertSerializer(alert).data)


# --------------------------------------------------------------------------- rules


def _admin_team_ids(context: dict[str, Any]) -> set[int]:
    """The teams whose channel settings the requesting user may see (owners and
    admins); looked up once per response. No request in the context: none."""
    if "admin_team_ids" not in context:
        request = context.get("request")
        context["admin_team_ids"] = (
            {m.team_id for m in memberships_for_user(user=request.user).filter(role__in=CAN_ADMIN)}
            if request is not None
            else set()
        )
    return context["admin_team_ids"]


class AlertRuleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    team = serializers.CharField(source="team.slug")
    kind = serializers.ChoiceField(choices=AlertKind.choices)
    threshold = serializers.FloatField(
        help_text="A fraction (0.1 = 10 %) for error_rate, a count for the others."
    )
    min_rows = serializers.IntegerField()
    severity = serializers.ChoiceField(choices=Severity.choices)
    enabled = serializers.BooleanField()
    cooldown_minutes = serializers.IntegerField()
    # Where a team's alerts go can carry secrets (a webhook URL's token) and names
    # people: only the team's owners and admins are shown them.
    emails = serializers.ListField(
        child=serializers.CharField(),
        source="email_list",
        required=False,
        help_text="Only in answers to the team's owners and admins.",
    )
    webhook_url = serializers.CharField(
        allow_blank=True, required=False, help_text="Only in answers to the team's owners and admins."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, instance: AlertRule) -> dict[str, Any]:
        data = super().to_representation(instance)
        if instance.team_id not in _admin_team_ids(self.context):
            data.pop("emails", None)
            data.pop("webhook_url", None)
        return data


class AlertRuleInputSerializer(serializers.Serializer):
    """The rules of the rule form (analyses.forms.AlertRuleForm), for JSON."""

    # The fields parse JSON types (and state the limits in the schema); `validate`
    # applies the rules the rule form shares (analyses.alerting.alert_rule_fields_clean).

    kind = DocumentedChoiceField(choices=AlertKind.choices)
    threshold = DocumentedJsonFloatField(min_value=0, max_value=THRESHOLD_MAX)
    min_rows = DocumentedJsonIntegerField(required=False, min_value=0, max_value=COUNT_MAX)
    severity = DocumentedChoiceField(choices=Severity.choices, required=False)
    enabled = JsonBooleanField(required=False)
    cooldown_minutes = DocumentedJsonIntegerField(required=False, min_value=0, max_value=COUNT_MAX)
    emails = serializers.ListField(
        child=DocumentedJsonCharField(max_length=EMAIL_MAX_LENGTH),
        required=False,
        help_text="E-mail addresses (at most alerts.max_recipients_per_rule, 20 by default).",
    )
    webhook_url = DocumentedJsonCharField(
        required=False,
        allow_blank=True,
        max_length=WEBHOOK_URL_MAX_LENGTH,
        help_text="http(s) URL of a receiver on a public address (or an allow-listed network).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # On an update, the threshold is checked against the stored kind and vice versa.
        try:
            values = alerting.alert_rule_fields_clean(fields=attrs, rule=self.context.get("rule"))
        except ValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return {**attrs, **values}


class AlertRuleListApi(APIView):
    """The alert rules of your teams."""

    error_codes = (400, 404)

    class FilterSerializer(PageQuerySerializer):
        team = serializers.CharField(
            required=False, allow_blank=True, max_length=100, help_text="Team slug or id; default all."
        )

    @extend_schema(
        operation_id="alert_rules_list",
        parameters=[FilterSerializer],
        responses=paginated(AlertRuleSerializer, "AlertRulePage"),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        team = filters.validated_data.get("team")
        rules = api_selectors.alert_rules_list(
            user=request.user, team=team_membership(user=request.user, team=team).team if team else None
        )
        return paginated_response(
            queryset=rules, serializer_class=AlertRuleSerializer, request=request, view=self
        )


class AlertRuleCreateApi(APIView):
    """Add an alert rule to a team (team owners and admins)."""

    error_codes = (400, 403, 404)

    class InputSerializer(AlertRuleInputSerializer):
        team = TeamField(required=False, help_text="Team slug or id; required if you are in several teams.")

    @extend_schema(
        operation_id="alert_rules_create", request=InputSerializer, responses={201: AlertRuleSerializer}
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        membership = team_membership(user=request.user, team=fields.pop("team", None))
        require_admin_role(membership, "add alert rules")
        rule = alerting.alert_rule_create(team=membership.team, fields=fields)
        return Response(
            AlertRuleSerializer(rule, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class AlertRuleDetailApi(APIView):
    error_codes = (404,)

    @extend_schema(operation_id="alert_rules_retrieve", parameters=[RULE_ID], responses=AlertRuleSerializer)
    def get(self, request: Request, rule_id: int) -> Response:
        rule = selectors.alert_rule_get_for_user(user=request.user, rule_id=rule_id)
        return Response(AlertRuleSerializer(rule, context={"request": request}).data)


class AlertRuleUpdateApi(APIView):
    """Change some fields of an alert rule (team owners and admins)."""

    error_codes = (400, 403, 404)

    @extend_schema(
        operation_id="alert_rules_partial_update",
        parameters=[RULE_ID],
        request=AlertRuleInputSerializer(partial=True),
        responses=AlertRuleSerializer,
    )
    def patch(self, request: Request, rule_id: int) -> Response:
        rule = selectors.alert_rule_get_for_user(user=request.user, rule_id=rule_id)
        require_admin_role(membership_for(user=request.user, team_id=rule.team_id), "change alert rules")
        serializer = AlertRuleInputSerializer(data=request.data, partial=True, context={"rule": rule})
        serializer.is_valid(raise_exception=True)
        rule = alerting.alert_rule_update(rule=rule, fields=serializer.validated_data)
        return Response(AlertRuleSerializer(rule, context={"request": request}).data)


class AlertRuleDeleteApi(APIView):
    """Delete an alert rule (team owners and admins); its past alerts are kept."""

    error_codes = (403, 404)

    @extend_schema(operation_id="alert_rules_destroy", parameters=[RULE_ID], responses={204: None})
    def delete(self, request: Request, rule_id: int) -> Response:
        rule = selectors.alert_rule_get_for_user(user=request.user, rule_id=rule_id)
        require_admin_role(membership_for(user=request.user, team_id=rule.team_id), "delete alert rules")
        alerting.alert_rule_delete(rule=rule)
        return Response(status=status.HTTP_204_NO_CONTENT)
