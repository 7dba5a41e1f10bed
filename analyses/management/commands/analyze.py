"""python manage.py analyze PATH [PATH ...] --team SLUG — the batch path.

Goes through the same services and worker as an upload. With --wait, if no
qcluster takes the analysis within a few seconds it runs in this process (the
atomic claim makes that safe even if a worker turns up meanwhile).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.services import team_get_or_create
from analyses.alert_log import alert_log_line, alerts_append_log
from analyses.models import Analysis, Status
from analyses.options import analysis_options_clean
from analyses.reports import reports_write_dir
from analyses.selectors import analysis_document, result_document
from analyses.services.create import LocalFile, analysis_create
from analyses.uploads import clean_original_name
from spark_client import FORMATS

IN_PROCESS_AFTER_SECONDS = 5.0


def expand(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            found.append(path)
        else:
            raise CommandError(f"{raw}: no such file or directory")
    if not found:
        raise CommandError("No files to analyse (the directories are empty).")
    return found


class Command(BaseCommand):
    help = "Analyse log files or directories for a team, through the same pipeline as an upload."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--team", required=True, help="team slug; created if it does not exist")
        parser.add_argument("--name", default="")
        # Checked by analysis_options_clean, in the words of the upload page and the API.
        parser.add_argument("--format", default=None, help=f"one of {', '.join(FORMATS)}; default: detected")
        parser.add_argument("--assume-year", default=None, help="year for year-less timestamps (syslog)")
        parser.add_argument("--wait", action="store_true", help="wait until the analysis ends")
        parser.add_argument("--json", action="store_true", help="print the result document on stdout")
        parser.add_argument("--timeout", type=float, default=3600.0, help="seconds --wait waits at most")
        parser.add_argument(
            "--reports-dir",
            type=Path,
            default=None,
            help="also write DIR/csv/*.csv, DIR/json/*.json and append DIR/alerts.log (implies --wait)",
        )

    def handle(self, *args, **opts) -> None:
        out = sys.stderr if opts["json"] else self.stdout
        files = expand(opts["paths"])
        team, created = team_get_or_create(slug=opts["team"])
        if created:
            out.write(f"Notice: team {team.slug!r} did not exist and was created.\n")
        try:
            options = analysis_options_clean({"format": opts["format"], "assume_year": opts["assume_year"]})
        except ValidationError as exc:
            raise CommandError(
                " ".join(f"--{k.replace('_', '-')}: {' '.join(v)}" for k, v in exc.message_dict.items())
            ) from exc
        try:
            with transaction.atomic():
                analysis = analysis_create(
                    team=team,
                    user=None,
                    files=[LocalFile(path=p, name=clean_original_name(p.name)) for p in files],
                    name=opts["name"],
                    options=options,
                )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        out.write(f"Analysis #{analysis.pk} queued with {len(files)} file(s).\n")
        if opts["wait"] or opts["json"] or opts["reports_dir"]:
            analysis = self._wait(analysis.pk, opts["timeout"], out)
            if opts["reports_dir"] and analysis.status == Status.SUCCEEDED:
                self._write_reports(analysis, opts["reports_dir"], out)
            if opts["json"]:
                self.stdout.write(json.dumps(result_document(analysis=analysis), indent=2))
            else:
                out.write(f"Analysis #{analysis.pk} {analysis.status}.\n")
                if analysis.error:
                    out.write(f"{analysis.error}\n")
            if analysis.status != Status.SUCCEEDED:
                raise CommandError(f"Analysis #{analysis.pk} {analysis.status}: {analysis.error}")

    def _write_reports(self, analysis: Analysis, directory: Path, out) -> None:  # noqa: ANN001
        document = analysis_document(analysis=analysis)
        written = reports_write_dir(document, directory)
        lines = [alert_log_line(a, analysis) for a in analysis.alerts.order_by("pk")]
        alerts_append_log(lines, directory / "alerts.log")
        out.write(f"Wrote {len(written)} report files and {len(lines)} alert line(s) to {directory}.\n")

    def _wait(self, analysis_id: int, timeout: float, out) -> Analysis:  # noqa: ANN001
        start = time.monotonic()
        ran_here = False
        while True:
            analysis = Analysis.objects.get(pk=analysis_id)
            if analysis.is_terminal:
                return analysis
            waited = time.monotonic() - start
            if waited > timeout:
                raise CommandError(f"Analysis #{analysis_id} still {analysis.status} after {timeout:.0f}s.")
            if analysis.status == Status.QUEUED and waited > IN_PROCESS_AFTER_SECONDS and not ran_here:
                out.write("No worker took the analysis; running it in this process.\n")
                # Imported here: only this fallback needs the engine (pyspark).
                from analyses.services.execute import analysis_execute

                analysis_execute(analysis_id=analysis_id)
                ran_here = True
                continue
            time.sleep(0.5)
