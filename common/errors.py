"""One error shape for every API: ``{"code", "message", "detail"}``.

``code`` is stable and machine-readable (UPPER_SNAKE), ``message`` is Chinese
for people, ``detail`` is optional structured context. Services raise
``ApplicationError``; the DRF exception handler and the plain-Django views
render it. No stack trace ever reaches a client.
"""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A refusal a service explains to its caller."""

    status = 400

    def __init__(self, code: str, message: str, *, status: int | None = None, detail: dict | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.detail = detail or {}
        if status is not None:
            self.status = status

    def as_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.detail:
            body["detail"] = self.detail
        return body


def error_body(code: str, message: str, detail: dict | None = None) -> dict:
    body = {"code": code, "message": message}
    if detail:
        body["detail"] = detail
    return body


_DRF_CODES = {
    drf_exceptions.ParseError: ("MALFORMED_REQUEST", "请求格式不正确"),
    drf_exceptions.AuthenticationFailed: ("UNAUTHENTICATED", "请先登录"),
    drf_exceptions.NotAuthenticated: ("UNAUTHENTICATED", "请先登录"),
    drf_exceptions.PermissionDenied: ("FORBIDDEN", "无权执行此操作"),
    drf_exceptions.NotFound: ("NOT_FOUND", "请求的资源不存在"),
    drf_exceptions.MethodNotAllowed: ("METHOD_NOT_ALLOWED", "不支持的请求方法"),
    drf_exceptions.UnsupportedMediaType: ("UNSUPPORTED_MEDIA_TYPE", "不支持的请求内容类型"),
    drf_exceptions.Throttled: ("TOO_MANY_REQUESTS", "操作过于频繁，请稍后再试"),
}


def api_exception_handler(exc, context):
    """DRF ``EXCEPTION_HANDLER``: map every exception to the one error shape."""
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, RequestDataTooBig):  # RequestGuardMiddleware answers first; this is the backstop
        return Response(too_large_body(), status=413)
    if isinstance(exc, SuspiciousOperation):  # e.g. TooManyFieldsSent
        return Response(error_body("MALFORMED_REQUEST", "请求格式不正确"), status=400)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    if isinstance(exc, drf_exceptions.ValidationError):
        return Response(
            error_body("VALIDATION_ERROR", "提交的信息有误，请检查后重试", {"fields": exc.detail}),
            status=400,
        )
    if isinstance(exc, drf_exceptions.APIException):
        for cls, (code, message) in _DRF_CODES.items():
            if isinstance(exc, cls):
                return Response(error_body(code, message), status=exc.status_code)
        return Response(error_body("API_ERROR", "请求无法处理"), status=exc.status_code)
    logger.exception("unhandled error in API view")
    return Response(error_body("INTERNAL_ERROR", "系统繁忙，请稍后再试"), status=500)


def too_large_body() -> dict:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error_body("REQUEST_TOO_LARGE", f"请求内容过大：不得超过 {limit} 字节", {"max_bytes": limit})


def json_error(code: str, message: str, status: int, detail: dict | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, detail), status=status, json_dumps_params={"ensure_ascii": False})


def allow_methods(*methods: str):
    """Like ``require_http_methods``, but the 405 is in the one error shape."""
    allowed = [m.upper() for m in methods]
    if "GET" in allowed and "HEAD" not in allowed:
        allowed.append("HEAD")

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in allowed:
                response = json_error("METHOD_NOT_ALLOWED", f"不支持的请求方法，请使用 {' / '.join(methods)}", 405)
                response["Allow"] = ", ".join(allowed)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


# Plain-Django handlers (config.urls) so that 404/500 outside DRF have the same shape.
def handler404(request, exception=None):
    return json_error("NOT_FOUND", "请求的资源不存在", 404)


def handler500(request):
    return json_error("INTERNAL_ERROR", "系统繁忙，请稍后再试", 500)


def handler400(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(too_large_body(), status=413, json_dumps_params={"ensure_ascii": False})
    return json_error("MALFORMED_REQUEST", "请求格式不正确", 400)


def handler403(request, exception=None):
    return json_error("FORBIDDEN", "无权执行此操作", 403)


def csrf_failure(request, reason=""):
    """``CSRF_FAILURE_VIEW``: the refusal in the one shape, not Django's HTML page."""
    return json_error("CSRF_FAILED", "页面已过期或来源不可信，请刷新页面后重试", 403)
