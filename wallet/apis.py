"""Terminal-facing endpoints (national envelope), thin: read the body and
headers, call the gateway service, render JSON with HTTP 200."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from common.errors import json_error

from .services.decode import decode_handle
from .services.gateway import gateway_handle


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


@csrf_exempt
def envelope_call_service(request):
    if request.method != "POST":
        return json_error("METHOD_NOT_ALLOWED", "请使用 POST 提交交易报文", 405)
    result = gateway_handle(body=request.body, headers=request.headers, ip=_client_ip(request))
    return JsonResponse(result, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
def voucher_decode(request):
    """POST /localcfc/api/hsecfc/localQrCodeQuery (transType ec.query)."""
    if request.method != "POST":
        return json_error("METHOD_NOT_ALLOWED", "请使用 POST 提交", 405)
    result = decode_handle(body=request.body, headers=request.headers, ip=_client_ip(request))
    return JsonResponse(result, json_dumps_params={"ensure_ascii": False})
