from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services, tokens
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
@require_http_methods(["GET", "POST"])
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


# --------------------------------------------------------------------------- API tokens


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “nightly upload script”.")
    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        choices=[
            ("", "Never"),
            ("7", "In 7 days"),
            ("30", "In 30 days"),
            ("90", "In 90 days"),
            ("365", "In a year"),
        ],
        coerce=int,
        empty_value=None,
        required=False,
    )


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """Personal API tokens: create (the token is shown on this response only) and revoke."""
    form = ApiTokenForm()
    new_token = None
    if request.method == "POST":
        if "revoke" in request.POST:
            token = tokens.api_token_get_for_user(user=request.user, token_id=request.POST["revoke"])
            tokens.api_token_revoke(token=token)
            messages.success(request, f"Token {token.name} ({token.prefix}) revoked.")
            return redirect("accounts:tokens")
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            _, new_token = tokens.api_token_create(user=request.user, **form.cleaned_data)
            form = ApiTokenForm()
    now = timezone.now()
    listed = list(tokens.api_tokens_for_user(user=request.user))
    for token in listed:
        token.state = token.state_at(now)
    response = render(
        request,
        "accounts/tokens.html",
        {"tokens": listed, "form": form, "new_token": new_token},
        status=201 if new_token else 200,
    )
    response["Cache-Control"] = "no-store"  # the page may hold a token
    return response
