from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import services
from accounts.forms import MemberAddForm, TeamSwitchForm
from accounts.middleware import SESSION_KEY
from accounts.models import Membership
from accounts.selectors import membership_get, team_members


def _require_membership(request: HttpRequest) -> Membership:
    if request.membership is None:
        raise PermissionDenied("You are not a member of any team yet; ask a team admin to add you.")
    return request.membership


@login_required
@require_POST
def team_switch(request: HttpRequest) -> HttpResponse:
    form = TeamSwitchForm(request.POST)
    if form.is_valid():
        membership = membership_get(user=request.user, team_id=form.cleaned_data["team_id"])
        request.session[SESSION_KEY] = membership.team_id
        messages.info(request, f"Now working in {membership.team.name}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "analyses:history"
    return redirect(target)


@login_required
def members(request: HttpRequest) -> HttpResponse:
    membership = _require_membership(request)
    form = MemberAddForm()
    if request.method == "POST":
        if not membership.can_admin:
            raise PermissionDenied("Only team owners and admins can change members.")
        if "remove" in request.POST:
            try:
                services.membership_remove(
                    team=membership.team,
                    membership_id=int(request.POST["remove"]),
                    acting=membership,
                )
                messages.success(request, "Member removed.")
            except (ValidationError, ValueError) as exc:
                messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
            return redirect("accounts:members")
        form = MemberAddForm(request.POST)
        if form.is_valid():
            try:
                services.membership_add(team=membership.team, **form.cleaned_data)
                messages.success(request, f"{form.cleaned_data['username']} added.")
                return redirect("accounts:members")
            except ValidationError as exc:
                form.add_error("username", exc)
    return render(
        request,
        "accounts/members.html",
        {"members": team_members(team=membership.team), "form": form},
    )
