"""One JSON error shape for every API answer that is not a success:

    {"error": {"status": 404, "code": "not_found", "message": "No such analysis", "details": {}}}

`exception_handler` is DRF's EXCEPTION_HANDLER; `ApiNotFound` answers paths under
/api/ that match no endpoint, so even a typo gets this shape rather than HTML.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadhandler import StopUpload
from django.http import Http404
from django.urls import Resolver404, resolve
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback
from rest_framework.views import exception_handler as drf_exception_handler

from logplatform.upload_state import upload_state

logger = logging.getLogger(__name__)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The upload is too large."
    default_code = "too_large"


class TooManyFiles(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Too many files in one upload."
    default_code = "too_many_files"


class NotReady(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This analysis has no results yet."
    default_code = "not_ready"


class ApiError(exceptions.APIException):
    """An error with structured details, e.g. the problems of an upload."""

    def __init__(self, *, status_code: int, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.details = details


def error_body(status_code: int, code: str, message: str, details: dict[str, Any] | None = None) -> dict:
    return {"error": {"status": status_code, "code": code, "message": message, "details": details or {}}}


def _plain(value: Any) -> Any:
    """ErrorDetail trees as plain JSON (lists, dicts with string keys, strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def _first_messages(details: dict[str, Any], limit: int = 3) -> list[str]:
    out: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if len(out) >= limit:
            return
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list):
            for v in value:
                walk(prefix, v)
        else:
            out.append(f"{prefix}: {value}" if prefix and prefix != "non_field_errors" else str(value))

    walk("", details)
    return out


def _translate(exc: Exception, context: dict[str, Any]) -> Exception:
    """Django's own exceptions that can reach an API view, as DRF exceptions."""
    request = context.get("request")
    if isinstance(exc, Http404):
        return exceptions.NotFound(*exc.args)
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, StopUpload | RequestDataTooBig):
        problems = upload_state(request._request).problems if request is not None else []
        if problems:
            return ApiError(
                status_code=problems[0].status,
                code="too_large",
                message=" ".join(p.message for p in problems),
                details={"files": [{"name": p.name, "message": p.message} for p in problems]},
            )
        return PayloadTooLarge("The request body is larger than this server accepts.")
    if isinstance(exc, TooManyFilesSent):
        from django.conf import settings

        return TooManyFiles(
            f"At most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files can be sent in one upload; "
            "send the others in another analysis."
        )
    if isinstance(exc, TooManyFieldsSent):
        return exceptions.ParseError("The request has too many form fields.")
    if isinstance(exc, SuspiciousOperation):
        return exceptions.ParseError("The request could not be read.")
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    return exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    exc = _translate(exc, context)
    response = drf_exception_handler(exc, context)
    if response is None:
        # A bug, not the client's fault: log it, still answer in the API's shape.
        view = context.get("view")
        logger.exception("unhandled error in %s", type(view).__name__ if view else "API", exc_info=exc)
        set_rollback()
        return Response(
            error_body(500, "server_error", "Something went wrong on our side; the error was logged."),
            status=500,
        )
    assert isinstance(exc, exceptions.APIException)
    details: dict[str, Any] = {}
    if isinstance(exc, exceptions.ValidationError):
        code = "invalid"
        details = _plain(exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail})
        messages = _first_messages(details)
        message = "; ".join(messages) or "The request is invalid."
    else:
        detail = exc.detail
        code = getattr(detail, "code", None) or exc.default_code
        message = str(detail if not isinstance(detail, list | dict) else exc.default_detail)
        details = getattr(exc, "details", {})
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            message = f"Too many requests; try again in {int(exc.wait) + 1} seconds."
            details = {"retry_after": int(exc.wait) + 1}
            response["Retry-After"] = str(int(exc.wait) + 1)
        elif isinstance(exc, exceptions.MethodNotAllowed):
            view = context.get("view")
            if view is not None:
                details = {"allowed": view.allowed_methods}
    response.data = error_body(response.status_code, str(code), message, details)
    return response


class ApiNotFound(APIView):
    """Any path under /api/ without an endpoint: 404 in the API's shape, for every method."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    schema = None  # not an operation

    def _not_found(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        path = request.path
        hint = ""
        if not path.endswith("/"):
            try:
                resolve(path + "/")
                hint = f" Did you mean {path}/ (with a trailing slash)?"
            except Resolver404:
                pass
        raise exceptions.NotFound(f"There is no API endpoint at {path}.{hint} See /api/docs/.")

    get = post = put = patch = delete = head = options = _not_found


class ErrorDetailSerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="The HTTP status, repeated.")
    code = serializers.CharField(
        help_text="A stable, machine-readable code, e.g. not_found, invalid, throttled."
    )
    message = serializers.CharField(help_text="What went wrong and what to do, for a person.")
    details = serializers.DictField(
        help_text="Structured details: field errors for `invalid`, `retry_after` for `throttled`, "
        "the files over the cap for `too_large`."
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
