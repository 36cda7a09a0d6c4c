"""The person's voucher APIs (authorizations, diagnosis)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common import idnumber
from common.envelope import json_ready
from common.errors import ApplicationError
from common.http import client_ip

from .apis_activation import AuthorizationOutputSerializer
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

    @extend_schema(operation_id="voucher_code_current", responses={200: dict})
    def get(self, request):
        from .selectors import authorization_for_code_page
        from .services.codes import code_issue

        # Checked at every call (the session by the authentication class, the
        # authorization here); the code is bound to this login's authorization.
        authorization = authorization_for_code_page(request.user.login)
        return Response(code_issue(authorization.voucher, authorization_id=authorization.pk).as_message())


class CodeImageApi(APIView):
    """QR (``kind=qr``) or Code 128 barcode (``kind=barcode``) of one of the
    caller's own live codes, as SVG (default) or PNG: for the H5 page and for
    printing."""

    @extend_schema(operation_id="voucher_code_image", responses={(200, "image/svg+xml"): bytes, (200, "image/png"): bytes})
    def get(self, request, kind: str):
        from django.http import HttpResponse

        from . import rendering
        from .selectors import authorization_for_code_page
        from .services.codes import code_check

        authorization = authorization_for_code_page(request.user.login)
        content = request.query_params.get("code", "")
        fmt = request.query_params.get("format", "svg")
        if fmt not in {"svg", "png"}:
            raise ApplicationError("VALIDATION_ERROR", "format 须为 svg 或 png")
        _, parsed = code_check(content)
        if parsed.authorization_id != authorization.pk:  # only codes issued under this login's own authorization
            raise ApplicationError("EC_CODE_UNKNOWN", "无法识别的医保码")
        render = {("qr", "svg"): rendering.qr_svg, ("qr", "png"): rendering.qr_png,
                  ("barcode", "svg"): rendering.barcode_svg, ("barcode", "png"): rendering.barcode_png}[(kind, fmt)]
        response = HttpResponse(render(content), content_type="image/svg+xml" if fmt == "svg" else "image/png")
        response["Cache-Control"] = "no-store"
        return response


def _payment_body(payment, *, detail: bool = False) -> dict:
    from common.money import fen_to_yuan

    body = {
        "id": payment.public_id,
        "status": payment.status,
        "status_name": payment.get_status_display(),
        "institution": payment.institution.name,
        "fixmedins_code": payment.institution.fixmedins_code,
        "created_at": payment.created_at,
        "settled_at": payment.settled_at,
        "reversed_at": payment.reversed_at,
        "medfee_sumamt": fen_to_yuan(payment.medfee_fen),
        "fund_pay_sumamt": fen_to_yuan(payment.fund_fen),
        "acct_pay": fen_to_yuan(payment.acct_fen),
        "acct_mulaid_pay": fen_to_yuan(payment.mulaid_fen),
        "psn_cash_pay": fen_to_yuan(payment.cash_fen),
        "confirmation_required": payment.confirmation_required,
        "confirm_deadline": payment.confirm_deadline,
    }
    if detail:
        # The core's output keeps its numbers as exact Decimal; the app API
        # gives yuan as plain decimal strings, as every other amount here.
        output = json_ready(payment.core_output or {})
        if "detlcutinfo" in output:  # per item; setldetail is then per fund
            items, funds = output.get("detlcutinfo") or [], output.get("setldetail") or []
        else:  # an older core: setldetail held the items
            items, funds = output.get("setldetail") or [], []
        body.update({
            "setl_id": payment.setl_id,
            "setlinfo": _masked_setlinfo(output.get("setlinfo", {})),
            "items": items,
            "funds": funds,
            "explanation": output.get("explanation", []),
            "err_msg": payment.err_msg,
        })
    return body


def _masked_setlinfo(setlinfo: dict) -> dict:
    """ID numbers are masked in every response, the person's own included."""
    if setlinfo.get("certno"):
        setlinfo = {**setlinfo, "certno": idnumber.mask(str(setlinfo["certno"]))}
    return setlinfo


class PaymentPendingApi(APIView):
    """Payments waiting for this payer's PIN (the polling fallback of the
    ``payment.confirm`` push)."""

    @extend_schema(responses={200: dict})
    def get(self, request):
        from .services.payments import payments_pending

        return Response([_payment_body(p) for p in payments_pending(_person(request))])


class PaymentConfirmApi(APIView):
    class InputSerializer(serializers.Serializer):
        pin = serializers.CharField(min_length=6, max_length=6, trim_whitespace=False)

    @extend_schema(request=InputSerializer, responses={200: dict})
    def post(self, request, public_id: str):
        from .services.payments import payment_confirm

        data = self.InputSerializer(data=request.data)
        if not data.is_valid():
            raise ApplicationError("PIN_FORMAT", "支付密码须为6位数字")
        payment = payment_confirm(login=request.user.login, public_id=public_id, pin=data.validated_data["pin"],
                                  ip=client_ip(request))
        return Response(_payment_body(payment))


class PaymentDeclineApi(APIView):
    @extend_schema(request=None, responses={200: dict})
    def post(self, request, public_id: str):
        from .services.payments import payment_decline

        return Response(_payment_body(payment_decline(login=request.user.login, public_id=public_id,
                                                      ip=client_ip(request))))


class RecordListApi(APIView):
    """The person's payment records, newest first (settled, reversed, failed...)."""

    @extend_schema(operation_id="records_list", responses={200: dict})
    def get(self, request):
        from .models import Payment

        rows = (Payment.objects.select_related("institution").filter(voucher__person=_person(request))
                .exclude(status__in=["awaiting_confirmation", "confirmed", "submitted"]).order_by("-created_at")[:100])
        return Response([_payment_body(p) for p in rows])


class RecordDetailApi(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request, public_id: str):
        from .models import Payment

        payment = (Payment.objects.select_related("institution")
                   .filter(voucher__person=_person(request), public_id=public_id).first())
        if payment is None:
            raise ApplicationError("PAYMENT_NOT_FOUND", "未找到该笔记录", status=404)
        return Response(_payment_body(payment, detail=True))


class BalanceApi(APIView):
    """Personal-account balance from the core, cached with its timestamp."""

    @extend_schema(responses={200: dict})
    def get(self, request):
        from common.money import fen_to_yuan

        from .services.balance import balance_get

        result = balance_get(_person(request), refresh=request.query_params.get("refresh") == "1")
        return Response({"balance": None if result["balance_fen"] is None else fen_to_yuan(result["balance_fen"]),
                         "as_of": result["as_of"], "stale": result["stale"]})


class NotificationListApi(APIView):
    """Money that arrived in the personal account (pulled from the core),
    newest first — the list behind the ``account.credited`` push."""

    @extend_schema(responses={200: dict})
    def get(self, request):
        from common.money import fen_to_yuan
        from settlement.models import AccountCredit

        rows = AccountCredit.objects.filter(psn_no=_person(request).psn_no).order_by("-credited_at")[:50]
        return Response([{"kind": "account.credited", "title": "个人账户到账",
                          "message": f"个人账户到账 {fen_to_yuan(c.amount_fen)} 元",
                          "amount": fen_to_yuan(c.amount_fen), "at": c.credited_at} for c in rows])
