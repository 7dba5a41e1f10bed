"""Alert rules of the current team: team admins edit, everyone else reads."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import current_membership, membership_of, require_admin_role
from analyses import alerting, selectors
from analyses.forms import AlertRuleForm


@login_required
@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    rules = selectors.alert_rules_for_team(team=membership.team).prefetch_related("alerts")
    deliveries = selectors.deliveries_for_team(team=membership.team)[:50] if membership.can_admin else []
    return render(
        request,
        "analyses/rules.html",
        {"rules": rules, "membership": membership, "deliveries": deliveries},
    )


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    membership = current_membership(request)
    rule = None
    if rule_id is not None:
        rule = selectors.alert_rule_get_for_user(user=request.user, rule_id=rule_id)
        membership = membership_of(request, rule.team_id)
    require_admin_role(membership, "edit alert rules")
    form = AlertRuleForm(request.POST or None, rule=rule)
    if request.method == "POST" and form.is_valid():
        try:
            if rule is None:
                alerting.alert_rule_create(team=membership.team, fields=form.cleaned_data)
            else:
                alerting.alert_rule_update(rule=rule, fields=form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Alert rule saved.")
            return redirect("analyses:rules")
    return render(request, "analyses/rule_form.html", {"form": form, "rule": rule})


@login_required
@require_POST
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = selectors.alert_rule_get_for_user(user=request.user, rule_id=rule_id)
    require_admin_role(membership_of(request, rule.team_id), "delete alert rules")
    alerting.alert_rule_delete(rule=rule)
    messages.success(request, "Alert rule deleted; its past alerts are kept.")
    return redirect("analyses:rules")
