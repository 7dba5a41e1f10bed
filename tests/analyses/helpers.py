from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from analyses.models import Analysis
from analyses.services.create import LocalFile, analysis_create


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
