"""The alert log: one line per alert, appended to a file under REPORTS_DIR and
logged as a warning, for tools that watch files or logs rather than the API."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from django.conf import settings

from analyses.models import Alert, Analysis

logger = logging.getLogger("analyses.alerting")  # the name operators' log filters know


def alert_log_line(alert: Alert, analysis: Analysis) -> str:
    return (
        f"{alert.created_at.strftime('%Y-%m-%dT%H:%M:%SZ')} team={analysis.team.slug} "
        f"analysis={analysis.pk} rule={alert.rule_id} kind={alert.kind} value={alert.value:g} "
        f"threshold={alert.threshold:g} severity={alert.severity} notified={str(alert.notified).lower()} "
        f"message={json.dumps(alert.message)}"
    )


def alerts_log_path() -> Path:
    return Path(settings.REPORTS_DIR) / settings.LOGPLATFORM["alerts"]["log_file"]


def alerts_append_log(lines: list[str], path: Path) -> None:
    if not lines:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line + "\n")


def log_alert(alert: Alert, analysis: Analysis) -> None:
    line = alert_log_line(alert, analysis)
    logger.warning("ALERT %s", line)
    try:
        alerts_append_log([line], alerts_log_path())
    except OSError as exc:
        logger.error("could not append to %s: %s", alerts_log_path(), exc)
