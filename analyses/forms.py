from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from analyses.models import AlertKind, AlertRule
from spark_client.types import FORMAT_LABELS, FORMATS

FORMAT_CHOICES = [("", "Detect automatically")] + [(f, FORMAT_LABELS[f]) for f in FORMATS]


class AnalysisOptionsForm(forms.Form):
    """The non-file fields of an upload. Files are read by the streaming handler."""

    name = forms.CharField(max_length=200, required=False)
    format = forms.ChoiceField(choices=FORMAT_CHOICES, required=False)
    assume_year = forms.IntegerField(
        required=False,
        min_value=1970,
        max_value=2100,
        help_text="Year for log lines that carry none (syslog). Default: the current year.",
    )

    def options(self) -> dict:
        data = self.cleaned_data
        options = {}
        if data.get("format"):
            options["format"] = data["format"]
        if data.get("assume_year"):
            options["assume_year"] = data["assume_year"]
        return options

    @staticmethod
    def default_year() -> int:
        return dt.date.today().year


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


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = [
            "kind",
            "threshold",
            "min_rows",
            "severity",
            "enabled",
            "cooldown_minutes",
            "emails",
            "webhook_url",
        ]
        widgets = {"emails": forms.Textarea(attrs={"rows": 2})}
        help_texts = {"threshold": "For error rate a fraction (0.1 = 10 %); for the others a count."}

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") == AlertKind.ERROR_RATE and data.get("threshold") is not None:
            if not 0 <= data["threshold"] <= 1:
                self.add_error(
                    "threshold", "An error-rate threshold is a fraction between 0 and 1 (0.1 = 10 %)."
                )
        elif data.get("threshold") is not None and data["threshold"] < 0:
            self.add_error("threshold", "A threshold cannot be negative.")
        for address in (data.get("emails") or "").replace(",", "\n").splitlines():
            if address.strip():
                try:
                    validate_email(address.strip())
                except ValidationError:
                    self.add_error("emails", f"{address.strip()!r} is not an e-mail address.")
        return data
