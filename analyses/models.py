from __future__ import annotations

from django.conf import settings
from django.db import models

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


class RollupService(models.Model):
    """Counts by (hour, level, service) — every row; services past the cap are '(other)'."""

    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="+")
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

    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="+")
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

    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField(null=True)
    level = models.CharField(max_length=10)
    service = models.CharField(max_length=200, blank=True, default="")
    ip = models.CharField(max_length=64)
    count = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["analysis", "hour"])]

    def __str__(self) -> str:
        return f"{self.hour} {self.level} {self.ip}: {self.count}"
