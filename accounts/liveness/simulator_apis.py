"""HTTP face of the liveness simulator (the provider's side, not the wallet's)."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from common import jsonbody
from common.errors import json_error

from .simulator import OUTCOMES, simulator_result


@csrf_exempt
def session_result(request, nonce: str):
    if settings.LIVENESS_PROVIDER != "simulator":  # a real vendor is configured: no simulator here
        return json_error("NOT_FOUND", "请求的资源不存在", 404)
    if request.method != "POST":
        return json_error("METHOD_NOT_ALLOWED", "请使用 POST", 405)
    try:
        body = jsonbody.loads(request.body or b"{}")
    except jsonbody.JsonBodyError as error:
        return json_error("MALFORMED_REQUEST", f"请求格式不正确：{error.message}", 400)
    outcome = body.get("outcome", "pass") if isinstance(body, dict) else None
    if outcome not in OUTCOMES:
        return json_error("VALIDATION_ERROR", "outcome 须为 pass / face_mismatch / not_live", 400)
    produced = simulator_result(nonce, outcome)
    if produced is None:
        return json_error("LIVENESS_SESSION_NOT_FOUND", "人脸识别会话不存在或已过期", 404)
    result, signature = produced
    return JsonResponse({"result": result, "signature": signature})
