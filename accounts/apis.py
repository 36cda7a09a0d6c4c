"""The app's login, session and liveness APIs. Thin: parse, call a service, render.

The activation steps that touch the voucher (real name, PIN) and ``me`` are
the wallet's: wallet/apis.py."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from common.http import client_ip
from common.schema import errors

from .enums import Channel, PinMode
from .liveness import get_provider
from .services.activation import activation_liveness_start, activation_liveness_verify
from .services.sessions import login_start, session_end, session_refresh, ws_ticket_issue


class SessionOutputSerializer(serializers.Serializer):
    """A signed-in session (component ``Session``)."""

    token = serializers.CharField(help_text="Bearer token for the Authorization header.")
    expires_at = serializers.DateTimeField()
    channel = serializers.ChoiceField(choices=Channel.choices)


def _session_body(session, token) -> dict:
    return SessionOutputSerializer({"token": token, "expires_at": session.expires_at,
                                    "channel": session.login.channel}).data


class LoginApi(APIView):
    """Sign in with a channel identity (the demo stands in for the channel's OAuth)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        channel = serializers.ChoiceField(choices=Channel.choices)
        openid = serializers.CharField(min_length=4, max_length=64)

    @extend_schema(request=InputSerializer,
                   responses={200: SessionOutputSerializer, **errors({400: "CHANNEL_INVALID"})})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        session, token = login_start(ip=client_ip(request), **data.validated_data)
        return Response(_session_body(session, token))


class RefreshApi(APIView):
    """A new token for the same login; the one sent stops working at once
    (401 UNAUTHENTICATED when it was already refreshed or ended)."""

    @extend_schema(request=None, responses={200: SessionOutputSerializer})
    def post(self, request):
        session, token = session_refresh(request.auth)
        return Response(_session_body(session, token))


class LogoutApi(APIView):
    class OutputSerializer(serializers.Serializer):
        ok = serializers.BooleanField()

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request):
        session_end(request.auth)
        return Response(self.OutputSerializer({"ok": True}).data)


class WsTicketApi(APIView):
    """A single-use ticket for one WebSocket connect (the token never goes in a URL)."""

    class OutputSerializer(serializers.Serializer):
        ticket = serializers.CharField()
        expires_in = serializers.IntegerField(help_text="Seconds.")

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request):
        return Response(self.OutputSerializer({"ticket": ws_ticket_issue(request.auth),
                                               "expires_in": settings.WS_TICKET_TTL_SECONDS}).data)


class LivenessStartApi(APIView):
    class InputSerializer(serializers.Serializer):
        activation_id = serializers.CharField(max_length=64)

    class OutputSerializer(serializers.Serializer):
        session_id = serializers.IntegerField()
        nonce = serializers.CharField()
        actions = serializers.ListField(child=serializers.CharField())
        expires_at = serializers.DateTimeField()
        provider = serializers.CharField()
        provider_url = serializers.CharField(help_text="The provider's base URL (same origin: a path).")

    @extend_schema(request=InputSerializer, responses={
        200: OutputSerializer,
        **errors({404: "ACTIVATION_NOT_FOUND", 409: "ACTIVATION_STEP_ORDER", 429: "TOO_MANY_ATTEMPTS"}),
    })
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        session = activation_liveness_start(login=request.user.login, ip=client_ip(request), **data.validated_data)
        provider = get_provider()
        return Response(self.OutputSerializer({"session_id": session.pk, "nonce": session.nonce,
                                               "actions": session.actions, "expires_at": session.expires_at,
                                               "provider": provider.name, "provider_url": provider.url}).data)


class LivenessVerifyApi(APIView):
    class InputSerializer(serializers.Serializer):
        activation_id = serializers.CharField(max_length=64)
        result = serializers.JSONField()
        signature = serializers.CharField(max_length=200)

    class OutputSerializer(serializers.Serializer):
        next = serializers.ChoiceField(choices=["pin"])
        pin_mode = serializers.ChoiceField(choices=PinMode.choices)

    @extend_schema(request=InputSerializer, responses={
        200: OutputSerializer,
        **errors({400: "LIVENESS_SIGNATURE_INVALID, LIVENESS_NONCE_UNKNOWN, LIVENESS_REPLAYED, LIVENESS_EXPIRED, "
                       "LIVENESS_SUBJECT_MISMATCH, LIVENESS_NOT_LIVE, LIVENESS_FACE_MISMATCH",
                  404: "ACTIVATION_NOT_FOUND", 409: "ACTIVATION_STEP_ORDER"}),
    })
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        activation = activation_liveness_verify(login=request.user.login, ip=client_ip(request), **data.validated_data)
        return Response(self.OutputSerializer({"next": "pin", "pin_mode": activation.pin_mode}).data)
