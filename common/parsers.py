"""The REST API's only body parser: JSON, UTF-8, read by ``common.jsonbody``.

DRF's ``JSONParser`` hands ``json.load`` the raw stream: nesting 100,000 deep
exhausts the recursion limit (a 500), lone surrogates and NaN get through to
serializers and the renderer (a 500 when echoed back), duplicate keys are
silently merged, a ``charset`` parameter picks any codec Python knows, and the
upload limit is never checked (DRF reads the stream, not ``request.body``).

``StrictJSONParser`` refuses each of these with an ``ApplicationError`` in
the one error shape:

- 400 ``MALFORMED_REQUEST`` — not strict JSON (the reason in the message),
  or a string holding a NUL character (PostgreSQL text cannot store one);
- 413 ``REQUEST_TOO_LARGE`` — over ``DATA_UPLOAD_MAX_MEMORY_SIZE``;
- 415 ``UNSUPPORTED_MEDIA_TYPE`` — a charset other than UTF-8.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.http import parse_header_parameters
from rest_framework.parsers import BaseParser

from . import jsonbody
from .errors import ApplicationError, too_large_body

_UTF8 = {"utf-8", "utf8"}


def _has_nul(data) -> bool:
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


class StrictJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        _, params = parse_header_parameters(media_type or "")
        charset = params.get("charset")
        if charset is not None and charset.strip().lower() not in _UTF8:
            raise ApplicationError("UNSUPPORTED_MEDIA_TYPE", "请求内容须为 UTF-8 编码的 JSON", status=415)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(body) > limit:
            body = too_large_body()
            raise ApplicationError(body["code"], body["message"], status=413, detail=body["detail"])
        try:
            data = jsonbody.loads(body)
        except jsonbody.JsonBodyError as error:
            raise ApplicationError("MALFORMED_REQUEST", f"请求格式不正确：{error.message}")
        if _has_nul(data):
            raise ApplicationError("MALFORMED_REQUEST", "请求格式不正确：文本中不能含有 NUL 字符")
        return data
