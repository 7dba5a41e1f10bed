"""Pages of accounts: team switcher, API tokens, password. Members: accounts.member_views."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts import tokens
from accounts.forms import ApiTokenForm, TeamSwitchForm
from accounts.middleware import SESSION_KEY
from accounts.selectors import membership_get


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
def api_tokens(request: HttpRequest) -> HttpResponse:
    """Personal API tokens: create (the token is shown on this response only) and revoke."""
    form = ApiTokenForm(user=request.user)
    new_token = None
    if request.method == "POST":
        if "revoke" in request.POST:
            token = tokens.api_token_get_for_user(user=request.user, token_id=request.POST["revoke"])
            tokens.api_token_revoke(token=token)
            messages.success(request, f"Token {token.name} ({token.prefix}) revoked.")
            return redirect("accounts:tokens")
        form = ApiTokenForm(request.POST, user=request.user)
        if form.is_valid():
            _, new_token = tokens.api_token_create(user=request.user, **form.cleaned_data)
            form = ApiTokenForm(user=request.user)
    now = timezone.now()
    listed = list(tokens.api_tokens_for_user(user=request.user).select_related("team"))
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


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change; the new password revokes every API token (accounts.signals)."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:tokens")

    def form_valid(self, form):  # noqa: ANN001, ANN201
        response = super().form_valid(form)
        messages.success(
            self.request, "Password changed. Your API tokens were revoked; create new ones for your scripts."
        )
        return response
