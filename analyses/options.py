"""An analysis's options (input format, year for year-less timestamps): the one check.

The upload page's form, the API's upload serializer and `manage.py analyze` all
call `analysis_options_clean`, so an option means the same and is refused with
the same words wherever it is given. A re-run may set the same two options per
file (`rerun_file_options_clean`, from the page's re-run form and the API's
re-run body), each file's checked by the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from spark_client.rows import FORMAT_LABELS, FORMATS

YEAR_MIN = 1970
YEAR_MAX = 2100
FORMAT_CHOICES = [("", "Detect automatically")] + [(f, FORMAT_LABELS[f]) for f in FORMATS]

# "2023.0" is read as 2023, as Django's and DRF's integer fields read it.
_DECIMAL_ZEROS = re.compile(r"\.0*\s*$")


@dataclass(frozen=True)
class AnalysisOptions:
    """Checked options; None is "not given" (detect the format; the configured year)."""

    format: str | None = None
    assume_year: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """What Analysis.options stores: only the options that were given."""
        stored: dict[str, Any] = {}
        if self.format:
            stored["format"] = self.format
        if self.assume_year is not None:
            stored["assume_year"] = self.assume_year
        return stored


def analysis_options_clean(raw: Mapping[str, Any]) -> AnalysisOptions:
    """Check `format` and `assume_year` from a form, a serializer or the command line.

    Blank values mean "not given". Raises ValidationError keyed by option, every
    message saying what to give instead.
    """
    errors: dict[str, str] = {}
    fmt = raw.get("format")
    if fmt in (None, ""):
        fmt = None
    elif fmt not in FORMATS:
        errors["format"] = (
            f'"{fmt}" is not a valid choice; choose one of {", ".join(FORMATS)}, '
            "or leave it empty to detect each file's format."
        )
    year = raw.get("assume_year")
    if year is None or (isinstance(year, str) and not year.strip()):
        year = None
    else:
        year = _year(year)
        if year is None:
            errors["assume_year"] = (
                f"{raw.get('assume_year')!r} is not a year; give a whole number such as 2024."
            )
        elif year < YEAR_MIN:
            errors["assume_year"] = (
                f"Ensure this value is greater than or equal to {YEAR_MIN} (the year of the log lines)."
            )
        elif year > YEAR_MAX:
            errors["assume_year"] = (
                f"Ensure this value is less than or equal to {YEAR_MAX} (the year of the log lines)."
            )
    if errors:
        raise ValidationError(errors)
    return AnalysisOptions(format=fmt, assume_year=year)


def _year(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(_DECIMAL_ZEROS.sub("", value.strip()))
        except ValueError:
            return None
    return None


MAX_RERUN_FILES = 1000  # more entries than an analysis can have files (uploads.max_files)


def rerun_file_options_clean(raw: object, *, file_ids: Collection[int]) -> dict[int, AnalysisOptions]:
    """A re-run's options per file: a list of {"id", "format", "assume_year"}.

    `id` is one of `file_ids` (the files of the analysis re-run), each at most
    once; `format` and `assume_year` are checked as an analysis's are, blank
    meaning "not given" (detect the format; the analysis's year). Files not
    listed keep the options they had. Raises ValidationError keyed "files", each
    message naming the entry it is about.
    """
    if raw in (None, ""):
        return {}
    if not isinstance(raw, list | tuple) or len(raw) > MAX_RERUN_FILES:
        raise ValidationError(
            {
                "files": f'Give "files" as a list of at most {MAX_RERUN_FILES} objects with "id", "format" and "assume_year".'
            }
        )
    known = ", ".join(str(i) for i in sorted(file_ids))
    errors: list[str] = []
    cleaned: dict[int, AnalysisOptions] = {}
    for position, entry in enumerate(raw):
        where = f"files[{position}]"
        if not isinstance(entry, Mapping):
            errors.append(f'{where}: give an object with "id", "format" and "assume_year".')
            continue
        file_id = entry.get("id")
        if isinstance(file_id, bool) or not isinstance(file_id, int) or file_id not in file_ids:
            errors.append(f"{where}: {file_id!r} is not a file of this analysis; its files are {known}.")
            continue
        if file_id in cleaned:
            errors.append(f"{where}: file {file_id} is listed twice; list each file once.")
            continue
        try:
            cleaned[file_id] = analysis_options_clean(entry)
        except ValidationError as exc:
            errors += [f"{where}.{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()]
    if errors:
        raise ValidationError({"files": errors})
    return cleaned
