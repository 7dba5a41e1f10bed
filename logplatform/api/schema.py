"""OpenAPI details drf-spectacular cannot infer: the token scheme, and the error
responses every operation can give (all in the shape of `errors.ErrorSerializer`)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny

from logplatform.api.errors import ErrorSerializer

ERROR_DESCRIPTIONS = {
    400: "Invalid input; `details` has the field errors.",
    401: "No credentials, or an invalid, revoked or expired token.",
    403: "Signed in, but your role in the team does not allow this.",
    404: "No such object, or it belongs to a team you are not in.",
    409: "The analysis has no results yet (or, for its lines, no stored lines).",
    413: "The upload is over the caps per file or per request (`too_large`), or over the team's "
    "storage quota (`quota_exceeded`).",
    415: "Unsupported request body type.",
    429: "Too many requests; wait `Retry-After` seconds.",
    503: "The Spark server is not reachable now; try again later.",
    504: "The query ran past its time limit and was stopped; narrow the filters.",
    507: "The server is low on disk space (`insufficient_storage`); try again later.",
}


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (`lpt_…`) from the API tokens page or "
            "POST /api/v1/auth/token/, sent as `Authorization: Bearer <token>`.",
        }


class ApiAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer: Any, direction: str) -> str:
        # Nested serializers are all called InputSerializer/OutputSerializer: name the
        # component after the view too (AnalysisListApi.OutputSerializer -> AnalysisListOutput).
        qualname = type(serializer).__qualname__
        if "." in qualname:
            outer, inner = qualname.split(".")[-2:]
            return outer.removesuffix("Api") + inner
        return super().get_serializer_name(serializer, direction)

    def _error_codes(self) -> set[int]:
        codes = set(getattr(self.view, "error_codes", ()))
        codes.add(429)
        if not any(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes.add(401)
        if self.method in ("POST", "PUT", "PATCH"):
            codes.update({400, 415})
        return codes

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in sorted(self._error_codes()):
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]),
                    str(code),
                    direction=direction,
                )
        return responses
