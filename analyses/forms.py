"""The pages' forms. Their fields parse what a browser posts and draw the inputs; the
rules are the entity's one validation, shared with the API: `clean` calls
analyses.options.analysis_options_clean or analyses.alerting.alert_rule_fields_clean,
and the re-run form's fields go to analyses.options.rerun_file_options_clean."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict

from analyses.alerting import WEBHOOK_URL_MAX_LENGTH, alert_rule_fields_clean
from analyses.models import AlertKind, AlertRule, Severity
from analyses.options import FORMAT_CHOICES, YEAR_MAX, YEAR_MIN, analysis_options_clean


class AnalysisOptionsForm(forms.Form):
    """The non-file fields of an upload. Files are read by the streaming handler.

    Valid, `cleaned_data["options"]` holds the checked AnalysisOptions."""

    name = forms.CharField(max_length=200, required=False)
    format = forms.CharField(required=False, widget=forms.Select(choices=FORMAT_CHOICES))
    assume_year = forms.CharField(
        required=False,
        widget=forms.NumberInput(attrs={"min": YEAR_MIN, "max": YEAR_MAX}),
        help_text="Year for log lines that carry none (syslog). Default: the current year.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["options"] = analysis_options_clean(data)
        return data


def rerun_files_from_post(post: QueryDict, *, file_ids: list[int]) -> list[dict[str, Any]]:
    """The re-run form's per-file fields (`file-<id>-format`, `file-<id>-assume_year`)
    as the list `analyses.options.rerun_file_options_clean` checks. A file whose
    fields were not posted (the plain Re-run button) is left out: it keeps its options."""
    raw = []
    for file_id in file_ids:
        fmt, year = f"file-{file_id}-format", f"file-{file_id}-assume_year"
        if fmt in post or year in post:
            raw.append({"id": file_id, "format": post.get(fmt, ""), "assume_year": post.get(year, "")})
    return raw


class HistoryFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any status"),
            ("queued", "Queued"),
            ("running", "Running"),
            ("succeeded", "Succeeded"),
            ("failed", "Failed"),
        ],
    )
    created_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))


class AlertRuleForm(forms.Form):
    """The page's rule form. The team's rule cap is checked by the write
    (analyses.alerting.alert_rule_create), whose errors the view shows on this form."""

    kind = forms.CharField(widget=forms.Select(choices=[("", "---------"), *AlertKind.choices]))
    threshold = forms.FloatField(
        widget=forms.NumberInput(attrs={"step": "any"}),
        help_text="For error rate a fraction (0.1 = 10 %); for the others a count.",
    )
    min_rows = forms.IntegerField(
        initial=100,
        widget=forms.NumberInput(attrs={"min": 0}),
        help_text="A rate rule fires only when the analysis has at least this many rows.",
    )
    severity = forms.CharField(initial=Severity.WARNING, widget=forms.Select(choices=Severity.choices))
    enabled = forms.BooleanField(required=False, initial=True)
    cooldown_minutes = forms.IntegerField(
        initial=60,
        widget=forms.NumberInput(attrs={"min": 0}),
        help_text="After a notification, further firings within this time are recorded but not sent.",
    )
    emails = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="E-mail addresses, one per line or comma-separated.",
    )
    webhook_url = forms.CharField(
        required=False,
        widget=forms.URLInput(attrs={"maxlength": WEBHOOK_URL_MAX_LENGTH}),
        help_text="An http(s) receiver on a public address.",
    )

    def __init__(self, *args: Any, rule: AlertRule | None = None, **kwargs: Any) -> None:
        """`rule`: the rule being edited, whose values the inputs start with."""
        if rule is not None:
            kwargs.setdefault(
                "initial",
                {
                    "kind": rule.kind,
                    "threshold": rule.threshold,
                    "min_rows": rule.min_rows,
                    "severity": rule.severity,
                    "enabled": rule.enabled,
                    "cooldown_minutes": rule.cooldown_minutes,
                    "emails": "\n".join(rule.email_list),
                    "webhook_url": rule.webhook_url,
                },
            )
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # The form posts every field, so the stored rule plays no part; a field that
        # did not parse is absent here, and each error lands on its field.
        return {**data, **alert_rule_fields_clean(fields=data)}
