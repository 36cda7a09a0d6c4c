"""Mutual-aid APIs (家庭共济), under /api/family/. Thin: parse, call
family/services/mutual_aid.py or family/selectors_mutual_aid.py, render
through an OutputSerializer; errors in the one shape. Rules:
docs/subsystems/family.md ("Mutual aid").

Amounts are yuan strings (or null for "no cap"). Ids not the caller's are
404 (FAMILY_NOT_FOUND for a binding, MULAID_NOT_FOUND for an authorisation,
PAYMENT_NOT_FOUND for a payment), as if they did not exist."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import ApplicationError
from common.http import client_ip
from common.money import fen_to_yuan
from common.schema import errors
from common.serializers import WholeNumberField

from family.enums import ContributionStatus, MutualAidMode, MutualAidStatus, MutualAidUseStatus
from family.selectors_mutual_aid import mulaid_ledger, mutual_aid_view, payer_confirmations_pending
from family.services import mutual_aid as svc

NOT_FOUND = "FAMILY_NOT_FOUND (not your binding), MULAID_NOT_FOUND"
AUTH_REFUSALS = {
    400: "MULAID_CAP_INVALID (detail.field), VALIDATION_ERROR",
    403: "MULAID_PAYER_NOT_EMPLOYEE, NOT_ACTIVATED",
    404: NOT_FOUND,
    409: "FAMILY_NOT_ACTIVE, MULAID_RELATION_NOT_ALLOWED, MULAID_RELATION_UNVERIFIED, MULAID_MODE_NOT_ALLOWED, "
         "MULAID_ALREADY_AUTHORIZED, MULAID_REVOKED, PERSON_NOT_INSURED, IDEMPOTENCY_KEY_REUSED",
    503: "CORE_UNAVAILABLE (the set-aside amount needs the core at once)",
}
IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER,
                               description="A retry with the same key and body returns the first result.")


def _key(request) -> str:
    key = request.headers.get("Idempotency-Key", "")
    if len(key) > 64 or not key.isascii() or not key.isprintable():
        raise ApplicationError("VALIDATION_ERROR", "Idempotency-Key 须为不超过64位的可打印ASCII字符")
    return key


class YuanOrNull(serializers.CharField):
    """A yuan amount as a string ("100", "100.50"), or null; checked exactly by the service."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, max_length=20, trim_whitespace=False, **kwargs)


class MutualAidInputSerializer(serializers.Serializer):
    annual_cap = YuanOrNull(help_text="Yuan a year the relative may use (null: no annual cap).")
    bill_cap = YuanOrNull(help_text="Yuan per bill (null: no per-bill cap).")
    confirm_above = YuanOrNull(help_text="A use above this many yuan waits for the payer's own PIN (null: never).")
    mode = serializers.ChoiceField(choices=MutualAidMode.choices, required=False,
                                   help_text="Default: the payer region's mode; across provinces always set_aside.")
    set_aside = YuanOrNull(help_text="set_aside mode: the amount frozen in the payer's account for this relative.")

    def validate(self, attrs):
        # Only the keys sent change on PATCH/PUT; a key sent as null clears that cap.
        return {k: v for k, v in attrs.items() if k in self.initial_data}


class MutualAidOutputSerializer(serializers.Serializer):
    """A mutual-aid authorisation (component ``MutualAid``)."""

    id = serializers.CharField()
    status = serializers.ChoiceField(choices=MutualAidStatus.choices)
    mode = serializers.ChoiceField(choices=MutualAidMode.choices)
    annual_cap = serializers.CharField(allow_null=True, help_text="Yuan; null: no annual cap.")
    bill_cap = serializers.CharField(allow_null=True, help_text="Yuan; null: no per-bill cap.")
    confirm_above = serializers.CharField(allow_null=True, help_text="Yuan; null: never asked.")
    set_aside = serializers.CharField(help_text="Yuan frozen for this relative (0.00 in direct mode).")
    used_this_year = serializers.CharField()
    remaining_annual_cap = serializers.CharField(allow_null=True)
    version = serializers.IntegerField()
    binding_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    ended_reason = serializers.CharField(allow_blank=True)


def _body(auth) -> dict:
    return MutualAidOutputSerializer(mutual_aid_view(auth)).data


def _data(request) -> dict:
    data = MutualAidInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


class MutualAidApi(APIView):
    """The relative's mutual-aid authorisation: read, authorise, change."""

    @extend_schema(operation_id="family_mutual_aid_get", responses={200: MutualAidOutputSerializer,
                                                                    **errors({404: NOT_FOUND})})
    def get(self, request, binding_id: str):
        return Response(_body(svc.mulaid_of_binding(request.user.login, binding_id)))

    @extend_schema(operation_id="family_mutual_aid_create", request=MutualAidInputSerializer, parameters=[IDEMPOTENCY],
                   responses={201: MutualAidOutputSerializer, **errors(AUTH_REFUSALS)})
    def post(self, request, binding_id: str):
        auth = svc.mulaid_authorize(login=request.user.login, binding_id=binding_id, data=_data(request),
                                    idempotency_key=_key(request), ip=client_ip(request))
        return Response(_body(auth), status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="family_mutual_aid_update", request=MutualAidInputSerializer,
                   responses={200: MutualAidOutputSerializer, **errors(AUTH_REFUSALS)})
    def patch(self, request, binding_id: str):
        auth = svc.mulaid_update(login=request.user.login, binding_id=binding_id, data=_data(request),
                                 ip=client_ip(request))
        return Response(_body(auth))

    @extend_schema(operation_id="family_mutual_aid_replace", request=MutualAidInputSerializer,
                   description="Same as PATCH (mini-program request APIs have no PATCH).",
                   responses={200: MutualAidOutputSerializer, **errors(AUTH_REFUSALS)})
    def put(self, request, binding_id: str):
        return self.patch(request, binding_id)


class MutualAidRevokeApi(APIView):
    @extend_schema(operation_id="family_mutual_aid_revoke", request=None, responses={
        200: MutualAidOutputSerializer, **errors({404: NOT_FOUND, 409: "MULAID_REVOKED"})})
    def post(self, request, binding_id: str):
        auth = svc.mulaid_revoke(login=request.user.login, binding_id=binding_id, ip=client_ip(request))
        return Response(_body(auth))


class LedgerRowOutputSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    institution = serializers.CharField()
    relative_name = serializers.CharField()
    relative_id = serializers.CharField(help_text="The binding's public id.")
    amount = serializers.CharField(help_text="Yuan paid from the payer's account.")
    remaining_annual_cap = serializers.CharField(allow_null=True, help_text="Yuan left of the annual cap after it.")
    setl_id = serializers.CharField()
    status = serializers.ChoiceField(choices=[MutualAidUseStatus.SETTLED, MutualAidUseStatus.REVERSED])
    payment_id = serializers.CharField()


class LedgerApi(APIView):
    """The payer's mutual-aid ledger (all relatives, or ?relative=<binding id>), newest first."""

    @extend_schema(operation_id="family_mutual_aid_ledger",
                   parameters=[OpenApiParameter("relative", str, description="A binding id of yours.")],
                   responses={200: LedgerRowOutputSerializer(many=True), **errors({404: NOT_FOUND})})
    def get(self, request):
        relative = request.query_params.get("relative")
        if relative is not None:
            svc.binding_of_binder(request.user.login, relative, standing=False)  # someone else's: 404
        return Response(LedgerRowOutputSerializer(mulaid_ledger(request.user.person, relative), many=True).data)


class PayerConfirmationOutputSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The payment's id.")
    relative_name = serializers.CharField()
    institution = serializers.CharField()
    amount = serializers.CharField(help_text="Yuan from the payer's account.")
    medfee_sumamt = serializers.CharField()
    expires_at = serializers.DateTimeField()


class PayerConfirmationListApi(APIView):
    """Relatives' payments waiting for my own PIN (polling fallback of ``mulaid.confirm``)."""

    @extend_schema(operation_id="family_mutual_aid_confirmations",
                   responses={200: PayerConfirmationOutputSerializer(many=True)})
    def get(self, request):
        return Response(PayerConfirmationOutputSerializer(payer_confirmations_pending(request.user.person),
                                                          many=True).data)


class PinInputSerializer(serializers.Serializer):
    pin = serializers.CharField(max_length=6, min_length=6, trim_whitespace=False)


class PaymentStateOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    status = serializers.CharField()


class PayerConfirmApi(APIView):
    @extend_schema(operation_id="family_mutual_aid_confirm", request=PinInputSerializer, responses={
        200: PaymentStateOutputSerializer, **errors({
            400: "PIN_FORMAT, PIN_INCORRECT (detail.tries_left)", 403: "NOT_ACTIVATED (confirm on your own phone)",
            404: "PAYMENT_NOT_FOUND", 409: "PAYMENT_NOT_PENDING, PAYMENT_EXPIRED", 423: "PIN_LOCKED"})})
    def post(self, request, payment_id: str):
        data = PinInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment = svc.mulaid_payer_confirm(login=request.user.login, payment_id=payment_id,
                                           pin=data.validated_data["pin"], ip=client_ip(request))
        return Response(PaymentStateOutputSerializer(payment).data)


class PayerDeclineApi(APIView):
    @extend_schema(operation_id="family_mutual_aid_decline", request=None, responses={
        200: PaymentStateOutputSerializer, **errors({404: "PAYMENT_NOT_FOUND", 409: "PAYMENT_NOT_PENDING"})})
    def post(self, request, payment_id: str):
        payment = svc.mulaid_payer_decline(login=request.user.login, payment_id=payment_id, ip=client_ip(request))
        return Response(PaymentStateOutputSerializer(payment).data)


class ContributionOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    status = serializers.ChoiceField(choices=ContributionStatus.choices)
    year = serializers.IntegerField()
    amount = serializers.SerializerMethodField()
    clct_id = serializers.CharField()
    paid_at = serializers.DateTimeField(allow_null=True)
    reversed_at = serializers.DateTimeField(allow_null=True)

    def get_amount(self, row) -> str:
        return fen_to_yuan(row.amount_fen)


class ContributionApi(APIView):
    class InputSerializer(serializers.Serializer):
        year = WholeNumberField(help_text="The contribution year (this year or next): 2026 or \"2026\", ASCII digits.")
        amount = serializers.CharField(max_length=20, trim_whitespace=False, help_text="Yuan, e.g. \"380.00\".")

    @extend_schema(operation_id="family_contribution_pay", request=InputSerializer, parameters=[IDEMPOTENCY],
                   responses={201: ContributionOutputSerializer, **errors({
                       400: "VALIDATION_ERROR (Idempotency-Key required)", 403: "MULAID_PAYER_NOT_EMPLOYEE",
                       404: "FAMILY_NOT_FOUND", 409: "FAMILY_NOT_ACTIVE, MULAID_CONTRIBUTION_NOT_RESIDENT, "
                                                     "CONTRIBUTION_REFUSED, IDEMPOTENCY_KEY_REUSED",
                       503: "CORE_UNAVAILABLE (retry with the same key)"})})
    def post(self, request, binding_id: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = svc.contribution_pay(login=request.user.login, binding_id=binding_id, idempotency_key=_key(request),
                                   ip=client_ip(request), **data.validated_data)
        return Response(ContributionOutputSerializer(row).data, status=status.HTTP_201_CREATED)


class ContributionReverseApi(APIView):
    @extend_schema(operation_id="family_contribution_reverse", request=None, responses={
        200: ContributionOutputSerializer, **errors({404: "FAMILY_NOT_FOUND",
                                                     409: "CONTRIBUTION_NOT_REVERSIBLE (not today's, or not paid)",
                                                     503: "CORE_UNAVAILABLE"})})
    def post(self, request, contribution_id: str):
        row = svc.contribution_reverse(login=request.user.login, contribution_id=contribution_id,
                                       ip=client_ip(request))
        return Response(ContributionOutputSerializer(row).data)
