from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import member_views, views

app_name = "accounts"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="accounts/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("team/switch/", views.team_switch, name="team_switch"),
    path("team/members/", member_views.members, name="members"),
    path("team/members/<int:membership_id>/role/", member_views.member_role, name="member_role"),
    path("team/members/<int:membership_id>/remove/", member_views.member_remove, name="member_remove"),
    path("team/leave/", member_views.team_leave, name="team_leave"),
    path(
        "team/invitations/<int:invitation_id>/withdraw/",
        member_views.invitation_withdraw,
        name="invitation_withdraw",
    ),
    path("invitations/", member_views.invitation_list, name="invitations"),
    path("invitations/<int:invitation_id>/accept/", member_views.invitation_accept, name="invitation_accept"),
    path(
        "invitations/<int:invitation_id>/decline/", member_views.invitation_decline, name="invitation_decline"
    ),
    path("tokens/", views.api_tokens, name="tokens"),
]
