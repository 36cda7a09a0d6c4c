"""The person's activation APIs that touch the voucher (real name, PIN) and
``me``. Thin: parse, call a service, render. Liveness (no voucher side) is in
accounts/apis.py."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.enums import Channel
from common.errors import ApplicationError
from common.http import client_ip

from .selectors import voucher_get
from .services.activation import activation_pin, activation_real_name
from .services.pin import pin_is_locked, pin_tries_left


def person_body(person) -> dict | None:
    if person is None:
        return None
    return {"name": person.name, "id_number_masked": person.id_number_masked, "insutype": person.insutype,
            "insured_region": person.insured_region}


class MeApi(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request):
        login = request.user.login
        person = login.person
        voucher = voucher_get(person)
        active_here = bool(voucher and voucher.authorizations.filter(login=login, status="active").exists())
        return Response({
            "channel": login.channel,
            "channel_name": Channel(login.channel).label,
            "activated": active_here and voucher.status == "active",
            "person": person_body(person),
            "voucher": None if voucher is None else {
                "status": voucher.status,
                "pin_locked": pin_is_locked(voucher),
                "pin_tries_left": pin_tries_left(voucher),
            },
        })


class RealNameApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=50)
        id_number = serializers.CharField(max_length=30)

    @extend_schema(request=InputSerializer, responses={200: dict})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        activation = activation_real_name(login=request.user.login, ip=client_ip(request), **data.validated_data)
        return Response({"activation_id": activation.public_id, "next": "liveness",
                         "person": person_body(activation.person), "pin_mode": activation.pin_mode})


class AuthorizationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    channel = serializers.CharField()
    channel_name = serializers.SerializerMethodField()
    status = serializers.CharField()
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

    @extend_schema(request=InputSerializer, responses={200: dict})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        if not data.is_valid():
            if "pin" in data.errors or "pin_confirm" in data.errors:
                raise ApplicationError("PIN_FORMAT", "支付密码须为6位数字")
            data.is_valid(raise_exception=True)
        authorization = activation_pin(login=request.user.login, ip=client_ip(request), **data.validated_data)
        authorization.voucher.refresh_from_db()
        return Response({
            "next": "done",
            "voucher": {"status": authorization.voucher.status},
            "authorization": AuthorizationOutputSerializer(authorization, context={"login": request.user.login}).data,
        })
