"""HTTP interface of the settlement core: the national-spec envelope
endpoint. Thin: the service authenticates, dispatches and answers."""

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from common.envelope import InfCode, Receipt, answer, render_answer
from common.errors import allow_methods
from common.middleware import body_refusal

from .services.envelope import call_service


def _terminal_message(message: str, status: int) -> str:
    if status == 413:
        return f"报文过大：不得超过 {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} 字节"
    return message


def _envelope_refusal(code: str, message: str, status: int) -> HttpResponse:
    """A body refused before it was read (common.middleware): still an envelope answer."""
    refusal = answer(infcode=InfCode.MALFORMED, err_msg=_terminal_message(message, status))
    return HttpResponse(render_answer(Receipt(settings.CORE_ADMDVS).stamp(refusal)),
                        content_type="application/json; charset=utf-8")


@body_refusal(_envelope_refusal)
@csrf_exempt
@allow_methods("POST")
def call_service_api(request):
    """POST /core/fsi/api/rsfComIfsService/callService — always HTTP 200 with
    an ``infcode``; see services/envelope.py."""
    text = call_service(request.headers, request.body)
    return HttpResponse(text.encode("utf-8"), content_type="application/json; charset=utf-8")
