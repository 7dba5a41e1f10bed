from django.contrib import admin

from analyses.models import (
    Alert,
    AlertRule,
    Analysis,
    AnalysisFile,
    AnalysisResult,
    Delivery,
    DeliveryAttempt,
    RollupErrorType,
    RollupIp,
    RollupService,
)
from analyses.selectors import queue_health


class AnalysisFileInline(admin.TabularInline):
    model = AnalysisFile
    extra = 0
    fields = ["original_name", "size", "detected_format", "rows", "unparsed_lines", "error"]
    readonly_fields = fields
    can_delete = False


@admin.register(Analysis)
class AnalysisAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "name",
        "team",
        "status",
        "stage",
        "progress",
        "attempts",
        "created_at",
        "total_rows",
        "error_rate",
    ]
    list_filter = ["status", "team"]
    search_fields = ["name", "team__name"]
    readonly_fields = [
        "claim_token",
        "lease_expires_at",
        "spark_session_id",
        "attempts",
        "started_at",
        "finished_at",
        "total_rows",
        "error_rows",
        "error_rate",
        "unparsed_lines",
    ]
    inlines = [AnalysisFileInline]
    change_list_template = "admin/analyses/analysis/change_list.html"

    def changelist_view(self, request, extra_context=None):  # noqa: ANN001, ANN201
        extra_context = {**(extra_context or {}), "queue_health": queue_health()}
        return super().changelist_view(request, extra_context=extra_context)


@admin.register(AnalysisFile)
class AnalysisFileAdmin(admin.ModelAdmin):
    list_display = ["original_name", "analysis", "size", "detected_format", "rows", "unparsed_lines"]
    search_fields = ["original_name", "sha256"]
    list_filter = ["detected_format"]
    # What was stored, and where: an editable path would let an admin point a row at
    # any file of the server (readers also refuse paths outside STORAGE_ROOT).
    readonly_fields = ["analysis", "stored_path", "size", "sha256"]


@admin.register(AnalysisResult)
class AnalysisResultAdmin(admin.ModelAdmin):
    list_display = ["analysis", "created_at"]


@admin.register(RollupService)
class RollupServiceAdmin(admin.ModelAdmin):
    list_display = ["analysis", "hour", "level", "service", "count"]
    list_filter = ["level"]


@admin.register(RollupErrorType)
class RollupErrorTypeAdmin(admin.ModelAdmin):
    list_display = ["analysis", "hour", "level", "service", "error_type", "count"]
    list_filter = ["level"]


@admin.register(RollupIp)
class RollupIpAdmin(admin.ModelAdmin):
    list_display = ["analysis", "hour", "level", "service", "ip", "count"]
    list_filter = ["level"]


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ["id", "team", "kind", "threshold", "min_rows", "severity", "enabled", "cooldown_minutes"]
    list_editable = ["threshold", "min_rows", "severity", "enabled", "cooldown_minutes"]
    list_filter = ["team", "kind", "severity", "enabled"]
    search_fields = ["team__name", "emails", "webhook_url"]


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    fields = ["channel", "target", "state", "attempts", "last_error"]
    readonly_fields = fields
    can_delete = False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "team",
        "kind",
        "severity",
        "value",
        "threshold",
        "notified",
        "acknowledged_at",
    ]
    list_filter = ["team", "kind", "severity", "notified"]
    search_fields = ["message"]
    readonly_fields = [
        "team",
        "rule",
        "analysis",
        "kind",
        "value",
        "threshold",
        "severity",
        "message",
        "notified",
    ]
    inlines = [DeliveryInline]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    fields = ["number", "ok", "status_code", "error", "duration_ms", "at"]
    readonly_fields = fields
    can_delete = False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "alert", "channel", "target", "state", "attempts"]
    list_filter = ["channel", "state"]
    inlines = [DeliveryAttemptInline]
