"""One strict JSON reader for every body that comes from outside: the
terminal envelope, the voucher decode, the REST API and the WebSocket.

``json.loads`` alone lets through what later code cannot handle: nesting deep
enough to exhaust the recursion limit (a 500), lone surrogate escapes
(``"\\ud800"``) that fail the moment the string is encoded, ``NaN`` and
``Infinity``, and duplicate keys (two readers can see two different values).
Each of these is refused here with ``JsonBodyError``, which every caller turns
into its own 4xx/refusal in the one error shape. See docs/subsystems/errors.md.
"""

from __future__ import annotations

import json
from decimal import Decimal

MAX_DEPTH = 32  # the deepest legitimate body (an envelope's input.feedetail[i]) is 4


class JsonBodyError(ValueError):
    """The body is not JSON this service accepts; ``message`` is Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _refuse_constant(name: str):
    raise JsonBodyError(f"不接受 {name}：数值必须是有限的十进制数")


def _pairs(pairs: list[tuple[str, object]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise JsonBodyError(f"字段 {_printable(key)} 重复出现")
        result[key] = value
    return result


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")[:40]


def loads(body: bytes | str, *, decimal_numbers: bool = False, max_depth: int = MAX_DEPTH):
    """Parse ``body`` strictly. With ``decimal_numbers`` a JSON number with a
    fraction or exponent is read from its exact text as ``Decimal`` (never a
    binary float); integers stay ``int``. Raises ``JsonBodyError``."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonBodyError("报文不是合法的 UTF-8 编码")
    else:
        text = body
    try:
        data = json.loads(
            text,
            parse_float=Decimal if decimal_numbers else float,
            parse_constant=_refuse_constant,
            object_pairs_hook=_pairs,
        )
    except RecursionError:
        raise JsonBodyError("报文嵌套层级过深")
    except JsonBodyError:
        raise
    except (json.JSONDecodeError, ValueError):
        raise JsonBodyError("报文不是合法的JSON")
    _check(data, max_depth)
    return data


def _check(data, max_depth: int) -> None:
    """Iterative walk: depth limit and encodable strings (keys included)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict):
            if depth > max_depth:
                raise JsonBodyError("报文嵌套层级过深")
            for key, item in value.items():
                _check_text(key)
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            if depth > max_depth:
                raise JsonBodyError("报文嵌套层级过深")
            stack.extend((item, depth + 1) for item in value)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JsonBodyError("报文含有无效的 Unicode 字符（孤立代理项）")
