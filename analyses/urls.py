from django.urls import path

from analyses.views import analysis, history, lines, patterns, rules

app_name = "analyses"

urlpatterns = [
    path("upload/", analysis.upload, name="upload"),
    path("", history.history, name="history"),
    path("<int:analysis_id>/", analysis.detail, name="detail"),
    path("<int:analysis_id>/status/", analysis.status, name="status"),
    path("<int:analysis_id>/delete/", analysis.delete, name="delete"),
    path("<int:analysis_id>/rerun/", analysis.rerun, name="rerun"),
    path("<int:analysis_id>/files/<int:file_id>/", analysis.file_download, name="file"),
    path("<int:analysis_id>/reports/<str:filename>", analysis.report_download, name="report"),
    path("<int:analysis_id>/reports.zip", analysis.reports_zip, name="reports_zip"),
    path("<int:analysis_id>/lines/", lines.lines_list, name="lines"),
    path("<int:analysis_id>/lines/context/", lines.lines_context, name="lines_context"),
    path("<int:analysis_id>/lines/export/", lines.lines_export, name="lines_export"),
    path("<int:analysis_id>/patterns/", patterns.patterns, name="patterns"),
    path("alerts/", history.alerts, name="alerts"),
    path("alerts/<int:alert_id>/acknowledge/", history.alert_acknowledge, name="alert_ack"),
    path("rules/", rules.rule_list, name="rules"),
    path("rules/new/", rules.rule_edit, name="rule_new"),
    path("rules/<int:rule_id>/", rules.rule_edit, name="rule_edit"),
    path("rules/<int:rule_id>/delete/", rules.rule_delete, name="rule_delete"),
]
