"""The person's payment APIs: pending confirmations (confirm with the PIN,
decline) and the records. Thin: parse, call a service or selector, render
through an OutputSerializer (docs/subsystems/api-schema.md)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import ApplicationError
from common.http import client_ip
from common.schema import errors
from common.serializers import YuanField
from payments.enums import PaymentStatus
from payments.selectors import payment_record_answer, payment_record_get, payment_record_list, payments_pending
from payments.services.confirmation import payment_confirm, payment_decline
from wallet.apis import NOT_ACTIVATED, request_person




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
        return Response(PaymentOutputSerializer(payments_pending(request_person(request)), many=True).data)


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
        return Response(PaymentOutputSerializer(payment_record_list(request_person(request)), many=True).data)


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
        payment = payment_record_get(request_person(request), public_id)
        if payment is None:
            raise ApplicationError("PAYMENT_NOT_FOUND", "未找到该笔记录", status=404)
        payment.answer = payment_record_answer(payment)
        return Response(self.OutputSerializer(payment).data)
