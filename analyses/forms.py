from __future__ import annotations

import datetime as dt

from django import forms

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
    """The page's rule form. The channel settings (addresses, recipients cap, the
    webhook's address) and the team's rule cap are checked by the write path the
    API shares (analyses.alerting.alert_rule_create/update); the view shows its
    errors on this form."""

    emails = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="E-mail addresses, one per line or comma-separated.",
    )

    class Meta:
        model = AlertRule
        fields = [
            "kind",
            "threshold",
            "min_rows",
            "severity",
            "enabled",
            "cooldown_minutes",
            "webhook_url",
        ]
        help_texts = {
            "threshold": "For error rate a fraction (0.1 = 10 %); for the others a count.",
            "webhook_url": "An http(s) receiver on a public address.",
        }

    field_order = [*Meta.fields[:-1], "emails", "webhook_url"]

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("emails", "\n".join(self.instance.email_list))

    def clean_emails(self) -> list[str]:
        text = self.cleaned_data.get("emails") or ""
        return [a.strip() for a in text.replace(",", "\n").splitlines() if a.strip()]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") == AlertKind.ERROR_RATE and data.get("threshold") is not None:
            if not 0 <= data["threshold"] <= 1:
                self.add_error(
                    "threshold", "An error-rate threshold is a fraction between 0 and 1 (0.1 = 10 %)."
                )
        elif data.get("threshold") is not None and data["threshold"] < 0:
            self.add_error("threshold", "A threshold cannot be negative.")
        return data
