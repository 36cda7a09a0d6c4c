"""Terminal-facing endpoints (national envelope), thin: read the body and
headers, call the gateway service, send its rendered answer with HTTP 200."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from common.envelope import InfCode, Receipt, answer, dumps_exact, render_answer
from common.errors import json_error
from common.http import client_ip
from common.middleware import body_refusal

from terminal.services.decode import decode_handle
from terminal.services.gateway import gateway_handle


def _terminal_message(message: str, status: int) -> str:
    if status == 413:
        return f"报文过大：不得超过 {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} 字节"
    return message


def _envelope(text: bytes) -> HttpResponse:
    return HttpResponse(text, content_type="application/json; charset=utf-8")


def _envelope_refusal(code: str, message: str, status: int) -> HttpResponse:
    """A body refused before it was read (see common.middleware): the
    terminal gets an envelope answer, HTTP 200 and infcode 1001, as for any
    malformed envelope."""
    refusal = answer(infcode=InfCode.MALFORMED, err_msg=_terminal_message(message, status))
    return _envelope(render_answer(Receipt(settings.GATEWAY_ADMDVS).stamp(refusal)))


def _decode_refusal(code: str, message: str, status: int) -> HttpResponse:
    return _envelope(dumps_exact({"code": int(InfCode.MALFORMED), "errorCode": "EC_MALFORMED",
                                  "message": _terminal_message(message, status), "data": None}))


@body_refusal(_envelope_refusal)
@csrf_exempt
def envelope_call_service(request):
    if request.method != "POST":
        return json_error("METHOD_NOT_ALLOWED", "请使用 POST 提交交易报文", 405)
    return _envelope(gateway_handle(body=request.body, headers=request.headers, ip=client_ip(request)))


@body_refusal(_decode_refusal)
@csrf_exempt
def voucher_decode(request):
    """POST /localcfc/api/hsecfc/localQrCodeQuery (transType ec.query)."""
    if request.method != "POST":
        return json_error("METHOD_NOT_ALLOWED", "请使用 POST 提交", 405)
    result = decode_handle(body=request.body, headers=request.headers, ip=client_ip(request))
    return _envelope(dumps_exact(result))
