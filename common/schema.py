"""drf-spectacular glue: the OpenAPI schema is a contract (docs/subsystems/api-schema.md).

- Nested ``InputSerializer`` / ``OutputSerializer`` classes are named after
  their view (``RealNameApi.InputSerializer`` → ``RealNameApiInput``).
- Every error is the one shape, component ``Error`` (``ErrorSerializer``).
- ``AutoSchema`` adds to every operation the refusals that come from the
  layers in front of the view, so no view has to remember them:

  ===== ============================================================ ==========================
  400   ``MALFORMED_REQUEST`` (request guard: NUL in the URL, a bad     every operation
        ``Content-Length``; strict parser), ``VALIDATION_ERROR``
  413   ``REQUEST_TOO_LARGE`` (request guard / strict parser)           every operation
  415   ``UNSUPPORTED_MEDIA_TYPE`` (not JSON, charset not UTF-8)        operations with a body
  401   ``UNAUTHENTICATED`` (no, unknown, revoked or expired token)     views with authentication
  404   ``NOT_FOUND`` (a path parameter the URL pattern refuses)        paths with parameters
  ===== ============================================================ ==========================

- A view declares the rest with ``errors({404: "PAYMENT_NOT_FOUND", ...})``:
  the status codes its services can answer, each with the codes it may
  carry. ``tests/common/test_schema_conformance.py`` (schemathesis against a
  live server) fails on any status code or body the schema does not declare.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The one error shape of every REST API (docs/subsystems/errors.md)."""

    code = serializers.CharField(help_text="Stable machine-readable code, UPPER_SNAKE (e.g. PIN_LOCKED).")
    message = serializers.CharField(help_text="为用户准备的中文说明（下一步怎么做）。")
    detail = serializers.DictField(required=False, help_text="Optional structured context (fields, retry_after, ...).")


STATUS_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    423: "Locked",
    429: "Too many attempts",
    503: "Dependency unavailable",
}

_IMPLICIT = {
    400: "MALFORMED_REQUEST (the URL or body is not a well-formed request), VALIDATION_ERROR",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND (a path parameter the URL does not accept)",
    413: "REQUEST_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def _error_response(status: int, codes: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=f"{STATUS_TITLES.get(status, 'Error')}: {codes}")


def errors(codes_by_status: dict[int, str]) -> dict[int, OpenApiResponse]:
    """``responses={200: Out, **errors({404: "PAYMENT_NOT_FOUND", 409: "PAYMENT_NOT_PENDING"})}``:
    error responses in the one shape, each described by the codes it carries."""
    return {status: _error_response(status, codes) for status, codes in codes_by_status.items()}


class AutoSchema(BaseAutoSchema):
    def get_serializer_name(self, serializer, direction):
        qualname = type(serializer).__qualname__
        if "." in qualname:
            name = qualname.replace(".", "")
            return name[: -len("Serializer")] if name.endswith("Serializer") else name
        return super().get_serializer_name(serializer, direction)

    def _implicit_errors(self) -> dict[int, str]:
        implicit = {400: _IMPLICIT[400], 413: _IMPLICIT[413]}
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            implicit[415] = _IMPLICIT[415]
        if self.view.get_authenticators():
            implicit[401] = _IMPLICIT[401]
        if "{" in self.path:
            implicit[404] = _IMPLICIT[404]
        return implicit

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status, codes in self._implicit_errors().items():
            key = str(status)
            if key in responses:
                described = responses[key].get("description", "")
                if codes.split(" ")[0] not in described:
                    responses[key]["description"] = f"{described}, {codes}" if described else codes
            else:
                responses[key] = self._get_response_for_code(_error_response(status, codes), key, direction=direction)
        return dict(sorted(responses.items()))


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Token from POST /api/auth/login"}
