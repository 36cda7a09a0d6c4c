"""The person's voucher APIs (authorizations, diagnosis)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.apis import AuthorizationOutputSerializer, client_ip
from common.errors import ApplicationError

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
