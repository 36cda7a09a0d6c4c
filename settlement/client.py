"""HTTP client for the settlement core (the book of record).

Speaks the national envelope to ``SETTLEMENT_CORE_URL`` + the national path,
signed with the wallet's client credentials (common/signing.py). Retries only
where it is safe: a failure to connect never reached the core, so any call may
retry it; a read timeout on a *query* transaction may retry; a read timeout on a
*write* transaction (settle, reverse) raises ``CoreTimeout`` and the caller
resolves the unknown outcome. See docs/subsystems/sync.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from functools import lru_cache

import httpx
from django.conf import settings

from common import signing
from common.envelope import dumps_exact, load_answer
from common.fields import is_ascii_digits

from .errors import CoreProtocolError, CoreRefused, CoreTimeout, CoreUnavailable

logger = logging.getLogger(__name__)

ENVELOPE_PATH = "/fsi/api/rsfComIfsService/callService"
# Transactions that change nothing in the core: a read timeout may be retried.
QUERY_INFNOS = frozenset({"1101", "1201", "2001", "2101", "3201", "3202", "9101", "9301", "9302", "9303"})


def new_msgid(prefix: str = "WALLET") -> str:
    return f"{prefix}{dt.datetime.now():%Y%m%d%H%M%S}{uuid.uuid4().hex[:12]}"[:40]


class SettlementCoreClient:
    def __init__(self, base_url: str, client_id: str, secret: str, timeout: float, retries: int):
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.secret = secret
        self.retries = retries
        self._http = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
                                  limits=httpx.Limits(max_connections=50, max_keepalive_connections=20))

    def health(self) -> dict:
        try:
            response = self._http.get(f"{self.base_url}/healthz", timeout=2.0)
        except httpx.TransportError as exc:
            raise CoreUnavailable(str(exc)) from exc
        if response.status_code != 200:
            raise CoreProtocolError(f"health answered HTTP {response.status_code}")
        return load_answer(response.content)

    def call(self, infno: str, input: dict, *, msgid: str | None = None, fixmedins_code: str = "WALLET",
             extra: dict | None = None) -> dict:
        """Send one envelope; return its ``output`` on infcode 0, else raise."""
        answer = self.call_raw(infno, input, msgid=msgid, fixmedins_code=fixmedins_code, extra=extra)
        if answer["infcode"] != 0:
            raise CoreRefused(answer.get("infcode", -1), answer.get("err_msg", ""), answer)
        return answer.get("output") or {}

    def call_raw(self, infno: str, input: dict, *, msgid: str | None = None, fixmedins_code: str = "WALLET",
                 extra: dict | None = None) -> dict:
        envelope = {
            "infno": infno,
            "msgid": msgid or new_msgid(),
            "fixmedins_code": fixmedins_code,
            "inf_time": dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "recer_sys_code": "YIBAO",
            "infver": "V1.0",
            "opter_type": "3",
            **(extra or {}),
            "input": input,
        }
        body = dumps_exact(envelope)  # a Decimal amount goes as a JSON number; a float is refused
        attempts = 1 + max(0, self.retries)
        for attempt in range(attempts):
            headers = {"content-type": "application/json; charset=utf-8",
                       **signing.sign_headers(self.client_id, self.secret, body)}
            try:
                response = self._http.post(self.base_url + ENVELOPE_PATH, content=body, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Never reached the core: safe to retry any transaction.
                if attempt + 1 < attempts:
                    time.sleep(0.1 * (2 ** attempt))
                    continue
                raise CoreUnavailable(f"settlement core unreachable: {type(exc).__name__}") from exc
            except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if infno in QUERY_INFNOS and attempt + 1 < attempts:
                    continue
                raise CoreTimeout(f"no answer from settlement core for {infno} {envelope['msgid']}") from exc
            if response.status_code >= 500 and infno in QUERY_INFNOS and attempt + 1 < attempts:
                continue
            try:
                answer = load_answer(response.content)  # amounts as exact Decimal, never a float
            except ValueError as exc:
                raise CoreProtocolError(f"HTTP {response.status_code}, body is not JSON") from exc
            if not isinstance(answer, dict) or _infcode(answer.get("infcode")) is None:
                raise CoreProtocolError(f"HTTP {response.status_code}, body is not an envelope answer")
            answer["infcode"] = _infcode(answer["infcode"])
            return answer
        raise CoreUnavailable("settlement core unreachable")  # pragma: no cover - loop always returns/raises


def _infcode(value) -> int | None:
    """infcode as an int: a JSON integer, or the digit string some platforms
    send ("0"); anything else is not an answer."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if is_ascii_digits(value, max_length=9):  # infcodes are never negative
        return int(value)
    return None


@lru_cache(maxsize=4)
def _client(base_url: str, client_id: str, secret: str, timeout: float, retries: int) -> SettlementCoreClient:
    return SettlementCoreClient(base_url, client_id, secret, timeout, retries)


def core_client() -> SettlementCoreClient:
    return _client(settings.SETTLEMENT_CORE_URL, settings.CORE_API_CLIENT_ID, settings.CORE_API_SECRET,
                   settings.SETTLEMENT_CORE_TIMEOUT, settings.SETTLEMENT_CORE_RETRIES)
