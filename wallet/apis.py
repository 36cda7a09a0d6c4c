"""The person's wallet APIs: activation (real name, PIN; liveness APIs are in
accounts/apis.py), the voucher's channel authorizations and diagnosis, the
balance and notifications, and security (PIN change / forgot-PIN with
liveness, freeze / unfreeze, the security page). Thin: parse, call a service
or selector, render through an OutputSerializer (the schema is the contract:
docs/subsystems/api-schema.md)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer, OpenApiParameter
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.enums import Channel, PinMode
from accounts.liveness import get_provider
from common.errors import ApplicationError
from common.http import client_ip
from common.schema import errors
from common.serializers import YuanField
from settlement.selectors import account_credit_notifications
from wallet.enums import AuthorizationStatus, VoucherStatus
from wallet.hooks import hook
from wallet.selectors import authorization_list, voucher_diagnose, voucher_get, voucher_usable_by
from wallet.services.activation import activation_pin, activation_real_name
from wallet.services.balance import balance_get
from wallet.services.pin import pin_is_locked, pin_tries_left
from wallet.services.security import (
    pin_change,
    pin_forgot_complete,
    pin_forgot_start,
    pin_forgot_verify,
    security_get,
    security_notifications,
    voucher_freeze_own,
    voucher_unfreeze_start,
    voucher_unfreeze_verify,
)
from wallet.services.vouchers import authorization_revoke


class PersonOutputSerializer(serializers.Serializer):
    """The insured person as the app shows them (component ``Person``): the ID number masked."""

    name = serializers.CharField()
    id_number_masked = serializers.CharField()
    insutype = serializers.CharField()
    insured_region = serializers.CharField()


class VoucherSummaryOutputSerializer(serializers.Serializer):
    """The voucher's state as the person's app needs it (component ``VoucherSummaryOutput``)."""

    status = serializers.ChoiceField(choices=VoucherStatus.choices)
    pin_locked = serializers.BooleanField()
    pin_tries_left = serializers.IntegerField()


class MeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        channel = serializers.ChoiceField(choices=Channel.choices)
        channel_name = serializers.CharField()
        activated = serializers.BooleanField(help_text="The voucher is active and authorized for this very login.")
        person = PersonOutputSerializer(allow_null=True)
        voucher = VoucherSummaryOutputSerializer(allow_null=True)

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        login = request.user.login
        voucher = voucher_get(login.person)
        return Response(self.OutputSerializer({
            "channel": login.channel,
            "channel_name": Channel(login.channel).label,
            "activated": voucher_usable_by(login, voucher),
            "person": login.person,
            "voucher": None if voucher is None else {"status": voucher.status, "pin_locked": pin_is_locked(voucher),
                                                     "pin_tries_left": pin_tries_left(voucher)},
        }).data)


class RealNameApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=50)
        id_number = serializers.CharField(max_length=30)

    class OutputSerializer(serializers.Serializer):
        activation_id = serializers.CharField()
        next = serializers.ChoiceField(choices=["liveness"])
        person = PersonOutputSerializer()
        pin_mode = serializers.ChoiceField(choices=PinMode.choices,
                                           help_text="new: set a PIN; existing: enter the PIN set in another channel.")

    @extend_schema(request=InputSerializer, responses={
        200: OutputSerializer,
        **errors({400: "ID_NUMBER_INVALID, VALIDATION_ERROR, NOT_ENROLLED, NAME_MISMATCH, REAL_NAME_NOT_VERIFIED, "
                       "ENROLMENT_SUSPENDED, REGION_NOT_OPEN",
                  403: "VOUCHER_UNAVAILABLE", 409: "ALREADY_ACTIVATED, LOGIN_BOUND_TO_OTHER_PERSON",
                  429: "TOO_MANY_ATTEMPTS (detail.retry_after)", 503: "CORE_UNAVAILABLE"}),
    })
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        activation = activation_real_name(login=request.user.login, ip=client_ip(request), **data.validated_data)
        return Response(self.OutputSerializer({"activation_id": activation.public_id, "next": "liveness",
                                               "person": activation.person, "pin_mode": activation.pin_mode}).data)


class AuthorizationOutputSerializer(serializers.Serializer):
    """A channel authorization of the voucher (component ``Authorization``);
    ``current``: the one of the login making the request."""

    id = serializers.IntegerField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    channel_name = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=AuthorizationStatus.choices)
    created_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    current = serializers.SerializerMethodField()

    def get_channel_name(self, obj) -> str:
        return Channel(obj.channel).label

    def get_current(self, obj) -> bool:
        return obj.login_id == self.context["login"].pk


class PinApi(APIView):
    class InputSerializer(serializers.Serializer):
        activation_id = serializers.CharField(max_length=64)
        pin = serializers.CharField(max_length=6, min_length=6, trim_whitespace=False)
        pin_confirm = serializers.CharField(max_length=6, min_length=6, required=False, trim_whitespace=False)

    class OutputSerializer(serializers.Serializer):
        next = serializers.ChoiceField(choices=["done"])
        voucher = inline_serializer("PinApiVoucher", {"status": serializers.ChoiceField(choices=VoucherStatus.choices)})
        authorization = AuthorizationOutputSerializer()

    @extend_schema(request=InputSerializer, responses={
        200: OutputSerializer,
        **errors({400: "PIN_FORMAT, PIN_CONFIRM_MISMATCH, PIN_WEAK_REPEATED, PIN_WEAK_SEQUENCE, PIN_WEAK_BIRTHDAY, "
                       "PIN_WEAK_ID_SUFFIX, PIN_INCORRECT (detail.tries_left)",
                  403: "VOUCHER_UNAVAILABLE", 404: "ACTIVATION_NOT_FOUND",
                  409: "ACTIVATION_STEP_ORDER, ALREADY_ACTIVATED, LOGIN_BOUND_TO_OTHER_PERSON",
                  423: "PIN_LOCKED (detail.locked_until, detail.support_hotline)"}),
    })
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        if not data.is_valid():
            if "pin" in data.errors or "pin_confirm" in data.errors:
                raise ApplicationError("PIN_FORMAT", "支付密码须为6位数字")
            data.is_valid(raise_exception=True)
        authorization = activation_pin(login=request.user.login, ip=client_ip(request), **data.validated_data)
        authorization.voucher.refresh_from_db()
        return Response(self.OutputSerializer({
            "next": "done", "voucher": authorization.voucher, "authorization": authorization,
        }, context={"login": request.user.login}).data)


NOT_ACTIVATED = "NOT_ACTIVATED"


def request_person(request):
    """The request's activated person, or NOT_ACTIVATED (404): the person's
    own APIs here and in payments/apis.py."""
    person = request.user.person
    if person is None:
        raise ApplicationError("NOT_ACTIVATED", "您尚未激活医保电子凭证", status=404)
    return person


class AuthorizationListApi(APIView):
    @extend_schema(responses={200: AuthorizationOutputSerializer(many=True), **errors({404: NOT_ACTIVATED})})
    def get(self, request):
        items = authorization_list(request_person(request))
        return Response(AuthorizationOutputSerializer(items, many=True, context={"login": request.user.login}).data)


class AuthorizationRevokeApi(APIView):
    @extend_schema(request=None, responses={
        200: AuthorizationOutputSerializer, **errors({404: "NOT_ACTIVATED, AUTHORIZATION_NOT_FOUND"})})
    def post(self, request, authorization_id: int):
        login = request.user.login
        authorization = authorization_revoke(person=request_person(request), authorization_id=authorization_id,
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


class BalanceApi(APIView):
    """Personal-account balance from the core, cached with its timestamp."""

    class OutputSerializer(serializers.Serializer):
        balance = YuanField(source="balance_fen", allow_null=True, help_text="null: the core was never reached.")
        as_of = serializers.DateTimeField(allow_null=True)
        stale = serializers.BooleanField(help_text="The cached value: the core is unreachable now.")

    @extend_schema(parameters=[OpenApiParameter("refresh", str, enum=["1"], description="1: ask the core now.")],
                   responses={200: OutputSerializer, **errors({404: NOT_ACTIVATED})})
    def get(self, request):
        result = balance_get(request_person(request), refresh=request.query_params.get("refresh") == "1")
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
        person = request_person(request)
        items = account_credit_notifications(person.psn_no)
        extra = hook("notifications_extra")  # family: mutual-aid uses, as the payer (wallet/hooks.py)
        if extra:
            items = sorted(items + extra(person), key=lambda n: n["at"], reverse=True)
        return Response(self.OutputSerializer(items, many=True).data)


SECURITY_NOTICE_KINDS = ["pin.changed", "pin.reset", "voucher.frozen", "voucher.unfrozen"]


PIN_RULES = "PIN_FORMAT, PIN_CONFIRM_MISMATCH, PIN_WEAK_REPEATED, PIN_WEAK_SEQUENCE, PIN_WEAK_BIRTHDAY, PIN_WEAK_ID_SUFFIX"


LIVENESS_REFUSALS = ("LIVENESS_SIGNATURE_INVALID, LIVENESS_NONCE_UNKNOWN, LIVENESS_REPLAYED, LIVENESS_EXPIRED, "
                     "LIVENESS_SUBJECT_MISMATCH, LIVENESS_NOT_LIVE, LIVENESS_FACE_MISMATCH")


OWN_VOUCHER = {403: "CHANNEL_NOT_AUTHORIZED, VOUCHER_UNAVAILABLE, VOUCHER_FROZEN", 404: "NOT_ACTIVATED"}


def _data(serializer_class, request, *, pin_fields=()):
    data = serializer_class(data=request.data)
    if not data.is_valid():
        bad = [name for name in pin_fields if name in data.errors]
        if bad:
            raise ApplicationError("PIN_FORMAT", "原支付密码须为6位数字" if bad == ["old_pin"] else "支付密码须为6位数字")
        data.is_valid(raise_exception=True)
    return data.validated_data


IDEMPOTENCY_PARAM = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER,
    description="A retry with the same key and body returns the first answer (kept 24 h); "
                "the same key with another body is refused IDEMPOTENCY_KEY_REUSED.")


def _idempotency_key(request) -> str:
    key = request.headers.get("Idempotency-Key", "")
    if len(key) > 64 or not key.isascii() or not key.isprintable():
        raise ApplicationError("VALIDATION_ERROR", "Idempotency-Key 须为不超过64位的可打印ASCII字符")
    return key


def _pin_field():
    return serializers.CharField(max_length=6, min_length=6, trim_whitespace=False,
                                 help_text="6 ASCII digits (only this exact form is accepted).")


class SecurityNoticeOutputSerializer(serializers.Serializer):
    """What the person is told after a change, reset, freeze or unfreeze
    (also pushed: ``pin.changed`` on the code page, ``security.notice`` on
    the person's other sessions)."""

    kind = serializers.ChoiceField(choices=SECURITY_NOTICE_KINDS)
    channel = serializers.CharField(help_text="The channel it was done on (wechat / alipay / nhsa).")
    channel_name = serializers.CharField()
    at = serializers.CharField(help_text="When, ISO 8601 local time.")
    title = serializers.CharField()
    message = serializers.CharField(help_text="Names the channel and the time, and what to do if it was not you.")


class SecurityLivenessChallengeOutputSerializer(serializers.Serializer):
    """A liveness challenge for the person's own face (component ``SecurityLivenessChallenge``)."""

    reset_id = serializers.CharField(help_text="This check's id: send it back with the result (and the new PIN).")
    nonce = serializers.CharField()
    actions = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField()
    provider = serializers.CharField()
    provider_url = serializers.CharField(help_text="The provider's base URL (same origin: a path).")


def _challenge(session) -> dict:
    provider = get_provider()
    return {"reset_id": session.reference, "nonce": session.nonce, "actions": session.actions,
            "expires_at": session.expires_at, "provider": provider.name, "provider_url": provider.url}


class SecurityLivenessResultInputSerializer(serializers.Serializer):
    reset_id = serializers.CharField(max_length=64)
    result = serializers.JSONField(help_text="The provider-signed result, as the provider returned it.")
    signature = serializers.CharField(max_length=200)


class PinChangeApi(APIView):
    """Change the payment PIN: the old one, then the new one twice. One PIN
    for every channel; the person's other sessions and open code pages are told."""

    class InputSerializer(serializers.Serializer):
        old_pin = _pin_field()
        new_pin = _pin_field()
        new_pin_confirm = _pin_field()

    class OutputSerializer(SecurityNoticeOutputSerializer):
        payments_cancelled = serializers.IntegerField(help_text="Payments that were waiting for the old PIN.")

    @extend_schema(operation_id="pin_change", request=InputSerializer, parameters=[IDEMPOTENCY_PARAM], responses={
        200: OutputSerializer,
        **errors({400: f"{PIN_RULES}, PIN_SAME_AS_OLD, PIN_INCORRECT (detail.tries_left)", **OWN_VOUCHER,
                  409: "PIN_CHANGED_CONCURRENTLY, IDEMPOTENCY_KEY_REUSED",
                  423: "PIN_LOCKED (detail.locked_until, detail.forgot_pin, detail.support_hotline)",
                  429: "TOO_MANY_ATTEMPTS (detail.retry_after)"}),
    })
    def post(self, request):
        data = _data(self.InputSerializer, request, pin_fields=("old_pin", "new_pin", "new_pin_confirm"))
        result = pin_change(login=request.user.login, session_id=request.auth.pk, ip=client_ip(request),
                            idempotency_key=_idempotency_key(request), **data)
        return Response(self.OutputSerializer(result).data)


class PinForgotLivenessStartApi(APIView):
    """Forgot PIN, step 1: a liveness challenge for one's own identity (works while the PIN is locked)."""

    class OutputSerializer(SecurityLivenessChallengeOutputSerializer):
        reset_ticket = serializers.BooleanField(
            help_text="Support staff started a PIN reset for you: completing this flow completes it.")

    @extend_schema(operation_id="pin_forgot_liveness_start", request=None, responses={
        200: OutputSerializer, **errors({**OWN_VOUCHER, 429: "TOO_MANY_ATTEMPTS (detail.retry_after)"})})
    def post(self, request):
        session, ticket = pin_forgot_start(login=request.user.login, ip=client_ip(request))
        return Response(self.OutputSerializer({**_challenge(session), "reset_ticket": ticket is not None}).data)


class PinForgotLivenessVerifyApi(APIView):
    """Forgot PIN, step 2: the provider-signed result for one's own face."""

    class OutputSerializer(serializers.Serializer):
        next = serializers.ChoiceField(choices=["pin"])
        pin_until = serializers.DateTimeField(help_text="The new PIN must be set before this.")

    @extend_schema(operation_id="pin_forgot_liveness_verify", request=SecurityLivenessResultInputSerializer, responses={
        200: OutputSerializer, **errors({400: LIVENESS_REFUSALS, **OWN_VOUCHER})})
    def post(self, request):
        data = _data(SecurityLivenessResultInputSerializer, request)
        until = pin_forgot_verify(login=request.user.login, ip=client_ip(request), **data)
        return Response(self.OutputSerializer({"next": "pin", "pin_until": until}).data)


class PinForgotCompleteApi(APIView):
    """Forgot PIN, step 3: the new PIN twice (unlocks a locked PIN)."""

    class InputSerializer(serializers.Serializer):
        reset_id = serializers.CharField(max_length=64)
        new_pin = _pin_field()
        new_pin_confirm = _pin_field()

    class OutputSerializer(SecurityNoticeOutputSerializer):
        payments_cancelled = serializers.IntegerField()
        unlocked = serializers.BooleanField(help_text="The PIN was locked and is unlocked now.")
        ticket_completed = serializers.BooleanField(help_text="A staff-started reset ticket was completed.")

    @extend_schema(operation_id="pin_forgot_complete", request=InputSerializer, parameters=[IDEMPOTENCY_PARAM],
                   responses={200: OutputSerializer,
                              **errors({400: PIN_RULES, **OWN_VOUCHER,
                                        409: "SECURITY_VERIFICATION_REQUIRED (no accepted liveness check of yours "
                                             "with this id, or used), SECURITY_VERIFICATION_EXPIRED, "
                                             "IDEMPOTENCY_KEY_REUSED"})})
    def post(self, request):
        data = _data(self.InputSerializer, request, pin_fields=("new_pin", "new_pin_confirm"))
        result = pin_forgot_complete(login=request.user.login, session_id=request.auth.pk, ip=client_ip(request),
                                     idempotency_key=_idempotency_key(request), **data)
        return Response(self.OutputSerializer(result).data)


class SecurityEventOutputSerializer(serializers.Serializer):
    action = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["success", "failure"])
    title = serializers.CharField()
    code = serializers.CharField(allow_blank=True, help_text="The refusal's code when it failed.")
    by = serializers.CharField(help_text="本人 / 医保客服 / 系统 (never a staff member's name).")
    channel = serializers.CharField(allow_blank=True)
    channel_name = serializers.CharField(allow_blank=True)
    at = serializers.DateTimeField()


class SecurityApi(APIView):
    """The security page: voucher and PIN state, the channels that hold the
    voucher (revoke: POST /api/voucher/authorizations/{id}/revoke), recent
    PIN and voucher events, an open staff reset ticket."""

    class OutputSerializer(serializers.Serializer):
        class VoucherOutputSerializer(serializers.Serializer):
            status = serializers.ChoiceField(choices=VoucherStatus.choices)
            frozen_by_self = serializers.BooleanField(help_text="Frozen by you: you may unfreeze it with liveness.")
            pin_locked = serializers.BooleanField()
            pin_locked_until = serializers.DateTimeField(allow_null=True)
            pin_tries_left = serializers.IntegerField()

        class TicketOutputSerializer(serializers.Serializer):
            expires_at = serializers.DateTimeField()

        class LimitsOutputSerializer(serializers.Serializer):
            changes_per_day = serializers.IntegerField()
            resets_per_day = serializers.IntegerField()

        voucher = VoucherOutputSerializer()
        channels = AuthorizationOutputSerializer(many=True)
        events = SecurityEventOutputSerializer(many=True)
        reset_ticket = TicketOutputSerializer(allow_null=True,
                                              help_text="Support staff started a PIN reset: complete it with forgot-PIN.")
        limits = LimitsOutputSerializer()

    @extend_schema(operation_id="security_get", responses={200: OutputSerializer,
                                                           **errors({403: "CHANNEL_NOT_AUTHORIZED, VOUCHER_UNAVAILABLE",
                                                                     404: "NOT_ACTIVATED"})})
    def get(self, request):
        login = request.user.login
        return Response(self.OutputSerializer(security_get(login), context={"login": login}).data)


class SecurityNotificationListApi(APIView):
    """The notices of PIN changes, resets, freezes and unfreezes, newest first."""

    class OutputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=SECURITY_NOTICE_KINDS)
        title = serializers.CharField()
        message = serializers.CharField()
        channel_name = serializers.CharField()
        at = serializers.DateTimeField()

    @extend_schema(operation_id="security_notifications", responses={
        200: OutputSerializer(many=True), **errors({404: "NOT_ACTIVATED"})})
    def get(self, request):
        person = request.user.person
        if person is None:
            raise ApplicationError("NOT_ACTIVATED", "您尚未激活医保电子凭证", status=404)
        return Response(self.OutputSerializer(security_notifications(person), many=True).data)


class VoucherFreezeApi(APIView):
    """Lost phone: freeze my voucher now (codes and payments stop at once)."""

    class OutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=VoucherStatus.choices)
        already = serializers.BooleanField(help_text="It was frozen already.")

    @extend_schema(operation_id="voucher_freeze", request=None, responses={
        200: OutputSerializer, **errors({403: "CHANNEL_NOT_AUTHORIZED, VOUCHER_UNAVAILABLE", 404: "NOT_ACTIVATED"})})
    def post(self, request):
        result = voucher_freeze_own(login=request.user.login, session_id=request.auth.pk, ip=client_ip(request))
        return Response(self.OutputSerializer(result).data)


UNFREEZE_REFUSALS = {403: "CHANNEL_NOT_AUTHORIZED, VOUCHER_UNAVAILABLE, VOUCHER_FROZEN_BY_STAFF",
                     404: "NOT_ACTIVATED", 409: "VOUCHER_NOT_FROZEN"}


class VoucherUnfreezeLivenessStartApi(APIView):
    """Unfreeze my voucher, step 1: a liveness challenge for my own face
    (only a voucher I froze myself; staff freezes are lifted by staff)."""

    @extend_schema(operation_id="voucher_unfreeze_liveness_start", request=None, responses={
        200: SecurityLivenessChallengeOutputSerializer,
        **errors({**UNFREEZE_REFUSALS, 429: "TOO_MANY_ATTEMPTS (detail.retry_after)"})})
    def post(self, request):
        session = voucher_unfreeze_start(login=request.user.login, ip=client_ip(request))
        return Response(SecurityLivenessChallengeOutputSerializer(_challenge(session)).data)


class VoucherUnfreezeLivenessVerifyApi(APIView):
    """Unfreeze my voucher, step 2: the provider-signed result; unfrozen at once."""

    class OutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=VoucherStatus.choices)

    @extend_schema(operation_id="voucher_unfreeze_liveness_verify", request=SecurityLivenessResultInputSerializer,
                   responses={200: OutputSerializer,
                              **errors({400: LIVENESS_REFUSALS, **UNFREEZE_REFUSALS,
                                        409: "VOUCHER_NOT_FROZEN, SECURITY_VERIFICATION_REQUIRED"})})
    def post(self, request):
        data = _data(SecurityLivenessResultInputSerializer, request)
        result = voucher_unfreeze_verify(login=request.user.login, session_id=request.auth.pk, ip=client_ip(request),
                                         reference=data["reset_id"], result=data["result"],
                                         signature=data["signature"])
        return Response(self.OutputSerializer(result).data)
