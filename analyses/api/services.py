"""Writes the API needs that have no service of their own yet: alert rules
(the pages save them through a ModelForm)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from accounts.models import Team
from analyses.models import AlertRule

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


def _emails_text(emails: list[str]) -> str:
    return "\n".join(e.strip() for e in emails if e.strip())


def alert_rule_create(*, team: Team, fields: dict[str, Any]) -> AlertRule:
    values = {k: v for k, v in fields.items() if k in RULE_FIELDS}
    if "emails" in values:
        values["emails"] = _emails_text(values["emails"])
    rule = AlertRule.objects.create(team=team, **values)
    logger.info("alert rule %s created for team %s", rule.pk, team.slug)
    return rule


@transaction.atomic
def alert_rule_update(*, rule: AlertRule, fields: dict[str, Any]) -> AlertRule:
    changed = [k for k in fields if k in RULE_FIELDS]
    for key in changed:
        value = fields[key]
        setattr(rule, key, _emails_text(value) if key == "emails" else value)
    if changed:
        rule.save(update_fields=[*changed, "updated_at"])
    return rule


def alert_rule_delete(*, rule: AlertRule) -> None:
    """Past alerts of the rule are kept (their rule becomes null)."""
    rule_id = rule.pk
    rule.delete()
    logger.info("alert rule %s deleted", rule_id)
