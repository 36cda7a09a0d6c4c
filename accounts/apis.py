"""The app's login and activation APIs. Thin: parse, call a service, render."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from wallet.selectors import voucher_get

from .enums import Channel
from .liveness import get_provider
from .services.activation import activation_liveness_start, activation_liveness_verify, activation_pin, activation_real_name
from .services.pin import pin_is_locked, pin_tries_left
from .services.sessions import login_start, session_end, session_refresh, ws_ticket_issue


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class SessionOutputSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
    channel = serializers.CharField()


def _session_body(session, token) -> dict:
    return {"token": token, "expires_at": timezone.localtime(session.expires_at).isoformat(),
            "channel": session.login.channel}


class LoginApi(APIView):
    """Sign in with a channel identity (the demo stands in for the channel's OAuth)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        channel = serializers.ChoiceField(choices=Channel.choices)
        openid = serializers.CharField(min_length=4, max_length=64)

    @extend_schema(request=InputSerializer, responses=SessionOutputSerializer)
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        session, token = login_start(ip=client_ip(request), **data.validated_data)
        return Response(_session_body(session, token))


class RefreshApi(APIView):
    @extend_schema(request=None, responses=SessionOutputSerializer)
    def post(self, request):
        session, token = session_refresh(request.auth)
        return Response(_session_body(session, token))


class LogoutApi(APIView):
    @extend_schema(request=None, responses={200: dict})
    def post(self, request):
        session_end(request.auth)
        return Response({"ok": True})


class WsTicketApi(APIView):
    @extend_schema(request=None, responses={200: dict})
    def post(self, request):
        from django.conf import settings

        return Response({"ticket": ws_ticket_issue(request.auth), "expires_in": settings.WS_TICKET_TTL_SECONDS})


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


class LivenessStartApi(APIView):
    class InputSerializer(serializers.Serializer):
        activation_id = serializers.CharField(max_length=64)

    @extend_schema(request=InputSerializer, responses={200: dict})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        session = activation_liveness_start(login=request.user.login, ip=client_ip(request), **data.validated_data)
        provider = get_provider()
        return Response({"session_id": session.pk, "nonce": session.nonce, "actions": session.actions,
                         "expires_at": timezone.localtime(session.expires_at).isoformat(),
                         "provider": provider.name, "provider_url": provider.url})


class LivenessVerifyApi(APIView):
    class InputSerializer(serializers.Serializer):
        activation_id = serializers.CharField(max_length=64)
        result = serializers.JSONField()
        signature = serializers.CharField(max_length=200)

    @extend_schema(request=InputSerializer, responses={200: dict})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        activation = activation_liveness_verify(login=request.user.login, ip=client_ip(request), **data.validated_data)
        return Response({"next": "pin", "pin_mode": activation.pin_mode})


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
            from common.errors import ApplicationError

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
