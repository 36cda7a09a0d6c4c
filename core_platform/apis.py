"""HTTP interface of the settlement core: the national-spec envelope
endpoint. Thin: the service authenticates, dispatches and answers."""

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .services.envelope import call_service


@csrf_exempt
@require_POST
def call_service_api(request):
    """POST /core/fsi/api/rsfComIfsService/callService — always HTTP 200 with
    an ``infcode``; see services/envelope.py."""
    text = call_service(request.headers, request.body)
    return HttpResponse(text.encode("utf-8"), content_type="application/json; charset=utf-8")
