from __future__ import annotations

import datetime as dt

from django import forms

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
