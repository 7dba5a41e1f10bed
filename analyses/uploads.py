"""Uploads stream to STORAGE_ROOT in chunks, under generated names.

`StreamingUploadHandler` replaces Django's memory/temp-file handlers: each file is
written to `STORAGE_ROOT/incoming/<uuid>.part` as it arrives, hashed on the way,
and capped per file and per request (Django has no total-size setting). Before the
first byte is read, the declared length is checked against the disk's reserve and
the team's quota (analyses.quota); the reserve is checked again as bytes arrive.
Nothing the client sends is used in a path. A service later moves the file into
place; `UploadCleanupMiddleware` deletes whatever a failed request left behind.

A stored path is read back only through `stored_path_resolve`, which refuses
anything that does not lead to a file under the storage root.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers, StopUpload
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.datastructures import MultiValueDict

from logplatform.upload_state import UploadProblem, UploadState, upload_state, upload_state_if_any

logger = logging.getLogger(__name__)

INCOMING = "incoming"
GZIP_MAGIC = b"\x1f\x8b"
ORIGINAL_NAME_MAX = 255


def storage_root() -> Path:
    return Path(settings.STORAGE_ROOT)


def incoming_dir() -> Path:
    path = storage_root() / INCOMING
    path.mkdir(parents=True, exist_ok=True)
    return path


def clean_original_name(name: str) -> str:
    """The user's file name for display only: no directories, no control characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in "\x00")
    name = name.strip().strip(".") or "unnamed"
    return name[:ORIGINAL_NAME_MAX]


class StoredPathError(ValueError):
    """A stored path that does not lead to a file under the storage root."""


def stored_path_resolve(relative: str) -> Path:
    """The absolute path of a stored file, or StoredPathError when the path (or a
    symlink on it) leads outside the storage root. Rows are written with generated
    names, but a database row is not proof: every reader of stored files asks here."""
    root = storage_root().resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        logger.warning("refused stored path %r: it leads outside the storage root", relative)
        raise StoredPathError(
            "A stored file's recorded path leads outside the storage root, so it is not read; "
            "ask an administrator to check the file's record."
        )
    return path


def low_on_space_problem(*, adding_bytes: int) -> UploadProblem | None:
    """A 507 problem when writing `adding_bytes` more would leave less free space on
    the storage disk than `uploads.disk_reserve_mb`."""
    reserve = settings.UPLOAD_DISK_RESERVE_BYTES
    free = disk_free_bytes()
    if free - adding_bytes >= reserve:
        return None
    return UploadProblem(
        name="(request)",
        message="The server is low on disk space and cannot take this upload now; try again later, "
        "or ask an administrator to free space on the server.",
        status=507,
        code="insufficient_storage",
    )


class StoredUpload(UploadedFile):
    """A file already on disk under STORAGE_ROOT/incoming, with its digest."""

    def __init__(self, path: Path, name: str, size: int, sha256: str, gzip: bool, content_type: str | None):
        super().__init__(file=None, name=name, content_type=content_type, size=size)
        self.path = path
        self.sha256 = sha256
        self.gzip = gzip

    def open(self, mode: str = "rb"):  # type: ignore[override]
        self.file = self.path.open(mode)
        return self

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


class StreamingUploadHandler(FileUploadHandler):
    chunk_size = 1024 * 1024

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.state = upload_state(request) if request is not None else UploadState()
        self.max_file = settings.UPLOAD_MAX_FILE_BYTES
        self.max_request = settings.UPLOAD_MAX_REQUEST_BYTES
        self.fh = None
        self.path: Path | None = None

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):  # noqa: ANN001
        problem = self._admission_problem(content_length or 0)
        if problem is not None:
            self.state.problems.append(problem)
            # Returning (POST, FILES) ends parsing here without reading the body;
            # raising would escape as a 500 from the CSRF middleware's POST access.
            return QueryDict(encoding=encoding), MultiValueDict()
        return None

    def _admission_problem(self, content_length: int) -> UploadProblem | None:
        """What the declared length alone rules out: the request cap, the disk's
        reserve, the team's quota (the file bytes are at most the body's length)."""
        if content_length > self.max_request + 1024 * 1024:
            return UploadProblem(
                name="(request)",
                message=f"The upload is {content_length / 1024**2:.0f} MB; at most "
                f"{self.max_request // 1024**2} MB can be sent in one request. "
                "Send the files in several analyses.",
            )
        if not content_length:
            return None
        from analyses.quota import upload_quota_problem  # it reads models; this module is imported early

        return low_on_space_problem(adding_bytes=content_length) or upload_quota_problem(
            request=self.request, content_length=content_length
        )

    def new_file(
        self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None
    ):  # noqa: ANN001
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        self.path = incoming_dir() / f"{uuid.uuid4().hex}.part"
        self.fh = self.path.open("wb")
        self.state.written.append(self.path)
        self.digest = hashlib.sha256()
        self.size = 0
        self.head = b""
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.size += len(raw_data)
        self.state.total_bytes += len(raw_data)
        if len(self.head) < 2:
            self.head += raw_data[:2]
        if self.size > self.max_file:
            self._abort(
                f"{clean_original_name(self.file_name)} is larger than the "
                f"{self.max_file // 1024**2} MB limit per file; split it or compress it with gzip."
            )
        if self.state.total_bytes > self.max_request:
            self._abort(
                f"The files add up to more than {self.max_request // 1024**2} MB, the limit per "
                "upload; send them in several analyses."
            )
        # Again as bytes arrive: other uploads and analyses fill the disk meanwhile.
        low = low_on_space_problem(adding_bytes=len(raw_data))
        if low is not None:
            self._abort(low.message, status=low.status, code=low.code)
        self.fh.write(raw_data)
        self.digest.update(raw_data)
        return None

    def _abort(self, message: str, *, status: int = 413, code: str = "too_large") -> None:
        self.state.problems.append(
            UploadProblem(name=clean_original_name(self.file_name), message=message, status=status, code=code)
        )
        self._discard()
        # Read (and drop) the rest of the body so the client gets our 413, not a reset.
        raise StopUpload(connection_reset=False)

    def _discard(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    def file_complete(self, file_size: int) -> StoredUpload:
        self.fh.close()
        self.fh = None
        return StoredUpload(
            path=self.path,
            name=clean_original_name(self.file_name),
            size=self.size,
            sha256=self.digest.hexdigest(),
            gzip=self.head[:2] == GZIP_MAGIC,
            content_type=self.content_type,
        )

    def upload_interrupted(self) -> None:
        self._discard()


def store_path_for(*, team_id: int, gzip: bool) -> Path:
    """A new generated path, relative to STORAGE_ROOT. Spark decompresses by the .gz suffix."""
    now = time.gmtime()
    suffix = ".log.gz" if gzip else ".log"
    return Path(f"team-{team_id}") / f"{now.tm_year:04d}-{now.tm_mon:02d}" / f"{uuid.uuid4().hex}{suffix}"


def move_into_storage(source: Path, relative: Path) -> Path:
    target = storage_root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    os.chmod(target, settings.FILE_UPLOAD_PERMISSIONS)
    return target


def copy_into_storage(source: Path, relative: Path) -> tuple[int, str]:
    """Copy a local file (the `analyze` command) into storage; returns size and sha256."""
    target = storage_root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(1024 * 1024):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def remove_stored(relative: str) -> None:
    try:
        stored_path_resolve(relative).unlink(missing_ok=True)
    except StoredPathError:
        pass  # not ours to delete (logged)


def clean_incoming(older_than_seconds: float) -> int:
    """Delete partial uploads that no request finished (a killed web process)."""
    removed = 0
    cutoff = time.time() - older_than_seconds
    for path in incoming_dir().glob("*.part"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    return removed


def disk_free_bytes() -> int:
    return shutil.disk_usage(incoming_dir()).free


class UploadCleanupMiddleware:
    """Whatever the upload handler wrote and no service claimed is deleted when
    the request ends, whatever happened (413, 400 for too many files, a crash)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            state = upload_state_if_any(request)
            if state is not None:
                for path in state.written:
                    if path.exists():
                        path.unlink(missing_ok=True)
