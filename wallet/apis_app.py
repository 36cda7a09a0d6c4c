"""The person's voucher APIs (authorizations, diagnosis)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.apis import AuthorizationOutputSerializer, client_ip
from common.errors import ApplicationError

from .selectors import authorization_list, voucher_diagnose
from .services.vouchers import authorization_revoke


def _person(request):
    person = request.user.person
    if person is None:
        raise ApplicationError("NOT_ACTIVATED", "您尚未激活医保电子凭证", status=404)
    return person


class AuthorizationListApi(APIView):
    @extend_schema(responses=AuthorizationOutputSerializer(many=True))
    def get(self, request):
        items = authorization_list(_person(request))
        return Response(AuthorizationOutputSerializer(items, many=True, context={"login": request.user.login}).data)


class AuthorizationRevokeApi(APIView):
    @extend_schema(request=None, responses=AuthorizationOutputSerializer)
    def post(self, request, authorization_id: int):
        login = request.user.login
        authorization = authorization_revoke(person=_person(request), authorization_id=authorization_id,
                                             actor=f"{login.channel}:{login.openid}", channel=login.channel,
                                             ip=client_ip(request))
        return Response(AuthorizationOutputSerializer(authorization, context={"login": login}).data)


class DiagnosisApi(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request):
        return Response(voucher_diagnose(request.user.login))


class CodeCurrentApi(APIView):
    """REST fallback for clients without WebSocket: a fresh code now."""

    @extend_schema(responses={200: dict})
    def get(self, request):
        from .selectors import voucher_for_code_page
        from .services.codes import code_issue

        voucher = voucher_for_code_page(request.user.login)
        return Response(code_issue(voucher).as_message())


class CodeImageApi(APIView):
    """QR (``kind=qr``) or Code 128 barcode (``kind=barcode``) of one of the
    caller's own live codes, as SVG (default) or PNG: for the H5 page and for
    printing."""

    @extend_schema(operation_id="voucher_code_image", responses={(200, "image/svg+xml"): bytes, (200, "image/png"): bytes})
    def get(self, request, kind: str):
        from django.http import HttpResponse

        from . import rendering
        from .selectors import voucher_for_code_page
        from .services.codes import code_check

        voucher = voucher_for_code_page(request.user.login)
        content = request.query_params.get("code", "")
        fmt = request.query_params.get("format", "svg")
        if fmt not in {"svg", "png"}:
            raise ApplicationError("VALIDATION_ERROR", "format 须为 svg 或 png")
        checked, _ = code_check(content)
        if checked.pk != voucher.pk:
            raise ApplicationError("EC_CODE_UNKNOWN", "无法识别的医保码")
        render = {("qr", "svg"): rendering.qr_svg, ("qr", "png"): rendering.qr_png,
                  ("barcode", "svg"): rendering.barcode_svg, ("barcode", "png"): rendering.barcode_png}[(kind, fmt)]
        response = HttpResponse(render(content), content_type="image/svg+xml" if fmt == "svg" else "image/png")
        response["Cache-Control"] = "no-store"
        return response
