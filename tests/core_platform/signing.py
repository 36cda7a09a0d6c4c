"""Test helper: build envelopes and post them to the core, signed the way the
wallet's settlement client signs (common.signing)."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal

from django.conf import settings

from common import signing

URL = "/core/fsi/api/rsfComIfsService/callService"


def envelope(infno: str, input_: dict, *, msgid: str | None = None, fixmedins_code: str = "YIBAO-WALLET", **extra) -> dict:
    body = {
        "infno": infno,
        "msgid": msgid or uuid.uuid4().hex,
        "mdtrtarea_admvs": "",
        "insuplc_admdvs": "",
        "recer_sys_code": "YBW",
        "infver": "V1.0",
        "opter_type": "1",
        "opter": "wallet",
        "opter_name": "wallet",
        "inf_time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "fixmedins_code": fixmedins_code,
        "fixmedins_name": "医保电子凭证钱包",
        "sign_no": "",
        "input": input_,
    }
    body.update(extra)
    return body


def post(client, body, *, client_id: str | None = None, secret: str | None = None, now: float | None = None,
         headers: dict | None = None):
    """POST ``body`` (a dict, or raw bytes) signed; returns the response."""
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    signed = signing.sign_headers(client_id or settings.CORE_API_CLIENT_ID, secret or settings.CORE_API_SECRET,
                                  raw, now=now)
    signed.update(headers or {})
    return client.post(URL, data=raw, content_type="application/json", headers=signed)


def call(client, body, **kwargs) -> dict:
    """The answer, read as a decimal-typed client reads it: numbers with a
    fraction as exact ``Decimal`` (``0.00`` stays two places), never floats."""
    response = post(client, body, **kwargs)
    assert response.status_code == 200
    return json.loads(response.content, parse_float=Decimal)
