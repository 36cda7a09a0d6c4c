"""50 settlements at once by a payer and four relatives against the payer's
one personal account (family mutual aid, direct mode): no overdraft, every
fen of the payer's account accounted for, the ledger balanced. Real core
process over HTTP (seeded demo data: region 370200 allows mutual aid for
every relation, directly), on PostgreSQL (row locks, own-money accounts in
owner order) and SQLite (BEGIN IMMEDIATE)."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from common import demodata, idnumber
from settlement.client import SettlementCoreClient
from tests.support.processes import base_env, run_manage

pytestmark = pytest.mark.django_db

REGION = demodata.FAMILY_REGION[1]
PHARMACY = next(i for i in demodata.generate().institutions if i.region == REGION and i.kind == "pharmacy")
ITEM = next(c for c in demodata.generate().catalogue if c.list_class == "A" and c.price_cap_fen is None)
PAYER_OPENING_FEN = 50_000  # 500.00 yuan: far less than the 50 bills ask of it


def _enrol(env, name, born, insutype, *extra) -> str:
    number = idnumber.make(REGION, born, 200 + uuid.uuid4().int % 700)
    out = run_manage(env, "core_enrol_person", "--name", name, "--id-number", number, "--insutype", insutype,
                     "--region", REGION, *extra)
    return re.search(r"psn_no=(\d+)", out).group(1)


def test_payer_and_four_relatives_settle_at_once_without_overdraft(core_live, settings):
    env = base_env(YIBAO_SERVICE="core", CORE_DATABASE_URL=core_live.db_url)
    payer = _enrol(env, "并发共济", dt.date(1985, 6, 1), "310", "--employer", "测试公司", "--psn-type", "11")
    relatives = {
        "spouse": _enrol(env, "并发配偶", dt.date(1987, 2, 2), "390"),
        "child": _enrol(env, "并发长子", dt.date(2012, 3, 3), "390"),
        "child2": _enrol(env, "并发次子", dt.date(2015, 4, 4), "390"),
        "parent": _enrol(env, "并发老父", dt.date(1955, 5, 5), "390"),
    }
    run_manage(env, "core_register_household", "--hh-no", f"{REGION}C{uuid.uuid4().hex[:8].upper()}",
               "--region", REGION, "--member", f"{payer}:head", "--member", f"{relatives['spouse']}:spouse",
               "--member", f"{relatives['child']}:child", "--member", f"{relatives['child2']}:child",
               "--member", f"{relatives['parent']}:parent")
    run_manage(env, "core_credit_account", "--psn-no", payer, "--amount-fen", str(PAYER_OPENING_FEN), "--reference",
               f"mulaid-conc-{payer}")
    client = SettlementCoreClient(core_live.url, settings.CORE_API_CLIENT_ID, settings.CORE_API_SECRET, 60, 0)
    events = [{"message_id": str(uuid.uuid4()), "person_key": payer, "sequence": int(time.time() * 1000) + n,
               "kind": "mulaid.authorized",
               "payload": {"auth_id": f"CONC-{psn_no}", "version": 1, "payer_psn_no": payer, "rel_psn_no": psn_no,
                           "relation": relation.rstrip("2"), "mode": "direct", "annual_cap_fen": None,
                           "bill_cap_fen": None}}
              for n, (relation, psn_no) in enumerate(relatives.items())]
    results = client.call("9201", {"events": events})["results"]
    assert [r["result"] for r in results] == ["applied"] * 4, results

    def body(psn_no, insutype, auth=None):
        info = {"psn_no": psn_no, "mdtrt_cert_type": "99", "mdtrt_cert_no": psn_no, "medfee_sumamt": "100.00",
                "insutype": insutype, "acct_used_flag": "1", "med_type": "41"}
        if auth:
            info.update({"mulaid_auth_id": auth, "mulaid_auth_version": 1})
        return {"druginfo": info, "drugdetail": [{"feedetl_sn": "1", "med_list_codg": ITEM.med_list_codg,
                                                  "det_item_fee_sumamt": "100.00", "cnt": "1", "pric": "100.00"}]}

    people = [(payer, "310", None)] + [(p, "390", f"CONC-{p}") for p in relatives.values()]
    bills = [people[n % 5] for n in range(50)]  # 10 each

    def settle(n):
        psn_no, insutype, auth = bills[n]
        return client.call_raw("2102", body(psn_no, insutype, auth), msgid=f"MCONC{payer[-6:]}{n:04d}",
                               fixmedins_code=PHARMACY.fixmedins_code)

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(settle, range(50)))
    assert all(a["infcode"] == 0 for a in answers), [a for a in answers if a["infcode"] != 0][:3]
    from_payer = 0
    for (psn_no, insutype, auth), answer in zip(bills, answers):
        info = answer["output"]["setlinfo"]
        parts = [info[f] for f in ("fund_pay_sumamt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")]
        assert sum(parts) == Decimal("100.00") and min(parts) >= 0
        if auth is None:  # the payer's own bill: 70 % fund, 30.00 from the account while it lasts
            assert info["fund_pay_sumamt"] == Decimal("70.00") and info["acct_mulaid_pay"] == Decimal("0.00")
            from_payer += int(info["acct_pay"] * 100)
        else:  # a relative (resident, 50 %, no balance of their own): the payer's account, then cash
            assert info["fund_pay_sumamt"] == Decimal("50.00") and info["acct_pay"] == Decimal("0.00")
            assert info["mulaid_payer_psn_no"] == (payer if info["acct_mulaid_pay"] else "")
            from_payer += int(info["acct_mulaid_pay"] * 100)
    # 10 × 30.00 + 40 × 50.00 asked of 500.00: exactly the balance was paid, not a fen more
    assert from_payer == PAYER_OPENING_FEN
    assert client.call("1101", {"data": {"mdtrt_cert_type": "99", "mdtrt_cert_no": payer}})["insuinfo"][0][
        "balc"] == Decimal("0.00")
    assert len({a["output"]["setlinfo"]["setl_id"] for a in answers}) == 50
    today = dt.date.today().isoformat()
    rows = [r for r in client.call("3202", {"data": {"setl_date": today, "fixmedins_code": PHARMACY.fixmedins_code}},
                                   fixmedins_code=PHARMACY.fixmedins_code)["stmtdetail"]
            if r["mulaid_payer_psn_no"] == payer]
    assert sum(int(r["acct_mulaid_pay"] * 100) for r in rows) == from_payer - sum(
        int(a["output"]["setlinfo"]["acct_pay"] * 100) for (p, _, auth), a in zip(bills, answers) if auth is None)
    assert "ledger consistent" in run_manage(env, "core_ledger_check")
