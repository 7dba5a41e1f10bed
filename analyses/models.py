from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import Team


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


TERMINAL = {Status.SUCCEEDED, Status.FAILED}


class Analysis(models.Model):
    """One analysis of one or more uploaded files.

    This row, not django-q2's tables, is the source of truth for the job's state
    (DESIGN §9): workers claim it with a conditional UPDATE, hold a lease they
    renew while running, and count attempts here.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="analyses")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=200)
    options = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=100, blank=True, default="Waiting for a worker")
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, default="")

    attempts = models.PositiveSmallIntegerField(default=0)
    claim_token = models.CharField(max_length=32, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    spark_session_id = models.CharField(max_length=64, blank=True, default="")
    worker = models.CharField(
        max_length=100, blank=True, default="", help_text="host:pid of the claiming worker"
    )
    dispatched_at = models.DateTimeField(null=True, blank=True, help_text="when its task was last queued")

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    total_rows = models.BigIntegerField(null=True, blank=True)
    error_rows = models.BigIntegerField(null=True, blank=True)
    error_rate = models.FloatField(null=True, blank=True)
    unparsed_lines = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "-created_at"]),
            models.Index(fields=["status", "lease_expires_at"]),
        ]
        verbose_name_plural = "analyses"

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class AnalysisFile(models.Model):
    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="files")
    position = models.PositiveIntegerField(default=0)
    original_name = models.CharField(max_length=255)
    # Relative to STORAGE_ROOT; always a generated name, never the user's.
    stored_path = models.CharField(max_length=500)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    format_override = models.CharField(max_length=32, blank=True, default="")
    # The year for this file's year-less timestamps (a re-run's per-file option);
    # None: the analysis's assume_year, else the configured default.
    assume_year_override = models.PositiveSmallIntegerField(null=True, blank=True)
    detected_format = models.CharField(max_length=32, blank=True, default="")
    rows = models.BigIntegerField(null=True, blank=True)
    unparsed_lines = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.original_name


class AnalysisResult(models.Model):
    """The result document of a succeeded analysis (summary, files, tables)."""

    analysis = models.OneToOneField(
        Analysis, on_delete=models.CASCADE, primary_key=True, related_name="result"
    )
    document = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Result of {self.analysis}"


def _rollup_analysis() -> models.ForeignKey:
    """A rollup's analysis: a large analysis writes 10^5 rollup rows in one COPY.

    No database constraint: PostgreSQL checks a deferred foreign key row by row at
    commit, which takes as long as the COPY itself.
    Rollups are written only by `services.store._results_write` and removed only with
    their analysis (Django's cascade, however the analysis is deleted); both hold
    the analysis row's lock (`_analysis_lock_before_delete`), so no rollup
    outlives its analysis. No index of its own
    either: (analysis, hour) leads with the analysis.
    """
    return models.ForeignKey(
        Analysis, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )


class RollupService(models.Model):
    """Counts by (hour, level, service) — every row; services past the cap are '(other)'."""

    analysis = _rollup_analysis()
    hour = models.DateTimeField(null=True)
    level = models.CharField(max_length=10)
    service = models.CharField(max_length=200, blank=True, default="")
    count = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["analysis", "hour"])]

    def __str__(self) -> str:
        return f"{self.hour} {self.level} {self.service}: {self.count}"


class RollupErrorType(models.Model):
    """Error rows by (hour, level, service, error type)."""

    analysis = _rollup_analysis()
    hour = models.DateTimeField(null=True)
    level = models.CharField(max_length=10)
    service = models.CharField(max_length=200, blank=True, default="")
    error_type = models.CharField(max_length=300)
    count = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["analysis", "hour"])]

    def __str__(self) -> str:
        return f"{self.hour} {self.level} {self.error_type}: {self.count}"


class RollupIp(models.Model):
    """Error rows by (hour, level, service, IP)."""

    analysis = _rollup_analysis()
    hour = models.DateTimeField(null=True)
    level = models.CharField(max_length=10)
    service = models.CharField(max_length=200, blank=True, default="")
    ip = models.CharField(max_length=64)
    count = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["analysis", "hour"])]

    def __str__(self) -> str:
        return f"{self.hour} {self.level} {self.ip}: {self.count}"


class AlertKind(models.TextChoices):
    ERROR_RATE = "error_rate", "Error rate above"
    ERROR_COUNT = "error_count", "Error count above"
    CRITICAL_COUNT = "critical_count", "Critical errors at least"
    ERROR_TYPE_REPEATED = "error_type_repeated", "One error type repeated more than"
    ERRORS_PER_HOUR = "errors_per_hour", "Errors in any one hour above"
    NEW_ERROR_PATTERN = "new_error_pattern", "New error patterns at least"


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class AlertRule(models.Model):
    """A team's threshold on one measure of every analysis (DESIGN §6)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="alert_rules")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    # A fraction (0.1 = 10 %) for error_rate, a count for the others.
    threshold = models.FloatField()
    min_rows = models.PositiveIntegerField(
        default=100, help_text="A rate rule fires only when the analysis has at least this many rows."
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    enabled = models.BooleanField(default=True)
    cooldown_minutes = models.PositiveIntegerField(
        default=60,
        help_text="After a notification, further firings within this time are recorded but not sent.",
    )
    emails = models.TextField(
        blank=True, default="", help_text="E-mail addresses, one per line or comma-separated."
    )
    webhook_url = models.URLField(blank=True, default="", max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team__name", "kind", "threshold"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.threshold_display} ({self.team})"

    @property
    def threshold_display(self) -> str:
        if self.kind == AlertKind.ERROR_RATE:
            return f"{self.threshold * 100:g} %"
        return f"{self.threshold:g}"

    @property
    def email_list(self) -> list[str]:
        return [a.strip() for a in self.emails.replace(",", "\n").splitlines() if a.strip()]


class Alert(models.Model):
    """One firing of a rule on one analysis."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="alerts")
    rule = models.ForeignKey(
        AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    value = models.FloatField()
    threshold = models.FloatField()
    severity = models.CharField(max_length=10, choices=Severity.choices)
    message = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    notified = models.BooleanField(default=False, help_text="False when the rule was cooling down.")
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "-created_at"]), models.Index(fields=["rule", "-created_at"])]

    def __str__(self) -> str:
        return self.message

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None


class Delivery(models.Model):
    """A notification of an alert to one channel target, with its attempts."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    target = models.CharField(max_length=500)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    # When a pending delivery is next due. A worker that claims it moves this past
    # its deadline (a lease), and a failed attempt sets the back-off: retries are
    # rescheduled here, never slept in a worker (analyses.notifications).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.channel} to {self.target}: {self.state}"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    ok = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"attempt {self.number}: {'ok' if self.ok else self.error or self.status_code}"


@receiver(pre_delete, sender=Analysis, dispatch_uid="analyses.analysis_lock_before_delete")
def _analysis_lock_before_delete(sender, instance: Analysis, using: str, **kwargs) -> None:  # noqa: ANN001
    """Every deletion of an analysis (the service, the admin, a team's cascade) first
    takes the row lock a results write holds. Django sends pre_delete inside its
    delete transaction, before deleting the rollups: they are deleted after a write
    in progress has committed, or that write finds its analysis gone and stores
    nothing."""
    list(Analysis.objects.using(using).select_for_update().filter(pk=instance.pk).values_list("pk"))
