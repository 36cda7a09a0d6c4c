"""Bodies over the upload limit are refused before anything reads them.

Django enforces ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only when ``request.body`` or
``request.POST`` is read, by raising ``RequestDataTooBig`` deep inside a view
(a DRF view turned it into a 500) or inside CsrfViewMiddleware (a 400 logged
at ERROR with a traceback); and DRF reads the raw stream, not ``request.body``,
so it never checked the limit at all. Under ASGI a chunked body without
``Content-Length`` is not checked by Django either.

``RequestGuardMiddleware`` runs first: a declared ``Content-Length`` over the
limit, or an undeclared body that turns out to be longer, is answered at once
with 413 ``REQUEST_TOO_LARGE`` in the one error shape; a view that speaks
another protocol (the terminal envelope) says how to refuse with
``@body_refusal(render)``. A NUL character in the URL path or query is
refused the same way (400 ``MALFORMED_REQUEST``). See docs/subsystems/errors.md, "Bad bodies".
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver

from .errors import json_error, too_large_body

_DIGITS = re.compile(r"[0-9]+")
_NUL_QUERY = re.compile(r"%00|\x00")

# render(code, message, status) -> HttpResponse
Refusal = Callable[[str, str, int], HttpResponse]


def body_refusal(render: Refusal):
    """Mark a view whose clients expect refusals in their own envelope
    rather than the one REST error shape (apply it outermost)."""

    def decorate(view):
        view.body_refusal = render
        return view

    return decorate


def _refusal_for(request: HttpRequest) -> Refusal | None:
    try:
        match = get_resolver(getattr(request, "urlconf", None)).resolve(request.path_info)
    except Resolver404:
        return None
    return getattr(match.func, "body_refusal", None)


def _refuse(request: HttpRequest, code: str, message: str, status: int, detail: dict | None = None) -> HttpResponse:
    render = _refusal_for(request)
    if render is not None:
        return render(code, message, status)
    return json_error(code, message, status, detail=detail)


def _too_large(request: HttpRequest) -> HttpResponse:
    body = too_large_body()
    return _refuse(request, body["code"], body["message"], 413, body["detail"])


class RequestGuardMiddleware:
    """Place first in MIDDLEWARE, before anything that reads the body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        refused = self._check(request)
        if refused is not None:
            return refused
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> HttpResponse | None:
        # A NUL character in the path or query reaches a URL parameter and
        # then the database, and PostgreSQL text cannot hold one (a 500).
        if "\x00" in request.path_info or _NUL_QUERY.search(request.META.get("QUERY_STRING", "")):
            return _refuse(request, "MALFORMED_REQUEST", "请求地址中含有非法字符（NUL）", 400)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is None:
            return None
        declared = request.META.get("CONTENT_LENGTH")
        if declared not in (None, ""):
            if not _DIGITS.fullmatch(str(declared)):  # int() would take " 12", "+12" and "١٢"
                return _refuse(request, "MALFORMED_REQUEST", "请求头 Content-Length 不正确", 400)
            if int(declared) > limit:
                return _too_large(request)
            return None
        # No length declared (a chunked body under ASGI): read at most one byte
        # past the limit, and leave the request as ``request.body`` would.
        body = request.read(limit + 1)
        if len(body) > limit:
            return _too_large(request)
        request._body = body
        request._stream = io.BytesIO(body)
        return None
