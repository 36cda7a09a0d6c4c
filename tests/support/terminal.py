"""A pharmacy terminal as a test persona: signs envelopes the way real POS
software does (common/signing.py) and posts them to the wallet's gateway."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

from common import signing

GATEWAY_PATH = "/fsi/api/rsfComIfsService/callService"


class Terminal:
    def __init__(self, client, fixmedins_code: str, secret: str, path: str = GATEWAY_PATH):
        self.client = client
        self.code = fixmedins_code
        self.secret = secret
        self.path = path
        self.sign_no = ""
        self.last_raw = b""

    def envelope(self, infno: str, input: dict, *, msgid: str | None = None, **fields) -> dict:
        body = {
            "infno": infno,
            "msgid": msgid or (self.code + dt.datetime.now().strftime("%Y%m%d%H%M%S") + uuid.uuid4().hex[:6]),
            "mdtrtarea_admvs": "",
            "insuplc_admdvs": "",
            "recer_sys_code": "POS",
            "infver": "V1.0",
            "opter_type": "1",
            "opter": "0001",
            "opter_name": "收银员甲",
            "inf_time": dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "fixmedins_code": self.code,
            "fixmedins_name": "测试药店",
            "sign_no": self.sign_no,
            "input": input,
        }
        body.update(fields)
        return body

    def post_raw(self, body: bytes, headers: dict | None = None) -> dict:
        """The answer parsed as a decimal-typed HIS client does: numbers from
        their exact text (``Decimal("12.50")``), never floats."""
        self.last_raw = self.post_bytes(body, headers)
        return json.loads(self.last_raw, parse_float=Decimal)

    def post_bytes(self, body: bytes, headers: dict | None = None) -> bytes:
        """The answer's exact bytes."""
        if headers is None:
            headers = signing.sign_headers(self.code, self.secret, body)
        response = self.client.post(self.path, data=body, content_type="application/json",
                                    headers=headers)
        assert response.status_code == 200, response.content
        return response.content

    def call(self, infno: str, input: dict, **kwargs) -> dict:
        body = json.dumps(self.envelope(infno, input, **kwargs), ensure_ascii=False).encode()
        return self.post_raw(body)

    def sign_in(self) -> str:
        answer = self.call("9001", {"signIn": {"opter_no": "0001", "mac": "00:11:22:33:44:55", "ip": "10.0.0.8"}})
        assert answer["infcode"] == 0, answer
        self.sign_no = answer["output"]["signinoutb"]["sign_no"]
        return self.sign_no
