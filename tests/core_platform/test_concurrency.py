"""Concurrent settlements against one personal account serialise: 50 bills
at once against a balance that covers 10 — exactly 10 are paid from the
account, none is lost or doubled. Real core process over HTTP, on
PostgreSQL (row locks) and on SQLite (BEGIN IMMEDIATE)."""

from __future__ import annotations

from decimal import Decimal

import datetime as dt
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from common import demodata, idnumber
from settlement.client import SettlementCoreClient
from tests.support.processes import base_env, run_manage

pytestmark = pytest.mark.django_db

# A pharmacy in the person's own region (440100): one in another province would need a filing.
PHARMACY = next(i for i in demodata.generate().institutions
                if i.kind == "pharmacy" and i.designated and i.region == "440100")
ITEM = next(c for c in demodata.generate().catalogue if c.list_class == "A" and c.price_cap_fen is None)


def _core_env(core_live) -> dict:
    return base_env(YIBAO_SERVICE="core", CORE_DATABASE_URL=core_live.db_url)


def test_fifty_concurrent_settlements_against_a_balance_for_ten(core_live, settings):
    env = _core_env(core_live)
    number = idnumber.make("440100", dt.date(1985, 6, 1), 100 + uuid.uuid4().int % 800)
    out = run_manage(env, "core_enrol_person", "--name", "并发测试", "--id-number", number, "--insutype", "310",
                     "--region", "440100", "--employer", "测试公司", "--psn-type", "11")
    psn_no = re.search(r"psn_no=(\d+)", out).group(1)
    run_manage(env, "core_credit_account", "--psn-no", psn_no, "--amount-fen", "35000", "--reference",
               f"conc-{psn_no}")
    # Pharmacy (level 9) pays 65% of a 100.00 A-class bill: the person's 35.00 comes from the account.
    bill = {"druginfo": {"psn_no": psn_no, "mdtrt_cert_type": "99", "mdtrt_cert_no": psn_no,
                         "begntime": "2026-11-23 10:00:00", "medfee_sumamt": "100.00", "insutype": "310",
                         "acct_used_flag": "1", "med_type": "41"},
            "drugdetail": [{"feedetl_sn": "1", "med_list_codg": ITEM.med_list_codg, "det_item_fee_sumamt": "100.00",
                            "cnt": "1", "pric": "100.00"}]}
    client = SettlementCoreClient(core_live.url, settings.CORE_API_CLIENT_ID, settings.CORE_API_SECRET, 60, 0)

    def settle(n):
        return client.call_raw("2102", bill, msgid=f"CONC{psn_no[-6:]}{n:04d}", fixmedins_code=PHARMACY.fixmedins_code)

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(settle, range(50)))
    assert all(a["infcode"] == 0 for a in answers), [a for a in answers if a["infcode"] != 0][:3]
    account_parts = sorted(a["output"]["setlinfo"]["acct_pay"] for a in answers)
    assert account_parts.count(Decimal("35.00")) == 10
    assert account_parts.count(Decimal("0.00")) == 40
    cash = [a["output"]["setlinfo"]["psn_cash_pay"] for a in answers if a["output"]["setlinfo"]["acct_pay"] == Decimal("0.00")]
    assert set(cash) == {Decimal("35.00")}
    info = client.call("1101", {"data": {"mdtrt_cert_type": "99", "mdtrt_cert_no": psn_no}})
    assert info["insuinfo"][0]["balc"] == Decimal("0.00")
    assert len({a["output"]["setlinfo"]["setl_id"] for a in answers}) == 50
    # The books still balance: every posting sums to zero, balances equal their entries.
    assert "ledger consistent" in run_manage(env, "core_ledger_check")
