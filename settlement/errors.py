"""Typed failures of a call to the settlement core. Callers decide by type:

- ``CoreUnavailable``: the request never reached the core (connection refused,
  DNS, connect timeout). Nothing happened there; retrying is safe.
- ``CoreTimeout``: the request was sent but no answer came. For a write the
  outcome is UNKNOWN and must be resolved (query by msgid), never guessed.
- ``CoreProtocolError``: the core answered something that is not an envelope
  (5xx page, bad JSON). Treated like a timeout for writes.
- ``CoreRefused``: the core answered with a non-zero infcode.
"""

from __future__ import annotations


class CoreError(Exception):
    pass


class CoreUnavailable(CoreError):
    pass


class CoreTimeout(CoreError):
    pass


class CoreProtocolError(CoreError):
    pass


class CoreRefused(CoreError):
    def __init__(self, infcode: int, err_msg: str, answer: dict | None = None):
        super().__init__(f"infcode={infcode} {err_msg}")
        self.infcode = infcode
        self.err_msg = err_msg
        self.answer = answer or {}
