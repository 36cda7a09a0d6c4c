"""The family-binding APIs (亲情账户), under /api/family/. Thin: parse, call a
service or selector, render through an OutputSerializer; errors in the one
shape (docs/subsystems/errors.md). Rules: docs/subsystems/family.md.

Ids are bindings' public ids; an id that is not the caller's is
FAMILY_NOT_FOUND (404), the same answer as an id that does not exist.

Mutual aid (家庭共济): Mutual-aid APIs (家庭共济), under /api/family/. Thin: parse, call
family/services/mulaid.py or family/selectors.py, render
through an OutputSerializer; errors in the one shape. Rules:
docs/subsystems/family.md ("Mutual aid").

Amounts are yuan strings (or null for "no cap"). Ids not the caller's are
404 (FAMILY_NOT_FOUND for a binding, MULAID_NOT_FOUND for an authorisation,
PAYMENT_NOT_FOUND for a payment), as if they did not exist."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, OpenApiParameter
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.liveness import get_provider
from codes import rendering
from common.errors import ApplicationError
from common.http import client_ip
from common.money import fen_to_yuan
from common.schema import errors
from common.serializers import WholeNumberField
from family import selectors
from family.enums import (
    BindingStatus,
    CodeViewKind,
    Consent,
    ContributionStatus,
    GuardianDocType,
    InvitationState,
    MutualAidMode,
    MutualAidStatus,
    MutualAidUseStatus,
    Relation,
    RelationCheck,
)
from family.selectors import mulaid_ledger, mutual_aid_view, payer_confirmations_pending
from family.services import bindings as svc, mulaid
from payments.apis import PaymentOutputSerializer, RecordDetailApi
from payments.selectors import payment_record_answer, payment_record_get, payment_record_list, payments_pending
from wallet.apis import BalanceApi as WalletBalanceApi
from wallet.services.balance import balance_get


NOT_FOUND = {404: "FAMILY_NOT_FOUND (not yours, or no such binding)"}


NOT_ACTIVE = "FAMILY_NOT_ACTIVE"


LIVENESS_REFUSALS = ("LIVENESS_SIGNATURE_INVALID, LIVENESS_NONCE_UNKNOWN, LIVENESS_REPLAYED, LIVENESS_EXPIRED, "
                     "LIVENESS_SUBJECT_MISMATCH, LIVENESS_NOT_LIVE, LIVENESS_FACE_MISMATCH")


IDENTITY_REFUSALS = ("ID_NUMBER_INVALID, VALIDATION_ERROR, NOT_ENROLLED, NAME_MISMATCH, REAL_NAME_NOT_VERIFIED, "
                     "ENROLMENT_SUSPENDED, REGION_NOT_OPEN, FAMILY_SELF_BINDING, FAMILY_RELATION_INVALID, "
                     "FAMILY_GUARDIAN_NOT_ALLOWED, FAMILY_GUARDIAN_DETAILS_REQUIRED")


def _validated(serializer_class, request):
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


class RelativeOutputSerializer(serializers.Serializer):
    """The bound relative as the binder sees them (ID number masked)."""

    name = serializers.CharField()
    id_number_masked = serializers.CharField()
    age = serializers.IntegerField()
    gender = serializers.CharField(help_text="1 male, 2 female")
    insutype = serializers.CharField()
    insured_region = serializers.CharField()


class BindingOutputSerializer(serializers.Serializer):
    """A relative on the binder's family list (component ``Binding``)."""

    id = serializers.CharField(help_text="The binding's public id (use it as ?person= on the code page).")
    relation = serializers.ChoiceField(choices=Relation.choices, help_text="The relative's relation to the binder.")
    relation_name = serializers.CharField()
    relative = RelativeOutputSerializer()
    status = serializers.ChoiceField(choices=BindingStatus.choices)
    consent = serializers.ChoiceField(choices=Consent.choices)
    relation_check = serializers.ChoiceField(choices=RelationCheck.choices)
    proxy_voucher = serializers.BooleanField(help_text="The binder set the relative's PIN (no phone of their own).")
    voucher_active = serializers.BooleanField(help_text="The relative's e-voucher is active (own or proxy).")
    own_phone = serializers.BooleanField(help_text="The relative activated on a phone of their own.")
    can_show_code = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    mutual_aid = serializers.JSONField(allow_null=True, help_text="Mutual aid (家庭共济): null until authorised.")


class BinderOutputSerializer(serializers.Serializer):
    """Someone who bound me (component ``BinderView``)."""

    id = serializers.CharField()
    binder_name_masked = serializers.CharField()
    binder_id_number_masked = serializers.CharField()
    relation = serializers.ChoiceField(choices=Relation.choices, help_text="My relation to the binder.")
    relation_name = serializers.CharField()
    status = serializers.ChoiceField(choices=BindingStatus.choices)
    consent = serializers.ChoiceField(choices=Consent.choices)
    created_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)
    can_end = serializers.BooleanField(help_text="16 or over: may end it from here.")


class LivenessStartOutputSerializer(serializers.Serializer):
    """A liveness challenge for a relative's consent (component ``FamilyLivenessStart``)."""

    nonce = serializers.CharField()
    actions = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField()
    provider = serializers.CharField()
    provider_url = serializers.CharField()


def _liveness_body(session) -> dict:
    provider = get_provider()
    return LivenessStartOutputSerializer({"nonce": session.nonce, "actions": session.actions,
                                          "expires_at": session.expires_at, "provider": provider.name,
                                          "provider_url": provider.url}).data


def _binding_body(binding) -> dict:
    return BindingOutputSerializer(selectors.binding_view(binding)).data


class LivenessResultInputSerializer(serializers.Serializer):
    result = serializers.JSONField()
    signature = serializers.CharField(max_length=200)


class RelativeListApi(APIView):
    """The binder's family list (GET) and adding a relative (POST)."""

    class InputSerializer(serializers.Serializer):
        class GuardianInputSerializer(serializers.Serializer):
            doc_type = serializers.ChoiceField(choices=GuardianDocType.choices)
            doc_no = serializers.CharField(max_length=30, help_text="户口簿 or 出生医学证明 number")
            commitment_accepted = serializers.BooleanField(help_text="The binder accepts the 监护人承诺书.")

        relation = serializers.CharField(max_length=20, help_text="spouse | parent | child | sibling | grandparent | "
                                                                   "grandchild: the relative's relation to you")
        name = serializers.CharField(max_length=50)
        id_number = serializers.CharField(max_length=30)
        consent = serializers.ChoiceField(choices=Consent.choices)
        guardian = GuardianInputSerializer(required=False, allow_null=True)

    @extend_schema(operation_id="family_relatives_list", responses={200: BindingOutputSerializer(many=True)})
    def get(self, request):
        return Response(BindingOutputSerializer(selectors.relative_list(request.user.person), many=True).data)

    @extend_schema(
        operation_id="family_relatives_create", request=InputSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER,
                                     description="A retry with the same key and body returns the first binding.")],
        responses={201: BindingOutputSerializer, **errors({
            400: IDENTITY_REFUSALS, 403: "NOT_ACTIVATED (activate your own voucher first)",
            409: "FAMILY_ALREADY_BOUND, FAMILY_TOO_MANY_RELATIVES, FAMILY_TOO_MANY_BINDERS, FAMILY_RELATION_REFUTED, "
                 "IDEMPOTENCY_KEY_REUSED, IDEMPOTENCY_IN_PROGRESS",
            429: "RATE_LIMITED, TOO_MANY_ATTEMPTS (detail.retry_after)", 503: "CORE_UNAVAILABLE"})},
    )
    def post(self, request):
        data = _validated(self.InputSerializer, request)
        key = request.headers.get("Idempotency-Key", "")
        if len(key) > 64 or not key.isascii() or not key.isprintable():
            raise ApplicationError("VALIDATION_ERROR", "Idempotency-Key 须为不超过64位的可打印ASCII字符")
        binding = svc.binding_create(login=request.user.login, ip=client_ip(request), idempotency_key=key, **data)
        return Response(_binding_body(binding), status=status.HTTP_201_CREATED)


class RelativeDetailApi(APIView):
    @extend_schema(operation_id="family_relative_get", responses={200: BindingOutputSerializer, **errors(NOT_FOUND)})
    def get(self, request, binding_id: str):
        return Response(_binding_body(svc.binding_of_binder(request.user.login, binding_id)))


class RelativeLivenessStartApi(APIView):
    """The relative's face, in front of the binder's phone (16 and over)."""

    @extend_schema(request=None, responses={200: LivenessStartOutputSerializer, **errors({
        **NOT_FOUND, 409: NOT_ACTIVE, 429: "TOO_MANY_ATTEMPTS (detail.retry_after)"})})
    def post(self, request, binding_id: str):
        session = svc.binding_liveness_start(login=request.user.login, binding_id=binding_id, ip=client_ip(request))
        return Response(_liveness_body(session))


class RelativeLivenessVerifyApi(APIView):
    @extend_schema(request=LivenessResultInputSerializer, responses={200: BindingOutputSerializer, **errors({
        400: LIVENESS_REFUSALS, **NOT_FOUND, 409: NOT_ACTIVE})})
    def post(self, request, binding_id: str):
        data = _validated(LivenessResultInputSerializer, request)
        binding = svc.binding_liveness_verify(login=request.user.login, binding_id=binding_id, ip=client_ip(request),
                                              **data)
        return Response(_binding_body(binding))


class RelativeInvitationApi(APIView):
    """A one-time invitation (24 h) for the relative to accept on their own phone."""

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        url = serializers.CharField(help_text="The H5 page the relative opens (share as a link or QR).")
        expires_at = serializers.DateTimeField()

    @extend_schema(request=None, responses={201: OutputSerializer, **errors({**NOT_FOUND, 409: NOT_ACTIVE})})
    def post(self, request, binding_id: str):
        invitation, token = svc.invitation_create(login=request.user.login, binding_id=binding_id,
                                                  ip=client_ip(request))
        return Response(self.OutputSerializer({"token": token, "url": invitation_url(request, token),
                                               "expires_at": invitation.expires_at}).data,
                        status=status.HTTP_201_CREATED)


def invitation_url(request, token: str) -> str:
    """The H5 page the relative opens (absolute, on the wallet's own origin; hash router)."""
    return request.build_absolute_uri(f"/app/#/pages-family/invite/index?token={token}")


class InvitationQrApi(APIView):
    """The invitation's link as a QR image, for the binder to show the relative."""

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["svg", "png"], default="svg")],
        responses={(200, "image/svg+xml"): OpenApiTypes.BINARY, (200, "image/png"): OpenApiTypes.BINARY,
                   **errors({**NOT_FOUND, 400: "VALIDATION_ERROR"})})
    def get(self, request, token: str):
        fmt = request.query_params.get("format", "svg")
        if fmt not in {"svg", "png"}:
            raise ApplicationError("VALIDATION_ERROR", "format 须为 svg 或 png")
        invitation = svc.invitation_get(token)
        svc.binding_of_binder(request.user.login, invitation.binding.public_id)  # the caller's own invitation only
        url = invitation_url(request, token)
        response = HttpResponse(rendering.qr_svg(url) if fmt == "svg" else rendering.qr_png(url),
                                content_type="image/svg+xml" if fmt == "svg" else "image/png")
        response["Cache-Control"] = "no-store"
        return response


class RelativeEndApi(APIView):
    @extend_schema(request=None, responses={200: BindingOutputSerializer, **errors(NOT_FOUND)})
    def post(self, request, binding_id: str):
        binding = svc.binding_end_by_binder(login=request.user.login, binding_id=binding_id, ip=client_ip(request))
        return Response(_binding_body(binding))


class RelativePinApi(APIView):
    """Proxy activation: set or change the PIN of a relative without a phone
    of their own (weak-PIN rules as activation)."""

    class InputSerializer(serializers.Serializer):
        pin = serializers.CharField(max_length=6, trim_whitespace=False)
        pin_confirm = serializers.CharField(max_length=6, trim_whitespace=False)

    class OutputSerializer(serializers.Serializer):
        proxy = serializers.BooleanField()
        binding = BindingOutputSerializer()

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, **errors({
        400: "PIN_FORMAT, PIN_CONFIRM_MISMATCH, PIN_WEAK_REPEATED, PIN_WEAK_SEQUENCE, PIN_WEAK_BIRTHDAY, "
             "PIN_WEAK_ID_SUFFIX",
        403: "VOUCHER_UNAVAILABLE", **NOT_FOUND, 409: f"{NOT_ACTIVE}, FAMILY_PIN_OWNED_BY_RELATIVE"})})
    def post(self, request, binding_id: str):
        data = self.InputSerializer(data=request.data)
        if not data.is_valid():
            raise ApplicationError("PIN_FORMAT", "支付密码须为6位数字")
        binding = svc.binding_pin_set(login=request.user.login, binding_id=binding_id, ip=client_ip(request),
                                      **data.validated_data)
        return Response(self.OutputSerializer({"proxy": True, "binding": selectors.binding_view(binding)}).data)


class RelativeRecordListApi(APIView):
    """The relative's payment records (binder's view, while the binding is active)."""

    @extend_schema(operation_id="family_relative_records",
                   responses={200: PaymentOutputSerializer(many=True), **errors({**NOT_FOUND, 409: NOT_ACTIVE})})
    def get(self, request, binding_id: str):
        binding = svc.binding_active_of_binder(request.user.login, binding_id)
        return Response(PaymentOutputSerializer(payment_record_list(binding.relative), many=True).data)


class RelativeRecordDetailApi(APIView):
    @extend_schema(operation_id="family_relative_record", responses={
        200: RecordDetailApi.OutputSerializer,
        **errors({404: "FAMILY_NOT_FOUND, PAYMENT_NOT_FOUND", 409: NOT_ACTIVE})})
    def get(self, request, binding_id: str, record_id: str):
        binding = svc.binding_active_of_binder(request.user.login, binding_id)
        payment = payment_record_get(binding.relative, record_id)
        if payment is None:
            raise ApplicationError("PAYMENT_NOT_FOUND", "未找到该笔记录", status=404)
        payment.answer = payment_record_answer(payment)
        return Response(RecordDetailApi.OutputSerializer(payment).data)


class RelativeBalanceApi(APIView):
    @extend_schema(operation_id="family_relative_balance",
                   parameters=[OpenApiParameter("refresh", str, enum=["1"], description="1: ask the core now.")],
                   responses={200: WalletBalanceApi.OutputSerializer, **errors({**NOT_FOUND, 409: NOT_ACTIVE})})
    def get(self, request, binding_id: str):
        binding = svc.binding_active_of_binder(request.user.login, binding_id)
        result = balance_get(binding.relative, refresh=request.query_params.get("refresh") == "1")
        return Response(WalletBalanceApi.OutputSerializer(result).data)


class RelativePaymentPendingApi(APIView):
    """The relative's payments waiting for a PIN (polling fallback of the
    ``payment.confirm`` push on the relative's code page); confirm with
    POST /api/payments/{id}/confirm and the relative's PIN."""

    @extend_schema(operation_id="family_relative_payments_pending",
                   responses={200: PaymentOutputSerializer(many=True), **errors({**NOT_FOUND, 409: NOT_ACTIVE})})
    def get(self, request, binding_id: str):
        binding = svc.binding_active_of_binder(request.user.login, binding_id)
        return Response(PaymentOutputSerializer(payments_pending(binding.relative), many=True).data)


class InvitationDetailApi(APIView):
    """What an invitation is, for the relative who opened it."""

    class OutputSerializer(serializers.Serializer):
        binder_name_masked = serializers.CharField()
        relation = serializers.ChoiceField(choices=Relation.choices, help_text="Your relation to the binder.")
        relation_name = serializers.CharField()
        expires_at = serializers.DateTimeField()
        status = serializers.ChoiceField(choices=InvitationState.choices)

    @extend_schema(responses={200: OutputSerializer, **errors(NOT_FOUND)})
    def get(self, request, token: str):
        invitation = svc.invitation_get(token)
        binding = invitation.binding
        return Response(self.OutputSerializer({
            "binder_name_masked": selectors.name_masked(binding.binder.name), "relation": binding.relation,
            "relation_name": Relation(binding.relation).label, "expires_at": invitation.expires_at,
            "status": svc.invitation_status(invitation)}).data)


INVITATION_REFUSALS = {**NOT_FOUND, 403: "FAMILY_INVITATION_NOT_FOR_YOU",
                       409: "FAMILY_INVITATION_USED, FAMILY_INVITATION_EXPIRED"}


class InvitationLivenessStartApi(APIView):
    @extend_schema(request=None, responses={200: LivenessStartOutputSerializer, **errors({
        **INVITATION_REFUSALS, 429: "TOO_MANY_ATTEMPTS (detail.retry_after)"})})
    def post(self, request, token: str):
        session = svc.invitation_liveness_start(login=request.user.login, token=token, ip=client_ip(request))
        return Response(_liveness_body(session))


class InvitationLivenessVerifyApi(APIView):
    """Accept the invitation with one's own face (single use)."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField()
        status = serializers.ChoiceField(choices=BindingStatus.choices)
        binder_name_masked = serializers.CharField()
        relation = serializers.ChoiceField(choices=Relation.choices)

    @extend_schema(request=LivenessResultInputSerializer, responses={200: OutputSerializer, **errors({
        400: LIVENESS_REFUSALS, **INVITATION_REFUSALS})})
    def post(self, request, token: str):
        data = _validated(LivenessResultInputSerializer, request)
        binding = svc.invitation_accept(login=request.user.login, token=token, ip=client_ip(request), **data)
        return Response(self.OutputSerializer({"id": binding.public_id, "status": binding.status,
                                               "binder_name_masked": selectors.name_masked(binding.binder.name),
                                               "relation": binding.relation}).data)


class BinderListApi(APIView):
    """Who has bound me (as a relative)."""

    @extend_schema(operation_id="family_binders_list", responses={200: BinderOutputSerializer(many=True)})
    def get(self, request):
        return Response(BinderOutputSerializer(selectors.binder_list(request.user.person), many=True).data)


class BinderEndApi(APIView):
    """The relative (16 and over) ends a binding from their own login."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField()
        status = serializers.ChoiceField(choices=BindingStatus.choices)
        ended_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(request=None, responses={200: OutputSerializer, **errors({
        **NOT_FOUND, 403: "FAMILY_END_NOT_ALLOWED (under 16: the guardian ends it)"})})
    def post(self, request, binding_id: str):
        binding = svc.binding_end_by_relative(login=request.user.login, binding_id=binding_id, ip=client_ip(request))
        return Response(self.OutputSerializer(binding).data)


class CodeViewListApi(APIView):
    """Who showed my code, and when (and where a code so shown was scanned)."""

    class OutputSerializer(serializers.Serializer):
        binder_name_masked = serializers.CharField()
        binding_id = serializers.CharField()
        kind = serializers.ChoiceField(choices=CodeViewKind.choices)
        shown_at = serializers.DateTimeField()
        channel = serializers.CharField(allow_blank=True)
        channel_name = serializers.CharField(allow_blank=True)
        institution = serializers.CharField(allow_blank=True)

    @extend_schema(responses={200: OutputSerializer(many=True)})
    def get(self, request):
        return Response(self.OutputSerializer(selectors.code_view_list(request.user.person), many=True).data)


MULAID_NOT_FOUND_CODES = "FAMILY_NOT_FOUND (not your binding), MULAID_NOT_FOUND"


AUTH_REFUSALS = {
    400: "MULAID_CAP_INVALID (detail.field), VALIDATION_ERROR",
    403: "MULAID_PAYER_NOT_EMPLOYEE, NOT_ACTIVATED",
    404: MULAID_NOT_FOUND_CODES,
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
                                                                    **errors({404: MULAID_NOT_FOUND_CODES})})
    def get(self, request, binding_id: str):
        return Response(_body(mulaid.mulaid_of_binding(request.user.login, binding_id)))

    @extend_schema(operation_id="family_mutual_aid_create", request=MutualAidInputSerializer, parameters=[IDEMPOTENCY],
                   responses={201: MutualAidOutputSerializer, **errors(AUTH_REFUSALS)})
    def post(self, request, binding_id: str):
        auth = mulaid.mulaid_authorize(login=request.user.login, binding_id=binding_id, data=_data(request),
                                    idempotency_key=_key(request), ip=client_ip(request))
        return Response(_body(auth), status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="family_mutual_aid_update", request=MutualAidInputSerializer,
                   responses={200: MutualAidOutputSerializer, **errors(AUTH_REFUSALS)})
    def patch(self, request, binding_id: str):
        auth = mulaid.mulaid_update(login=request.user.login, binding_id=binding_id, data=_data(request),
                                 ip=client_ip(request))
        return Response(_body(auth))

    @extend_schema(operation_id="family_mutual_aid_replace", request=MutualAidInputSerializer,
                   description="Same as PATCH (mini-program request APIs have no PATCH).",
                   responses={200: MutualAidOutputSerializer, **errors(AUTH_REFUSALS)})
    def put(self, request, binding_id: str):
        return self.patch(request, binding_id)


class MutualAidRevokeApi(APIView):
    @extend_schema(operation_id="family_mutual_aid_revoke", request=None, responses={
        200: MutualAidOutputSerializer, **errors({404: MULAID_NOT_FOUND_CODES, 409: "MULAID_REVOKED"})})
    def post(self, request, binding_id: str):
        auth = mulaid.mulaid_revoke(login=request.user.login, binding_id=binding_id, ip=client_ip(request))
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
                   responses={200: LedgerRowOutputSerializer(many=True), **errors({404: MULAID_NOT_FOUND_CODES})})
    def get(self, request):
        relative = request.query_params.get("relative")
        if relative is not None:
            mulaid.binding_of_binder(request.user.login, relative, standing=False)  # someone else's: 404
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
        payment = mulaid.mulaid_payer_confirm(login=request.user.login, payment_id=payment_id,
                                           pin=data.validated_data["pin"], ip=client_ip(request))
        return Response(PaymentStateOutputSerializer(payment).data)


class PayerDeclineApi(APIView):
    @extend_schema(operation_id="family_mutual_aid_decline", request=None, responses={
        200: PaymentStateOutputSerializer, **errors({404: "PAYMENT_NOT_FOUND", 409: "PAYMENT_NOT_PENDING"})})
    def post(self, request, payment_id: str):
        payment = mulaid.mulaid_payer_decline(login=request.user.login, payment_id=payment_id, ip=client_ip(request))
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
        row = mulaid.contribution_pay(login=request.user.login, binding_id=binding_id, idempotency_key=_key(request),
                                   ip=client_ip(request), **data.validated_data)
        return Response(ContributionOutputSerializer(row).data, status=status.HTTP_201_CREATED)


class ContributionReverseApi(APIView):
    @extend_schema(operation_id="family_contribution_reverse", request=None, responses={
        200: ContributionOutputSerializer, **errors({404: "FAMILY_NOT_FOUND",
                                                     409: "CONTRIBUTION_NOT_REVERSIBLE (not today's, or not paid)",
                                                     503: "CORE_UNAVAILABLE"})})
    def post(self, request, contribution_id: str):
        row = mulaid.contribution_reverse(login=request.user.login, contribution_id=contribution_id,
                                       ip=client_ip(request))
        return Response(ContributionOutputSerializer(row).data)
