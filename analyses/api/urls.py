"""analyses' part of /api/v1/: analyses, results, reports, lines, patterns, alerts, alert rules.
Included with accounts' part under the `api` namespace (logplatform.urls)."""

from __future__ import annotations

from django.urls import path

from analyses.api import alerts, analyses, lines, patterns, reports, results
from logplatform.api.routing import operations  # also registers the `objid` converter

urlpatterns = [
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
        results.AnalysisResultsApi.as_view(),
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
    path("analyses/<objid:analysis_id>/lines/", lines.LinesListApi.as_view(), name="analysis-lines"),
    path(
        "analyses/<objid:analysis_id>/lines/context/",
        lines.LinesContextApi.as_view(),
        name="analysis-lines-context",
    ),
    path(
        "analyses/<objid:analysis_id>/lines/export/",
        lines.LinesExportApi.as_view(),
        name="analysis-lines-export",
    ),
    path(
        "analyses/<objid:analysis_id>/patterns/",
        patterns.AnalysisPatternsApi.as_view(),
        name="analysis-patterns",
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
