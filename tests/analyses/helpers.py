from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from analyses.models import Analysis, AnalysisResult, Status
from analyses.services.create import LocalFile, analysis_create
from tests.logdata import reference


def make_analysis(
    team,
    user,
    tmp_path: Path,
    text: str = "timestamp,log_level,message\n2024-01-01 00:00:00,ERROR,boom\n",
    name: str = "a.csv",
) -> Analysis:
    path = tmp_path / name
    path.write_text(text)
    return analysis_create(team=team, user=user, files=[LocalFile(path=path, name=name)], enqueue=False)


def upload(name: str, text: str | bytes) -> SimpleUploadedFile:
    data = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/plain")


def store_result(analysis: Analysis, events) -> Analysis:
    """Stored results computed in plain Python (tests.logdata.reference), for tests of
    the API layer that need a finished analysis but not Spark's numbers."""
    document = reference(events, bucket_seconds=3600)
    document["files"] = [
        {
            "file_id": f.pk,
            "name": f.original_name,
            "format": "csv",
            "rows": len(events),
            "unparsed_lines": 0,
            "error": None,
        }
        for f in analysis.files.all()
    ]
    document["trend_bucket_seconds"] = 3600
    document["stats"] = {}
    AnalysisResult.objects.create(analysis=analysis, document=document)
    summary = document["summary"]
    Analysis.objects.filter(pk=analysis.pk).update(
        status=Status.SUCCEEDED,
        stage="Done",
        progress=100,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        total_rows=summary["total_logs"],
        error_rows=summary["error_count"],
        error_rate=summary["error_rate"],
        unparsed_lines=0,
    )
    analysis.refresh_from_db()
    return analysis
