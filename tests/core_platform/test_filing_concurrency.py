"""A filing cancelled while bills are being settled (issue #14: "a filing
cancelled while a bill is being settled is never used after the
cancellation took effect"). Real core process over HTTP: 30 concurrent 2102
for one person under a long-term filing, and the wallet's 9201
filing.cancelled sent while they run. Each bill is either settled under the
filing — and then committed before the cancellation was applied — or refused
(4011) after it; none is settled under the cancelled filing. On PostgreSQL
the 2102 locks the covering filing rows (select_for_update) and the
cancellation waits for them; on SQLite BEGIN IMMEDIATE serialises both."""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor, wait, FIRST_COMPLETED
from decimal import Decimal

import pytest
from django.utils import timezone

from common import idnumber
from common.envelope import InfCode
from settlement.client import SettlementCoreClient
from tests.support.processes import base_env, core_eval, run_manage

pytestmark = pytest.mark.django_db

SZ_PHARMACY = "P44030000011"  # 深圳: another province for a 石家庄 (130100) employee
PLAIN = "X00000002"  # 甲类, no price cap, no region's own terms
BILLS = 30


def test_a_cancellation_racing_settlements_is_never_used_after_it_took_effect(core_live, settings):
    env = base_env(YIBAO_SERVICE="core", CORE_DATABASE_URL=core_live.db_url)
    number = idnumber.make("130100", dt.date(1984, 4, 4), 100 + uuid.uuid4().int % 800)
    out = run_manage(env, "core_enrol_person", "--name", "备案并发", "--id-number", number, "--insutype", "310",
                     "--region", "130100", "--employer", "石家庄测试公司", "--psn-type", "11")
    psn_no = re.search(r"psn_no=(\d+)", out).group(1)
    run_manage(env, "core_credit_account", "--psn-no", psn_no, "--amount-fen", "100000", "--reference",
               f"fconc-{psn_no}")
    client = SettlementCoreClient(core_live.url, settings.CORE_API_CLIENT_ID, settings.CORE_API_SECRET, 60, 0)
    filing_no = f"BA130100{timezone.localdate():%Y%m%d}{uuid.uuid4().int % 10**8:08d}"
    today = timezone.localdate()

    def event(sequence: int, kind: str, payload: dict) -> dict:
        output = client.call("9201", {"events": [{"message_id": str(uuid.uuid4()), "person_key": psn_no,
                                                  "sequence": sequence, "kind": kind, "payload": payload}]})
        return output["results"][0]

    created = event(1, "filing.created", {
        "filing_no": filing_no, "psn_no": psn_no, "type": "long_term_residence", "kind": "long_term",
        "basis": "commitment", "dest_admdvs": "440300", "begin_date": str(today - dt.timedelta(days=1)),
        "end_date": None, "institutions": [], "referral": None})
    assert created["result"] == "applied", created
    bill = {"druginfo": {"psn_no": psn_no, "mdtrt_cert_type": "99", "mdtrt_cert_no": psn_no,
                         "begntime": f"{today} 10:00:00", "medfee_sumamt": "100.00", "insutype": "310",
                         "acct_used_flag": "1", "med_type": "41"},
            "drugdetail": [{"feedetl_sn": "1", "med_list_codg": PLAIN, "det_item_fee_sumamt": "100.00",
                            "cnt": "1", "pric": "100.00"}]}

    def settle(n: int) -> dict:
        return client.call_raw("2102", bill, msgid=f"FC{psn_no[-8:]}{n:04d}", fixmedins_code=SZ_PHARMACY)

    cancelled: dict = {}

    def cancel() -> None:
        cancelled["result"] = event(2, "filing.cancelled", {"filing_no": filing_no, "cancelled_on": str(today)})
        cancelled["returned"] = timezone.now()

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(settle, n) for n in range(BILLS)]
        wait(futures, return_when=FIRST_COMPLETED)  # at least one bill settled before the cancellation
        canceller = threading.Thread(target=cancel)
        canceller.start()
        answers = [f.result() for f in futures]
        canceller.join()
    assert cancelled["result"]["result"] == "applied", cancelled

    settled = [a for a in answers if a["infcode"] == 0]
    refused = [a for a in answers if a["infcode"] != 0]
    assert settled and refused, [a["infcode"] for a in answers]  # the race really happened both ways
    assert {a["infcode"] for a in refused} == {InfCode.NOT_FILED}, refused[:2]
    assert all(a["err_msg"].startswith("异地就医未备案") for a in refused)
    for answer in settled:
        info = answer["output"]["setlinfo"]
        assert (info["trt_dcla_detl_sn"], info["filing_kind"], info["hifp_pay"]) == (
            filing_no, "long_term", Decimal("80.00"))
    # Every settlement under the filing was written before the core applied the cancellation.
    cancelled_at, under_filing, all_settlements = core_eval(core_live.db_url, (
        f"(m.Filing.objects.get(filing_no={filing_no!r}).cancelled_at.isoformat(), "
        f"sorted(s.settled_at.isoformat() for s in m.Settlement.objects.filter(psn_no={psn_no!r}) "
        f"if s.setlinfo.get('trt_dcla_detl_sn') == {filing_no!r}), "
        f"m.Settlement.objects.filter(psn_no={psn_no!r}).count())"))
    assert len(under_filing) == len(settled) == all_settlements
    assert max(under_filing) < cancelled_at, (max(under_filing), cancelled_at)
    # And after it, none.
    assert settle(BILLS)["infcode"] == InfCode.NOT_FILED
    info = client.call("1101", {"data": {"mdtrt_cert_type": "99", "mdtrt_cert_no": psn_no}})
    assert info["insuinfo"][0]["balc"] == Decimal("1000.00") - Decimal("20.00") * len(settled)
