"""Alert rules (the one write path of pages and API), their evaluation after each
analysis, acknowledgement (the alert log: analyses.alert_log).

Noise control: every firing is recorded as an Alert, but a rule that already
notified within its cooldown does not notify again (Graylog's "grace period").
Notifications are queued for the notifications cluster (analyses.notifications);
a failing channel never fails or delays an analysis.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils import timezone

from accounts.models import Team
from analyses import notifications, webhooks
from analyses.alert_log import log_alert
from analyses.models import Alert, AlertKind, AlertRule, Analysis, Severity
from analyses.patterns_selectors import new_error_patterns

logger = logging.getLogger(__name__)

RULE_FIELDS = (
    "kind",
    "threshold",
    "min_rows",
    "severity",
    "enabled",
    "cooldown_minutes",
    "emails",
    "webhook_url",
)
THRESHOLD_MAX = 1e15
# min_rows and cooldown_minutes are integer columns (PostgreSQL's 32-bit range).
COUNT_MAX = 2**31 - 1
EMAIL_MAX_LENGTH = 254
WEBHOOK_URL_MAX_LENGTH = 500


def _alerts_config() -> dict[str, Any]:
    return settings.LOGPLATFORM["alerts"]


def alert_rules_create_defaults(*, team: Team) -> list[AlertRule]:
    """Every new team starts with the default rules of config.yaml."""
    config = _alerts_config()
    rules = [
        AlertRule(
            team=team,
            kind=default["kind"],
            threshold=default["threshold"],
            min_rows=default.get("min_rows", 100),
            severity=default["severity"],
            cooldown_minutes=config["cooldown_minutes"],
        )
        for default in config["defaults"]
    ]
    return AlertRule.objects.bulk_create(rules)


@dataclass(frozen=True)
class Measure:
    value: float
    detail: str = ""


class NewPatterns:
    """The "new error pattern" measure of one analysis, looked up once for all its rules:
    patterns with error lines that are absent from the previous succeeded analysis of
    the same name (analyses.patterns_selectors). None (the rule does not apply) for a
    first analysis of its name, or when either analysis has no patterns."""

    TEMPLATES_NAMED = 3

    def __init__(self, *, analysis: Analysis, document: dict[str, Any]) -> None:
        self.analysis = analysis
        self.document = document
        self._measure: Measure | None = None
        self._done = False

    def measure(self) -> Measure | None:
        if not self._done:
            self._done = True
            found = new_error_patterns(analysis=self.analysis, document=self.document)
            if found is not None:
                templates, previous = found
                named = " | ".join(t[:120] for t in templates[: self.TEMPLATES_NAMED])
                more = len(templates) - self.TEMPLATES_NAMED
                detail = f"against #{previous.pk}: {named}" + (f" and {more} more" if more > 0 else "")
                self._measure = Measure(len(templates), detail)
        return self._measure


def _measure(rule: AlertRule, document: dict[str, Any], patterns: NewPatterns) -> Measure | None:
    """The analysis's value for a rule, or None when the rule does not apply."""
    if rule.kind == AlertKind.NEW_ERROR_PATTERN:
        return patterns.measure()
    summary = document["summary"]
    tables = document["tables"]
    if rule.kind == AlertKind.ERROR_RATE:
        if summary["total_logs"] < rule.min_rows:
            return None
        return Measure(summary["error_rate"])
    if rule.kind == AlertKind.ERROR_COUNT:
        return Measure(summary["error_count"])
    if rule.kind == AlertKind.CRITICAL_COUNT:
        return Measure(summary["critical_count"])
    if rule.kind == AlertKind.ERROR_TYPE_REPEATED:
        top = tables["errors_by_type"][:1]
        return Measure(top[0]["count"], top[0]["error_type"]) if top else Measure(0)
    if rule.kind == AlertKind.ERRORS_PER_HOUR:
        worst = max(tables["errors_by_hour"], key=lambda r: (r["count"], r["hour"]), default=None)
        return Measure(worst["count"], worst["hour"]) if worst else Measure(0)
    raise ValueError(f"unknown alert kind {rule.kind}")


def _fires(rule: AlertRule, value: float) -> bool:
    # "Critical errors at least N", "new error patterns at least N"; the others are "above N".
    if rule.kind in (AlertKind.CRITICAL_COUNT, AlertKind.NEW_ERROR_PATTERN):
        return value >= rule.threshold
    return value > rule.threshold


def _message(rule: AlertRule, measure: Measure, analysis: Analysis) -> str:
    if rule.kind == AlertKind.ERROR_RATE:
        text = f"Error rate {measure.value * 100:.2f} % is above {rule.threshold * 100:g} %"
    elif rule.kind == AlertKind.ERROR_COUNT:
        text = f"{measure.value:g} errors, above {rule.threshold:g}"
    elif rule.kind == AlertKind.CRITICAL_COUNT:
        text = f"{measure.value:g} critical errors (threshold {rule.threshold:g})"
    elif rule.kind == AlertKind.ERROR_TYPE_REPEATED:
        text = (
            f"Error type repeated {measure.value:g} times (above {rule.threshold:g}): {measure.detail[:200]}"
        )
    elif rule.kind == AlertKind.NEW_ERROR_PATTERN:
        # The templates last: the message is cut at 500 characters.
        plural = "" if measure.value == 1 else "s"
        return (
            f"{measure.value:g} new error pattern{plural} (threshold {rule.threshold:g}) in analysis "
            f"#{analysis.pk} {analysis.name[:100]}, {measure.detail}"
        )[:500]
    else:
        text = f"{measure.value:g} errors in the hour {measure.detail} (above {rule.threshold:g})"
    return f"{text} in analysis #{analysis.pk} {analysis.name}"[:500]


def _cooling_down(rule: AlertRule, now: datetime) -> bool:
    since = now - timedelta(minutes=rule.cooldown_minutes)
    return rule.alerts.filter(notified=True, created_at__gte=since).exists()


def alerts_evaluate(*, analysis: Analysis, document: dict[str, Any]) -> list[Alert]:
    """Evaluate the team's enabled rules on a finished analysis; record and notify."""
    fired: list[Alert] = []
    now = timezone.now()
    patterns = NewPatterns(analysis=analysis, document=document)
    with transaction.atomic():
        # Lock the rules so two analyses finishing together respect one cooldown.
        rules = list(
            AlertRule.objects.select_for_update()
            .filter(team_id=analysis.team_id, enabled=True)
            .order_by("pk")
        )
        for rule in rules:
            measure = _measure(rule, document, patterns)
            if measure is None or not _fires(rule, measure.value):
                continue
            notify = not _cooling_down(rule, now)
            alert = Alert.objects.create(
                team_id=analysis.team_id,
                rule=rule,
                analysis=analysis,
                kind=rule.kind,
                value=measure.value,
                threshold=rule.threshold,
                severity=rule.severity,
                message=_message(rule, measure, analysis),
                notified=notify,
            )
            fired.append(alert)
            if notify:
                notifications.deliveries_queue(alert=alert, rule=rule)
    for alert in fired:
        log_alert(alert, analysis)
    return fired


def alert_acknowledge(*, alert: Alert, user: AbstractBaseUser) -> Alert:
    if alert.acknowledged_at is None:
        alert.acknowledged_by = user
        alert.acknowledged_at = timezone.now()
        alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
    return alert


# --------------------------------------------------------------------------- rule writes


def alert_rule_webhook_validate(*, url: str) -> str:
    """The one check of a webhook URL at save time (form and API): http(s), and not an
    address the delivery would refuse when that shows without a DNS lookup."""
    url = (url or "").strip()
    if not url:
        return ""
    if len(url) > WEBHOOK_URL_MAX_LENGTH:
        raise ValidationError(
            f"Ensure this field has no more than {WEBHOOK_URL_MAX_LENGTH} characters (it has {len(url)}); "
            "give the receiver's address without long query strings."
        )
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError(
            f"{url!r} is not an http(s) URL; give the receiver's address, e.g. https://hooks.example.com/alerts."
        ) from None
    allow = webhooks.networks_parse(_alerts_config()["webhook_allow_networks"])
    problem = webhooks.url_problem(url, allow)
    if problem:
        raise ValidationError(
            f"This webhook address is not allowed: {problem}. Use a public http(s) receiver; "
            "an on-premise receiver must be allow-listed by the operator (alerts.webhook_allow_networks)."
        )
    return url


def alert_rule_fields_clean(*, fields: Mapping[str, Any], rule: AlertRule | None = None) -> dict[str, Any]:
    """The one check of an alert rule's fields: the rule form's clean, the API's
    serializer and the writes below all call it.

    `fields` holds values as the form or the serializer parsed them (numbers as
    numbers; `emails` as a list, or as text with one address per line or
    comma-separated). Absent fields are not checked (a partial update; a form field
    that did not parse). The threshold is checked against the kind, the stored one
    when an update changes only one of them. Returns the rule's values ready to
    store; raises ValidationError naming each bad field.
    """
    values = {k: v for k, v in fields.items() if k in RULE_FIELDS}
    errors: dict[str, list[str]] = {}
    for field, choices in (("kind", AlertKind.values), ("severity", Severity.values)):
        if field in values and values[field] not in choices:
            errors[field] = [f'"{values[field]}" is not a valid choice; choose one of {", ".join(choices)}.']
    for field in ("min_rows", "cooldown_minutes"):
        if field in values:
            problem = _count_problem(values[field])
            if problem:
                errors[field] = [problem]
    if "enabled" in values and not isinstance(values["enabled"], bool):
        errors["enabled"] = ["Must be a valid boolean: true or false."]
    problem = _threshold_problem(
        kind=values.get("kind", rule.kind if rule else None),
        threshold=values.get("threshold", rule.threshold if rule else None),
    )
    if problem:
        errors["threshold"] = [problem]
    if "emails" in values:
        try:
            values["emails"] = _emails_clean(values["emails"])
        except ValidationError as exc:
            errors["emails"] = exc.messages
    if "webhook_url" in values:
        try:
            values["webhook_url"] = alert_rule_webhook_validate(url=values["webhook_url"])
        except ValidationError as exc:
            errors["webhook_url"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return values


def _count_problem(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "A valid integer is required, such as 100."
    if value < 0:
        return "Ensure this value is greater than or equal to 0."
    if value > COUNT_MAX:
        return f"Ensure this value is less than or equal to {COUNT_MAX}."
    return None


def _threshold_problem(*, kind: str | None, threshold: Any) -> str | None:
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not math.isfinite(threshold):
        return "A valid number is required: a fraction such as 0.1 for an error rate, a count for the others."
    if kind == AlertKind.ERROR_RATE and not 0 <= threshold <= 1:
        return "An error-rate threshold is a fraction between 0 and 1 (0.1 = 10 %)."
    if kind == AlertKind.NEW_ERROR_PATTERN and threshold < 1:
        return "A new-error-pattern threshold is a count of at least 1 (1: any new error pattern)."
    if threshold < 0:
        return "A threshold cannot be negative: ensure this value is greater than or equal to 0."
    if threshold > THRESHOLD_MAX:
        return f"Ensure this value is less than or equal to {THRESHOLD_MAX:g}."
    return None


def _emails_clean(emails: str | list[str] | None) -> str:
    """The addresses, one per line; `emails` is a list of addresses or text (one per line
    or comma-separated)."""
    if isinstance(emails, list | tuple):
        addresses = [str(a).strip() for a in emails if a and str(a).strip()]
    else:
        addresses = [a.strip() for a in (emails or "").replace(",", "\n").splitlines() if a.strip()]
    cap = _alerts_config()["max_recipients_per_rule"]
    if len(addresses) > cap:
        raise ValidationError(
            f"A rule can have at most {cap} e-mail recipients (got {len(addresses)}); "
            "send to a mailing list instead."
        )
    bad = []
    for address in addresses:
        if len(address) > EMAIL_MAX_LENGTH:
            bad.append(
                f"{address[:40]!r}… is not an e-mail address (longer than {EMAIL_MAX_LENGTH} characters)."
            )
            continue
        try:
            validate_email(address)
        except ValidationError:
            bad.append(f"{address!r} is not an e-mail address.")
    if bad:
        raise ValidationError(bad)
    return "\n".join(addresses)


def alert_rule_create(*, team: Team, fields: Mapping[str, Any]) -> AlertRule:
    values = alert_rule_fields_clean(fields=fields)
    missing = [f for f in ("kind", "threshold") if values.get(f) is None]
    if missing:
        raise ValidationError({f: "This field is required." for f in missing})
    cap = _alerts_config()["max_rules_per_team"]
    with transaction.atomic():
        # The team row's lock makes the count and the insert one step for
        # concurrent requests, so the cap holds.
        Team.objects.select_for_update().filter(pk=team.pk).first()
        if AlertRule.objects.filter(team=team).count() >= cap:
            raise ValidationError(
                f"A team can have at most {cap} alert rules; delete or change one of the existing rules."
            )
        rule = AlertRule.objects.create(team=team, **values)
    logger.info("alert rule %s created for team %s", rule.pk, team.slug)
    return rule


@transaction.atomic
def alert_rule_update(*, rule: AlertRule, fields: Mapping[str, Any]) -> AlertRule:
    values = alert_rule_fields_clean(fields=fields, rule=rule)
    for key, value in values.items():
        setattr(rule, key, value)
    if values:
        rule.save(update_fields=[*values, "updated_at"])
    return rule


def alert_rule_delete(*, rule: AlertRule) -> None:
    """Past alerts of the rule are kept (their rule becomes null)."""
    rule_id = rule.pk
    rule.delete()
    logger.info("alert rule %s deleted", rule_id)
