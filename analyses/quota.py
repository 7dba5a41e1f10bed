"""Each team's storage quota (`uploads.team_quota_mb`; 0 = unlimited).

A team's usage is the size of its stored files, each stored file once: re-runs
share their files with the analysis they repeat. Uploads are checked twice: before
the body is read, from its declared length (`upload_quota_problem`, called by the
upload handler), and on the bytes received, just before the analysis is recorded
(`team_quota_check`, in analyses.services.create.analysis_create). Neither holds a lock,
so two uploads of one team racing each other may both pass and overshoot the
quota by at most one request (itself capped by `uploads.max_request_mb`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Max, Sum
from django.http import HttpRequest

from accounts.models import Team
from accounts.selectors import memberships_for_user
from analyses.models import AnalysisFile
from logplatform.upload_state import UploadProblem

API_PREFIX = "/api/"


@dataclass(frozen=True)
class TeamStorage:
    used_bytes: int
    quota_bytes: int  # 0: unlimited

    @property
    def free_bytes(self) -> int | None:
        return None if not self.quota_bytes else max(self.quota_bytes - self.used_bytes, 0)

    def as_dict(self) -> dict[str, int]:
        return {"used_bytes": self.used_bytes, "quota_bytes": self.quota_bytes}


class QuotaExceeded(ValueError):
    """An upload that would take a team over its storage quota (HTTP 413)."""

    status = 413
    code = "quota_exceeded"

    def __init__(self, message: str, *, details: dict[str, int]) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def team_storage_used(*, team_id: int) -> int:
    """Bytes of the team's stored files; a file shared by re-runs counts once."""
    per_file = (
        AnalysisFile.objects.filter(analysis__team_id=team_id)
        .order_by()
        .values("stored_path")
        .annotate(file_size=Max("size"))
    )
    return per_file.aggregate(total=Sum("file_size"))["total"] or 0


def team_storage(*, team: Team) -> TeamStorage:
    return TeamStorage(
        used_bytes=team_storage_used(team_id=team.pk), quota_bytes=settings.UPLOAD_TEAM_QUOTA_BYTES
    )


def human_bytes(n: int) -> str:
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def _over_quota(team: Team, storage: TeamStorage, adding_bytes: int) -> QuotaExceeded:
    return QuotaExceeded(
        f"This upload ({human_bytes(adding_bytes)}) would take {team.name} over its storage quota: "
        f"{human_bytes(storage.used_bytes)} of {human_bytes(storage.quota_bytes)} is used. "
        "Delete old analyses of the team to make room, or ask an administrator for a larger quota.",
        details={**storage.as_dict(), "upload_bytes": adding_bytes},
    )


def team_quota_check(*, team: Team, adding_bytes: int) -> None:
    """Raise QuotaExceeded when storing `adding_bytes` more would pass the quota."""
    storage = team_storage(team=team)
    if storage.free_bytes is not None and adding_bytes > storage.free_bytes:
        raise _over_quota(team, storage, adding_bytes)


def _teams_before_the_body(request: HttpRequest) -> list[Team]:
    """The teams this upload may go to, as far as is known before its body is read.

    A page uploads to the session's current team. The API names its team in the
    body, so before it only the user's teams with upload rights are known."""
    user: AbstractBaseUser | None = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    membership = getattr(request, "membership", None)
    if membership is not None and not request.path_info.startswith(API_PREFIX):
        return [membership.team]
    return [m.team for m in memberships_for_user(user=user) if m.can_upload]


def upload_quota_problem(*, request: HttpRequest, content_length: int) -> UploadProblem | None:
    """A 413 problem when a body of `content_length` bytes cannot fit in the quota of
    any team it may go to. The files' bytes are the body less its multipart headers
    (allowed for generously), so this does not refuse what the final check accepts."""
    if not settings.UPLOAD_TEAM_QUOTA_BYTES:
        return None
    headers = 64 * 1024 + 1024 * settings.DATA_UPLOAD_MAX_NUMBER_FILES
    file_bytes = max(content_length - headers, 0)
    refusals = []
    for team in _teams_before_the_body(request):
        try:
            team_quota_check(team=team, adding_bytes=file_bytes)
            return None
        except QuotaExceeded as exc:
            refusals.append(exc)
    if not refusals:
        return None
    first = refusals[0]
    return UploadProblem(
        name="(request)", message=first.message, status=first.status, code=first.code, details=first.details
    )
