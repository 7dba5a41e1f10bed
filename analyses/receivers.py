"""What analyses does when the layers below it announce something: a new team gets
the default alert rules of config.yaml; a starting web process builds each chart
once. Connected in AnalysesConfig.ready, so accounts and logplatform import no app."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from accounts.models import Team
from accounts.signals import team_created
from analyses.alerting import alert_rules_create_defaults
from logplatform.warm_up import web_process_ready


@receiver(team_created, dispatch_uid="analyses.team_default_alert_rules")
def team_default_alert_rules(sender: type, team: Team, **kwargs: Any) -> None:
    alert_rules_create_defaults(team=team)


@receiver(web_process_ready, dispatch_uid="analyses.charts_warm_up")
def charts_warm_up(sender: str, **kwargs: Any) -> None:
    # Imported here: only a web process needs Plotly at start-up.
    from analyses import charts

    charts.warm_up()
