"""A pharmacy POS as a test persona: signs in, decodes a person's code,
builds bills from the demo catalogue, pre-settles, settles, reverses."""

from __future__ import annotations

import json
from decimal import Decimal

from common import demodata, signing
from tests.support.terminal import Terminal
from terminal.services.institutions import institution_register

DATA = demodata.generate(demodata.DEFAULT_SEED)
CATALOGUE = {c.med_list_codg: c for c in DATA.catalogue}
A_ITEMS = [c for c in DATA.catalogue if c.list_class == "A" and c.price_cap_fen is None]
DECODE = "/localcfc/api/hsecfc/localQrCodeQuery"


def pharmacies_for(person) -> list:
    """The designated pharmacies where ``person``'s bill is a local one: those
    of their insured region first, then the other regions of their province.
    (A pharmacy in another province needs a cross-province filing: 4011 NOT_FILED.)"""
    pharmacies = [i for i in DATA.institutions if i.kind == "pharmacy" and i.designated]
    region = person.insured_region
    return [i for i in pharmacies if i.region == region] + \
        [i for i in pharmacies if i.region[:2] == region[:2] and i.region != region]


def pharmacy_for(person):
    """A designated pharmacy where ``person``'s bill is a local one: in their
    insured region, else another region of their province."""
    for candidate in pharmacies_for(person):
        return candidate
    raise LookupError(f"no designated demo pharmacy in the province of {person.insured_region}")


def register(inst) -> None:
    institution_register(fixmedins_code=inst.fixmedins_code, name=inst.name, kind=inst.kind, level=inst.level,
                         region=inst.region, designated=inst.designated, secret=inst.secret)


class Pos(Terminal):
    def __init__(self, client, inst):
        register(inst)
        super().__init__(client, inst.fixmedins_code, inst.secret)
        self.token = ""
        self.sign_in()

    def decode(self, qr_code: str) -> dict:
        body = json.dumps({"transType": "ec.query", "orgId": self.code,
                           "data": {"orgId": self.code, "businessType": "02121", "operatorId": "0001",
                                    "operatorName": "收银员甲", "officeId": "01", "officeName": "柜台",
                                    "deviceType": "POS", "qrCode": qr_code}}, ensure_ascii=False).encode()
        answer = self.client.post(DECODE, data=body, content_type="application/json",
                                  headers=signing.sign_headers(self.code, self.secret, body)).json()
        if answer["code"] == 0:
            self.token = answer["data"]["ecToken"]
        return answer

    def bill(self, items: list[tuple[str, str, str]], **druginfo) -> dict:
        """items: (med_list_codg, unit price in yuan, quantity)."""
        rows, total = [], Decimal(0)
        for n, (code, pric, cnt) in enumerate(items, 1):
            amount = (Decimal(pric) * Decimal(cnt)).quantize(Decimal("0.01"))
            total += amount
            rows.append({"feedetl_sn": f"{n:04d}", "med_list_codg": code, "medins_list_codg": f"L{code}",
                         "det_item_fee_sumamt": str(amount), "cnt": cnt, "pric": pric,
                         "med_list_name": CATALOGUE[code].name if code in CATALOGUE else ""})
        info = {"mdtrt_cert_type": "01", "mdtrt_cert_no": self.token, "begntime": "2026-11-23 10:00:00",
                "medfee_sumamt": str(total), "insutype": "310", "acct_used_flag": "1", "med_type": "41"}
        info.update(druginfo)
        return {"druginfo": info, "drugdetail": rows}

    def pre_settle(self, bill: dict, **kwargs) -> dict:
        return self.call("2101", bill, **kwargs)

    def settle(self, bill: dict, **kwargs) -> dict:
        return self.call("2102", bill, **kwargs)

    def reverse(self, setl_id: str, **kwargs) -> dict:
        return self.call("2103", {"data": {"setl_id": setl_id}}, **kwargs)
