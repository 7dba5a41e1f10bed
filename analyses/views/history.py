"""The team's analysis history, and the team's alerts."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import current_membership, membership_of, require_upload_role
from analyses import alerting, selectors
from analyses.forms import HistoryFilterForm


@login_required
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    form = HistoryFilterForm(request.GET or None)
    criteria = form.cleaned_data if form.is_valid() else {}
    analyses = selectors.analyses_search(user=request.user, team=membership.team, **criteria)
    page = Paginator(analyses, settings.LOGPLATFORM["dashboard"]["history_page_size"]).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "analyses/history.html",
        {"page": page, "form": form, "query": query.urlencode(), "membership": membership},
    )


@login_required
@require_GET
def alerts(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    show = request.GET.get("show", "open")
    qs = selectors.alerts_for_team(team=membership.team, open_only=show == "open")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "analyses/alerts.html", {"page": page, "show": show, "membership": membership})


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = selectors.alert_get_for_user(user=request.user, alert_id=alert_id)
    require_upload_role(membership_of(request, alert.team_id), "acknowledge alerts")
    alerting.alert_acknowledge(alert=alert, user=request.user)
    messages.success(request, "Alert acknowledged.")
    target = request.POST.get("next") or ""
    # Django's own check: "/\\evil.com" passes a startswith("/") test, and browsers
    # read it as //evil.com.
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(target if safe else "analyses:alerts")
