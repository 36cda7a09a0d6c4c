"""The person's code APIs: the current code (the code page's REST fallback)
and its QR / barcode image. Thin: parse, call a service or selector, render."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, OpenApiParameter
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from codes import rendering
from codes.services.issue import code_check_own, code_issue
from common.errors import ApplicationError
from common.schema import errors
from wallet.selectors import authorization_for_code_page, proxy_code_page_open


NOT_ACTIVATED = "NOT_ACTIVATED"


CODE_PAGE_REFUSALS = "NOT_ACTIVATED, VOUCHER_UNAVAILABLE, CHANNEL_NOT_AUTHORIZED"


PROXY_CODE_REFUSALS = {404: "FAMILY_NOT_FOUND (not one of your bound relatives)",
                       409: "FAMILY_NOT_ACTIVE (the binding is waiting for consent or cannot show the code)"}


PERSON_PARAM = OpenApiParameter(
    "person", str, description="A binding id (GET /api/family/relatives): the bound relative's own code instead of yours.")


def _code_owner(request) -> tuple:
    """(voucher, id its codes name) for the code page's REST fallback: the
    login's own voucher under its channel authorization, or with
    ``?person=<binding id>`` a bound relative's (family grant)."""
    person = request.query_params.get("person")
    if person is None:
        authorization = authorization_for_code_page(request.user.login)
        return authorization.voucher, authorization.pk
    voucher, owner_id, _ = proxy_code_page_open(request.user.login, person)
    return voucher, owner_id


class CodeCurrentApi(APIView):
    """REST fallback for clients without WebSocket: a fresh code now."""

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField(help_text="The code's content (QR and barcode).")
        step = serializers.IntegerField()
        expires_at = serializers.IntegerField(help_text="Unix seconds: when the page should show the next code.")
        valid_until = serializers.IntegerField(help_text="Unix seconds: after this the code is refused.")
        step_seconds = serializers.IntegerField()

    @extend_schema(operation_id="voucher_code_current", parameters=[PERSON_PARAM],
                   responses={200: OutputSerializer, **errors({403: CODE_PAGE_REFUSALS, **PROXY_CODE_REFUSALS})})
    def get(self, request):
        # Checked at every call (the session by the authentication class, the
        # authorization -- and the binding for ?person= -- here); the code is
        # bound to this login's authorization (or the family grant).
        voucher, owner_id = _code_owner(request)
        return Response(self.OutputSerializer(code_issue(voucher, authorization_id=owner_id).as_message()).data)


class CodeImageApi(APIView):
    """QR (``kind=qr``) or Code 128 barcode (``kind=barcode``) of one of the
    caller's own live codes, as SVG (default) or PNG: for the H5 page and for
    printing."""

    @extend_schema(
        operation_id="voucher_code_image",
        parameters=[
            OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=["qr", "barcode"]),
            OpenApiParameter("code", str, required=True, description="A live code of this login (GET /api/voucher/code)."),
            OpenApiParameter("format", str, enum=["svg", "png"], default="svg"),
            PERSON_PARAM,
        ],
        responses={(200, "image/svg+xml"): OpenApiTypes.BINARY, (200, "image/png"): OpenApiTypes.BINARY,
                   **errors({400: "VALIDATION_ERROR, EC_CODE_CORRUPTED, EC_CODE_UNKNOWN, EC_CODE_EXPIRED, "
                                  "EC_VOUCHER_UNAVAILABLE",
                             403: CODE_PAGE_REFUSALS, **PROXY_CODE_REFUSALS})},
    )
    def get(self, request, kind: str):
        _, owner_id = _code_owner(request)
        content = request.query_params.get("code", "")
        fmt = request.query_params.get("format", "svg")
        if fmt not in {"svg", "png"}:
            raise ApplicationError("VALIDATION_ERROR", "format 须为 svg 或 png")
        code_check_own(content, authorization_id=owner_id)
        render = {("qr", "svg"): rendering.qr_svg, ("qr", "png"): rendering.qr_png,
                  ("barcode", "svg"): rendering.barcode_svg, ("barcode", "png"): rendering.barcode_png}[(kind, fmt)]
        response = HttpResponse(render(content), content_type="image/svg+xml" if fmt == "svg" else "image/png")
        response["Cache-Control"] = "no-store"
        return response
