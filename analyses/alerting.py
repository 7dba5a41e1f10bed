"""Alert rules, their evaluation after each analysis, and notification delivery.

Noise control: every firing is recorded as an Alert, but a rule that already
notified within its cooldown does not notify again (Graylog's "grace period").
Notifications are queued tasks; a failing channel never fails an analysis.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.models import Team
from analyses.models import Alert, AlertKind, AlertRule, Analysis, Delivery, DeliveryAttempt

logger = logging.getLogger(__name__)

DELIVERY_TASK = "analyses.tasks.deliver_notification"


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


def _measure(rule: AlertRule, document: dict[str, Any]) -> Measure | None:
    """The analysis's value for a rule, or None when the rule does not apply."""
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
    # "Critical errors at least N"; every other kind is "above N".
    if rule.kind == AlertKind.CRITICAL_COUNT:
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
    else:
        text = f"{measure.value:g} errors in the hour {measure.detail} (above {rule.threshold:g})"
    return f"{text} in analysis #{analysis.pk} {analysis.name}"[:500]


def _cooling_down(rule: AlertRule, now) -> bool:  # noqa: ANN001
    since = now - timedelta(minutes=rule.cooldown_minutes)
    return rule.alerts.filter(notified=True, created_at__gte=since).exists()


def alerts_evaluate(*, analysis: Analysis, document: dict[str, Any]) -> list[Alert]:
    """Evaluate the team's enabled rules on a finished analysis; record and notify."""
    fired: list[Alert] = []
    now = timezone.now()
    with transaction.atomic():
        # Lock the rules so two analyses finishing together respect one cooldown.
        rules = list(
            AlertRule.objects.select_for_update()
            .filter(team_id=analysis.team_id, enabled=True)
            .order_by("pk")
        )
        for rule in rules:
            measure = _measure(rule, document)
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
                _queue_deliveries(alert, rule)
    for alert in fired:
        _log_alert(alert, analysis)
    return fired


def _queue_deliveries(alert: Alert, rule: AlertRule) -> None:
    deliveries = [Delivery(alert=alert, channel=Delivery.Channel.EMAIL, target=a) for a in rule.email_list]
    if rule.webhook_url:
        deliveries.append(Delivery(alert=alert, channel=Delivery.Channel.WEBHOOK, target=rule.webhook_url))
    for delivery in Delivery.objects.bulk_create(deliveries):
        delivery_id = delivery.pk

        def send(delivery_id: int = delivery_id) -> None:
            from django_q.tasks import async_task

            async_task(DELIVERY_TASK, delivery_id, group="notifications")

        transaction.on_commit(send)


def alert_log_line(alert: Alert, analysis: Analysis) -> str:
    return (
        f"{alert.created_at.strftime('%Y-%m-%dT%H:%M:%SZ')} team={analysis.team.slug} "
        f"analysis={analysis.pk} rule={alert.rule_id} kind={alert.kind} value={alert.value:g} "
        f"threshold={alert.threshold:g} severity={alert.severity} notified={str(alert.notified).lower()} "
        f"message={json.dumps(alert.message)}"
    )


def alerts_log_path() -> Path:
    return Path(settings.REPORTS_DIR) / _alerts_config()["log_file"]


def alerts_append_log(lines: list[str], path: Path) -> None:
    if not lines:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line + "\n")


def _log_alert(alert: Alert, analysis: Analysis) -> None:
    line = alert_log_line(alert, analysis)
    logger.warning("ALERT %s", line)
    try:
        alerts_append_log([line], alerts_log_path())
    except OSError as exc:
        logger.error("could not append to %s: %s", alerts_log_path(), exc)


def alert_acknowledge(*, alert: Alert, user: AbstractBaseUser) -> Alert:
    if alert.acknowledged_at is None:
        alert.acknowledged_by = user
        alert.acknowledged_at = timezone.now()
        alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
    return alert


# --------------------------------------------------------------------------- delivery


def _payload(alert: Alert) -> dict[str, Any]:
    analysis = alert.analysis
    return {
        "alert": {
            "id": alert.pk,
            "kind": alert.kind,
            "severity": alert.severity,
            "value": alert.value,
            "threshold": alert.threshold,
            "message": alert.message,
            "created_at": alert.created_at.isoformat(),
        },
        "analysis": {"id": analysis.pk, "name": analysis.name},
        "team": {"slug": alert.team.slug, "name": alert.team.name},
    }


def _send_email(delivery: Delivery) -> tuple[bool, int | None, str]:
    alert = delivery.alert
    subject = f"[logplatform] {alert.get_severity_display()}: {alert.get_kind_display()} in {alert.team.name}"
    try:
        send_mail(subject, alert.message, settings.DEFAULT_FROM_EMAIL, [delivery.target], fail_silently=False)
    except Exception as exc:  # SMTP errors are many; all end in a recorded failure
        return False, None, f"{type(exc).__name__}: {exc}"[:1000]
    return True, None, ""


def _post_webhook(delivery: Delivery, timeout: float) -> tuple[bool, int | None, str]:
    body = json.dumps(_payload(delivery.alert)).encode()
    request = urllib.request.Request(  # noqa: S310 - http(s) URLs only, validated by the URLField
        delivery.target,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "logplatform-alerts"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return 200 <= response.status < 300, response.status, ""
    except urllib.error.HTTPError as exc:
        return False, exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return False, None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"[:1000]


def delivery_run(*, delivery_id: int, sleep=time.sleep) -> Delivery:  # noqa: ANN001
    """Send one notification, retrying webhooks with exponential back-off."""
    config = _alerts_config()
    delivery = Delivery.objects.select_related("alert__team", "alert__analysis").get(pk=delivery_id)
    if delivery.state == Delivery.State.SENT:
        return delivery
    max_attempts = config["webhook_max_attempts"] if delivery.channel == Delivery.Channel.WEBHOOK else 1
    while delivery.attempts < max_attempts:
        number = delivery.attempts + 1
        started = time.monotonic()
        if delivery.channel == Delivery.Channel.WEBHOOK:
            ok, code, error = _post_webhook(delivery, config["webhook_timeout_seconds"])
        else:
            ok, code, error = _send_email(delivery)
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=number,
            ok=ok,
            status_code=code,
            error=error,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        delivery.attempts = number
        delivery.last_error = error
        delivery.state = Delivery.State.SENT if ok else Delivery.State.PENDING
        if ok:
            delivery.save(update_fields=["attempts", "last_error", "state", "updated_at"])
            return delivery
        if number >= max_attempts:
            break
        delivery.save(update_fields=["attempts", "last_error", "state", "updated_at"])
        sleep(config["webhook_backoff_seconds"] * 2 ** (number - 1))
    delivery.state = Delivery.State.FAILED
    delivery.save(update_fields=["attempts", "last_error", "state", "updated_at"])
    logger.error(
        "notification %s to %s failed after %d attempt(s): %s",
        delivery.pk,
        delivery.target,
        delivery.attempts,
        delivery.last_error,
    )
    return delivery
