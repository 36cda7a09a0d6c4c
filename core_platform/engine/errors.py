"""The engine's one refusal type. Pure: callers (the core's services) turn it
into their own ``ApplicationError`` (e.g. ``InvalidInput``)."""

from __future__ import annotations


class EngineError(ValueError):
    """A refused input. ``code`` is stable (``POLICY_INVALID``, ``ITEM_INVALID``,
    ``INPUT_INVALID``); ``message`` is Chinese, for people; ``detail`` is
    optional structured context (e.g. the offending ``feedetl_sn``)."""

    def __init__(self, code: str, message: str, detail: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail or {}

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"EngineError({self.code!r}, {self.message!r})"
