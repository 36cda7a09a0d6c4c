"""The person's voucher, payment and record APIs. Thin: parse, call a
service or selector, render through an OutputSerializer (the schema is the
contract: docs/subsystems/api-schema.md)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import ApplicationError
from common.http import client_ip
from common.schema import errors
from common.serializers import YuanField
from settlement.selectors import account_credit_notifications

from . import rendering
from .apis_activation import AuthorizationOutputSerializer
from .enums import PaymentStatus
from .hooks import hook
from .selectors import (
    authorization_for_code_page,
    authorization_list,
    payment_record_answer,
    payment_record_get,
    payment_record_list,
    payments_pending,
    proxy_code_page_open,
    voucher_diagnose,
)
from .services.balance import balance_get
from .services.codes import code_check_own, code_issue
from .services.payments.confirmation import payment_confirm, payment_decline
from .services.vouchers import authorization_revoke


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


def _person(request):
    person = request.user.person
    if person is None:
        raise ApplicationError("NOT_ACTIVATED", "您尚未激活医保电子凭证", status=404)
    return person


class AuthorizationListApi(APIView):
    @extend_schema(responses={200: AuthorizationOutputSerializer(many=True), **errors({404: NOT_ACTIVATED})})
    def get(self, request):
        items = authorization_list(_person(request))
        return Response(AuthorizationOutputSerializer(items, many=True, context={"login": request.user.login}).data)


class AuthorizationRevokeApi(APIView):
    @extend_schema(request=None, responses={
        200: AuthorizationOutputSerializer, **errors({404: "NOT_ACTIVATED, AUTHORIZATION_NOT_FOUND"})})
    def post(self, request, authorization_id: int):
        login = request.user.login
        authorization = authorization_revoke(person=_person(request), authorization_id=authorization_id,
                                             actor=f"{login.channel}:{login.openid}", channel=login.channel,
                                             ip=client_ip(request))
        return Response(AuthorizationOutputSerializer(authorization, context={"login": login}).data)


class DiagnosisCheckOutputSerializer(serializers.Serializer):
    key = serializers.CharField()
    ok = serializers.BooleanField(allow_null=True, help_text="null: could not be checked now (core unreachable).")
    title = serializers.CharField()
    message = serializers.CharField()
    advice = serializers.CharField(allow_blank=True)


class DiagnosisApi(APIView):
    """Why is e-voucher payment unavailable? The checks in the order they matter."""

    class OutputSerializer(serializers.Serializer):
        available = serializers.BooleanField()
        checks = DiagnosisCheckOutputSerializer(many=True)

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        return Response(self.OutputSerializer(voucher_diagnose(request.user.login)).data)


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


class PaymentOutputSerializer(serializers.Serializer):
    """One payment as the payer sees it (component ``PaymentOutput``):
    pending, or a record. Amounts are yuan strings."""

    id = serializers.CharField(source="public_id")
    status = serializers.ChoiceField(choices=PaymentStatus.choices)
    status_name = serializers.CharField(source="get_status_display")
    institution = serializers.CharField(source="institution.name")
    fixmedins_code = serializers.CharField(source="institution.fixmedins_code")
    created_at = serializers.DateTimeField()
    settled_at = serializers.DateTimeField(allow_null=True)
    reversed_at = serializers.DateTimeField(allow_null=True)
    medfee_sumamt = YuanField(source="medfee_fen")
    fund_pay_sumamt = YuanField(source="fund_fen")
    acct_pay = YuanField(source="acct_fen")
    acct_mulaid_pay = YuanField(source="mulaid_fen")
    psn_cash_pay = YuanField(source="cash_fen")
    confirmation_required = serializers.BooleanField()
    confirm_deadline = serializers.DateTimeField(allow_null=True)


PAYER_REFUSALS = {404: "NOT_ACTIVATED, PAYMENT_NOT_FOUND", 409: "PAYMENT_NOT_PENDING, PAYMENT_EXPIRED"}


class PaymentPendingApi(APIView):
    """Payments waiting for this payer's PIN (the polling fallback of the
    ``payment.confirm`` push)."""

    @extend_schema(responses={200: PaymentOutputSerializer(many=True), **errors({404: NOT_ACTIVATED})})
    def get(self, request):
        return Response(PaymentOutputSerializer(payments_pending(_person(request)), many=True).data)


class PaymentConfirmApi(APIView):
    class InputSerializer(serializers.Serializer):
        pin = serializers.CharField(min_length=6, max_length=6, trim_whitespace=False)

    @extend_schema(request=InputSerializer, responses={
        200: PaymentOutputSerializer,
        **errors({400: "PIN_FORMAT, PIN_INCORRECT (detail.tries_left)", **PAYER_REFUSALS,
                  423: "PIN_LOCKED (detail.locked_until, detail.support_hotline)"}),
    })
    def post(self, request, public_id: str):
        data = self.InputSerializer(data=request.data)
        if not data.is_valid():
            raise ApplicationError("PIN_FORMAT", "支付密码须为6位数字")
        payment = payment_confirm(login=request.user.login, public_id=public_id, pin=data.validated_data["pin"],
                                  ip=client_ip(request))
        return Response(PaymentOutputSerializer(payment).data)


class PaymentDeclineApi(APIView):
    @extend_schema(request=None, responses={200: PaymentOutputSerializer, **errors(PAYER_REFUSALS)})
    def post(self, request, public_id: str):
        payment = payment_decline(login=request.user.login, public_id=public_id, ip=client_ip(request))
        return Response(PaymentOutputSerializer(payment).data)


class RecordListApi(APIView):
    """The person's payment records, newest first (settled, reversed, failed...)."""

    @extend_schema(operation_id="records_list",
                   responses={200: PaymentOutputSerializer(many=True), **errors({404: NOT_ACTIVATED})})
    def get(self, request):
        return Response(PaymentOutputSerializer(payment_record_list(_person(request)), many=True).data)


@extend_schema_field({"type": "array", "items": {"type": "object", "additionalProperties": {}}})
class _Rows(serializers.ListField):
    child = serializers.DictField()


class RecordFilingSerializer(serializers.Serializer):
    trt_dcla_detl_sn = serializers.CharField(allow_blank=True, help_text="Filing number; \"\": emergency or unfiled.")
    filing_name = serializers.CharField(help_text="异地长期居住, …, 急诊抢救, 异地就医未备案.")
    filing_kind = serializers.ChoiceField(choices=["long_term", "referral", "emergency", "temporary_other", "unfiled"])
    mdtrtarea_admvs = serializers.CharField(help_text="The treatment region (admdvs).")


class RecordDetailApi(APIView):
    """One record with what the core answered (ID numbers masked)."""

    class OutputSerializer(PaymentOutputSerializer):
        setl_id = serializers.CharField(allow_blank=True)
        err_msg = serializers.CharField(allow_blank=True)
        setlinfo = serializers.DictField(source="answer.setlinfo", help_text="The core's setlinfo node, certno masked.")
        items = _Rows(source="answer.items", help_text="Per line item (detlcutinfo).")
        funds = _Rows(source="answer.funds", help_text="Per fund (setldetail); empty from an older core.")
        explanation = serializers.ListField(child=serializers.CharField(), source="answer.explanation")
        filing = RecordFilingSerializer(source="answer.filing", allow_null=True,
                                        help_text="Cross-province: the filing the bill was settled under (null: local).")

    @extend_schema(responses={200: OutputSerializer, **errors({404: "NOT_ACTIVATED, PAYMENT_NOT_FOUND"})})
    def get(self, request, public_id: str):
        payment = payment_record_get(_person(request), public_id)
        if payment is None:
            raise ApplicationError("PAYMENT_NOT_FOUND", "未找到该笔记录", status=404)
        payment.answer = payment_record_answer(payment)
        return Response(self.OutputSerializer(payment).data)


class BalanceApi(APIView):
    """Personal-account balance from the core, cached with its timestamp."""

    class OutputSerializer(serializers.Serializer):
        balance = YuanField(source="balance_fen", allow_null=True, help_text="null: the core was never reached.")
        as_of = serializers.DateTimeField(allow_null=True)
        stale = serializers.BooleanField(help_text="The cached value: the core is unreachable now.")

    @extend_schema(parameters=[OpenApiParameter("refresh", str, enum=["1"], description="1: ask the core now.")],
                   responses={200: OutputSerializer, **errors({404: NOT_ACTIVATED})})
    def get(self, request):
        result = balance_get(_person(request), refresh=request.query_params.get("refresh") == "1")
        return Response(self.OutputSerializer(result).data)


class NotificationListApi(APIView):
    """Money that arrived in the personal account (pulled from the core),
    newest first — the list behind the ``account.credited`` push."""

    class OutputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=["account.credited", "mulaid.used"])
        title = serializers.CharField()
        message = serializers.CharField()
        amount = serializers.CharField(help_text="Yuan, two decimals.")
        at = serializers.DateTimeField()
        relative_name = serializers.CharField(required=False, help_text="mulaid.used: the relative who used it.")
        institution = serializers.CharField(required=False, help_text="mulaid.used: where.")
        remaining_annual_cap = serializers.CharField(required=False, allow_null=True,
                                                     help_text="mulaid.used: yuan left of the annual cap (null: none).")

    @extend_schema(responses={200: OutputSerializer(many=True), **errors({404: NOT_ACTIVATED})})
    def get(self, request):
        person = _person(request)
        items = account_credit_notifications(person.psn_no)
        extra = hook("notifications_extra")  # family: mutual-aid uses, as the payer (wallet/hooks.py)
        if extra:
            items = sorted(items + extra(person), key=lambda n: n["at"], reverse=True)
        return Response(self.OutputSerializer(items, many=True).data)
