"""drf-spectacular glue: nested ``InputSerializer`` / ``OutputSerializer``
classes are named after their view (``RealNameApi.InputSerializer`` →
``RealNameApiInput``), and the app's bearer token is described."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema


class AutoSchema(BaseAutoSchema):
    def get_serializer_name(self, serializer, direction):
        qualname = type(serializer).__qualname__
        if "." in qualname:
            name = qualname.replace(".", "")
            return name[: -len("Serializer")] if name.endswith("Serializer") else name
        return super().get_serializer_name(serializer, direction)


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Token from POST /api/auth/login"}
