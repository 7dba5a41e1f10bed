"""What the upload handler found wrong with a request's body, kept on the request.

The streaming upload handler (analyses.uploads) fills it while Django parses the
body; whoever answers the request reads it: the upload page and API view, the
API's error handler (logplatform.api.errors) when parsing ended in an exception,
and the clean-up middleware. It lives here, below every app, so the error handler
needs no app to read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.http import HttpRequest

_ATTR = "_logplatform_uploads"


@dataclass
class UploadProblem:
    name: str
    message: str
    status: int = 413
    code: str = "too_large"
    details: dict = field(default_factory=dict)


@dataclass
class UploadState:
    """Per-request bookkeeping shared by the handler, the view and the middleware."""

    total_bytes: int = 0
    written: list[Path] = field(default_factory=list)
    problems: list[UploadProblem] = field(default_factory=list)


def upload_state(request: HttpRequest) -> UploadState:
    state = getattr(request, _ATTR, None)
    if state is None:
        state = UploadState()
        setattr(request, _ATTR, state)
    return state


def upload_state_if_any(request: HttpRequest) -> UploadState | None:
    """The state, when an upload handler made one for this request."""
    return getattr(request, _ATTR, None)
