"""/api/v1/ — every endpoint of the API (accounts' and analyses')."""

from __future__ import annotations

from django.urls import path, register_converter

from accounts import api as accounts_api
from accounts import members_api
from analyses.api import alerts, analyses, reports
from analyses.api.routing import operations


class ObjectIdConverter:
    """A database id: 1 to 18 digits. Longer numbers match no URL (404), rather
    than reaching the database as an out-of-range integer."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(ObjectIdConverter, "objid")

app_name = "api"

urlpatterns = [
    path("auth/token/", accounts_api.TokenObtainApi.as_view(), name="auth-token"),
    path("me/", accounts_api.MeApi.as_view(), name="me"),
    path("teams/", accounts_api.TeamListApi.as_view(), name="teams"),
    path(
        "tokens/",
        operations(get=accounts_api.TokenListApi, post=accounts_api.TokenCreateApi),
        name="tokens",
    ),
    path("tokens/<objid:token_id>/", operations(delete=accounts_api.TokenRevokeApi), name="token"),
    path("teams/<objid:team_id>/members/", members_api.TeamMemberListApi.as_view(), name="team-members"),
    path(
        "teams/<objid:team_id>/members/<objid:membership_id>/",
        operations(patch=members_api.TeamMemberRoleApi, delete=members_api.TeamMemberRemoveApi),
        name="team-member",
    ),
    path("teams/<objid:team_id>/leave/", members_api.TeamLeaveApi.as_view(), name="team-leave"),
    path(
        "teams/<objid:team_id>/invitations/",
        operations(get=members_api.TeamInvitationListApi, post=members_api.TeamInvitationCreateApi),
        name="team-invitations",
    ),
    path(
        "teams/<objid:team_id>/invitations/<objid:invitation_id>/",
        operations(delete=members_api.TeamInvitationWithdrawApi),
        name="team-invitation",
    ),
    path("invitations/", members_api.InvitationListApi.as_view(), name="invitations"),
    path(
        "invitations/<objid:invitation_id>/accept/",
        members_api.InvitationAcceptApi.as_view(),
        name="invitation-accept",
    ),
    path(
        "invitations/<objid:invitation_id>/decline/",
        members_api.InvitationDeclineApi.as_view(),
        name="invitation-decline",
    ),
    path(
        "analyses/",
        operations(get=analyses.AnalysisListApi, post=analyses.AnalysisCreateApi),
        name="analyses",
    ),
    path(
        "analyses/<objid:analysis_id>/",
        operations(get=analyses.AnalysisDetailApi, delete=analyses.AnalysisDeleteApi),
        name="analysis-detail",
    ),
    path(
        "analyses/<objid:analysis_id>/results/",
        analyses.AnalysisResultsApi.as_view(),
        name="analysis-results",
    ),
    path(
        "analyses/<objid:analysis_id>/reports/",
        reports.AnalysisReportListApi.as_view(),
        name="analysis-reports",
    ),
    path(
        "analyses/<objid:analysis_id>/reports.zip",
        reports.AnalysisReportsZipApi.as_view(),
        name="analysis-reports-zip",
    ),
    path(
        "analyses/<objid:analysis_id>/reports/<str:filename>",
        reports.AnalysisReportApi.as_view(),
        name="analysis-report",
    ),
    path("analyses/<objid:analysis_id>/rerun/", analyses.AnalysisRerunApi.as_view(), name="analysis-rerun"),
    path("alerts/", alerts.AlertListApi.as_view(), name="alerts"),
    path(
        "alerts/<objid:alert_id>/acknowledge/",
        alerts.AlertAcknowledgeApi.as_view(),
        name="alert-acknowledge",
    ),
    path(
        "alert-rules/",
        operations(get=alerts.AlertRuleListApi, post=alerts.AlertRuleCreateApi),
        name="alert-rules",
    ),
    path(
        "alert-rules/<objid:rule_id>/",
        operations(
            get=alerts.AlertRuleDetailApi,
            patch=alerts.AlertRuleUpdateApi,
            delete=alerts.AlertRuleDeleteApi,
        ),
        name="alert-rule",
    ),
]
