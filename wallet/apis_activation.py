"""The person's activation APIs that touch the voucher (real name, PIN) and
``me``. Thin: parse, call a service, render. Liveness (no voucher side) is in
accounts/apis.py."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.enums import Channel, PinMode
from common.errors import ApplicationError
from common.http import client_ip
from common.schema import errors

from .enums import AuthorizationStatus, VoucherStatus
from .selectors import voucher_get, voucher_usable_by
from .services.activation import activation_pin, activation_real_name
from .services.pin import pin_is_locked, pin_tries_left


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
