"""The members page: members and their roles, invitations, leaving; and the invitee's page.

Every action acts in the current team (the team switcher's). The services decide
who may do what (accounts.roles); these views turn a refusal of the acting
person's role into a 403 page that says why, and any other refusal into a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import invitations, roles, services
from accounts.forms import InviteForm, RoleForm
from accounts.middleware import SESSION_KEY
from accounts.models import CAN_ADMIN, Membership, Role
from accounts.selectors import team_member_get, team_members


def _require_membership(request: HttpRequest) -> Membership:
    if request.membership is None:
        raise PermissionDenied(
            "You are not a member of any team yet; a team admin can invite you (see Invitations)."
        )
    return request.membership


def _member_rows(acting: Membership) -> list[dict]:
    """Each member with the actions the acting person may take on them."""
    rows = []
    for member in team_members(team=acting.team):
        is_self = member.pk == acting.pk
        offered = roles.roles_offered(acting_role=acting.role, target_role=member.role, is_self=is_self)
        rows.append(
            {
                "member": member,
                "is_self": is_self,
                "roles": [(r, Role(r).label) for r in offered] if len(offered) > 1 else [],
                "can_remove": not is_self
                and roles.removal_refusal(
                    acting_role=acting.role, target_role=member.role, is_self=False, owners=2
                )
                is None,
            }
        )
    return rows


def _page(
    request: HttpRequest,
    acting: Membership,
    *,
    form: InviteForm | None = None,
    refused: str = "",
    status: int = 200,
) -> HttpResponse:
    can_admin = acting.role in CAN_ADMIN
    form = form or InviteForm()
    if acting.role != Role.OWNER:
        form.fields["role"].choices = [c for c in Role.choices if c[0] != Role.OWNER]
    return render(
        request,
        "accounts/members.html",
        {
            "rows": _member_rows(acting),
            "form": form,
            "can_admin": can_admin,
            "pending": invitations.invitations_for_team(team=acting.team) if can_admin else [],
            "refused": refused,
        },
        status=status,
    )


def _refused(request: HttpRequest, acting: Membership, exc: PermissionDenied) -> HttpResponse:
    return _page(request, acting, refused=str(exc), status=403)


def _failed(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    messages.error(request, " ".join(exc.messages))
    return redirect("accounts:members")


@login_required
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest) -> HttpResponse:
    """The current team's members; POST invites someone (owners and admins)."""
    acting = _require_membership(request)
    if request.method == "GET":
        return _page(request, acting)
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _page(request, acting, form=form, status=400)
    try:
        invitations.invitation_create(acting=acting, **form.cleaned_data)
    except PermissionDenied as exc:
        return _refused(request, acting, exc)
    except ValidationError as exc:
        form.add_error(None if hasattr(exc, "error_dict") else "username", exc)
        return _page(request, acting, form=form, status=400)
    message = invitations.invitation_sent_message(
        username=form.cleaned_data["username"].strip(), team=acting.team
    )
    messages.success(request, message)
    return redirect("accounts:members")


@login_required
@require_POST
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    acting = _require_membership(request)
    target = team_member_get(team=acting.team, membership_id=membership_id)
    form = RoleForm(request.POST)
    role = form.cleaned_data["role"] if form.is_valid() else ""
    try:
        changed = services.membership_role_change(acting=acting, membership=target, role=role)
    except PermissionDenied as exc:
        return _refused(request, acting, exc)
    except ValidationError as exc:
        return _failed(request, exc)
    messages.success(request, f"{changed.user.get_username()} is now {changed.get_role_display().lower()}.")
    return redirect("accounts:members")


@login_required
@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    acting = _require_membership(request)
    target = team_member_get(team=acting.team, membership_id=membership_id)
    try:
        services.membership_remove(acting=acting, membership=target)
    except PermissionDenied as exc:
        return _refused(request, acting, exc)
    except ValidationError as exc:
        return _failed(request, exc)
    messages.success(request, f"{target.user.get_username()} removed from {acting.team.name}.")
    return redirect("accounts:members")


@login_required
@require_POST
def team_leave(request: HttpRequest) -> HttpResponse:
    acting = _require_membership(request)
    try:
        services.membership_leave(membership=acting)
    except ValidationError as exc:
        return _failed(request, exc)
    messages.success(request, f"You left {acting.team.name}.")
    # Without a team left, the one page that still has something for them.
    others = [m for m in request.memberships if m.pk != acting.pk]
    return redirect("home" if others else "accounts:invitations")


@login_required
@require_POST
def invitation_withdraw(request: HttpRequest, invitation_id: int) -> HttpResponse:
    acting = _require_membership(request)
    try:
        invitation = invitations.invitation_withdraw(acting=acting, invitation_id=invitation_id)
    except PermissionDenied as exc:
        return _refused(request, acting, exc)
    messages.success(request, f"The invitation of {invitation.username} was withdrawn.")
    return redirect("accounts:members")


# --------------------------------------------------------------------------- the invitee's side


@login_required
@require_GET
def invitation_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/invitations.html",
        {"invitations": invitations.invitations_for_user(user=request.user)},
    )


@login_required
@require_POST
def invitation_accept(request: HttpRequest, invitation_id: int) -> HttpResponse:
    membership = invitations.invitation_accept(user=request.user, invitation_id=invitation_id)
    # Work in the team just joined.
    request.session[SESSION_KEY] = membership.team_id
    messages.success(
        request, f"You joined {membership.team.name} as {membership.get_role_display().lower()}."
    )
    return redirect("analyses:history")


@login_required
@require_POST
def invitation_decline(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = invitations.invitation_decline(user=request.user, invitation_id=invitation_id)
    messages.info(request, f"You declined the invitation to {invitation.team.name}.")
    return redirect("accounts:invitations")
