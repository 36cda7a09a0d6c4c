"""Property (hypothesis): a relative's bill settled with family mutual aid —
any items (excluded ones too), any caps, direct or from a set-aside amount —
then reversed restores every account (the relative's, the payer's, the
set-aside, the funds, the institution's) and both counters (the relative's
annual accumulators and the authorisation's annual use) exactly; the parts
always sum to the total and no own-money account goes negative."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from common.money import yuan_to_fen
from core_platform import engine
from core_platform.models import AnnualAccumulator, LedgerAccount, MutualAidAuth, Settlement
from core_platform.selectors import ledger_discrepancies
from core_platform.services.ledger import personal_account_credit
from tests.core_platform.test_family_settle import PHARMACY, PHARMACY_GZ, event, family, send  # noqa: F401

pytestmark = pytest.mark.django_db(databases=["default", "core"])

item = st.tuples(st.sampled_from(["XA0001", "XH0001"]), st.integers(1, 300_00), st.sampled_from(["1", "2", "0.5"]))
cap = st.none() | st.integers(0, 500_00)


def _state(auth_id, psn_no):
    # the balances, and what is held on each (the set-aside amount is a hold on the payer's account)
    balances = {(a.kind, a.owner): (a.balance_fen, a.held_fen)
                for a in LedgerAccount.objects.exclude(balance_fen=0, held_fen=0)}
    counters = {row.year: tuple(getattr(row, name) for name in engine.COUNTERS)
                for row in AnnualAccumulator.objects.filter(psn_no=psn_no)
                if any(getattr(row, name) for name in engine.COUNTERS)}
    used = Settlement.objects.filter(mulaid_auth_id=auth_id, status="settled").aggregate(s=Sum("mulaid_fen"))["s"] or 0
    return balances, counters, used


@given(items=st.lists(item, min_size=1, max_size=4), own_topup=st.integers(0, 100_00), cross=st.booleans(),
       set_aside=st.integers(0, 300_00), annual=cap, per_bill=cap)
@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_settle_then_reverse_restores_both_accounts_and_both_counters(client, family, items, own_topup, cross,  # noqa: F811
                                                                     set_aside, annual, per_bill):
    payer = family["payer"]
    relative, relation, insutype, pharmacy = ((family["wife"], "spouse", "310", PHARMACY_GZ) if cross
                                              else (family["child"], "child", "390", PHARMACY))
    auth_id = f"P{uuid.uuid4().hex[:12]}"
    assert event(client, payer.psn_no, "mulaid.authorized", {
        "auth_id": auth_id, "version": 1, "payer_psn_no": payer.psn_no, "rel_psn_no": relative.psn_no,
        "relation": relation, "mode": "set_aside" if cross else "direct", "annual_cap_fen": annual,
        "bill_cap_fen": per_bill})["result"] == "applied"
    if cross:
        answer = send(client, "9403", {"data": {"auth_id": auth_id, "payer_psn_no": payer.psn_no,
                                                "rel_psn_no": relative.psn_no, "amount": f"{set_aside / 100:.2f}"}})
        assert answer["infcode"] == 0, answer
    if own_topup:
        personal_account_credit(relative.psn_no, own_topup, f"topup-{uuid.uuid4().hex}")
    rows, total = [], 0
    for n, (code, pric_fen, cnt) in enumerate(items, 1):
        amount = int((Decimal(pric_fen) * Decimal(cnt)).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
        total += amount
        rows.append({"feedetl_sn": str(n), "med_list_codg": code, "det_item_fee_sumamt": f"{amount / 100:.2f}",
                     "cnt": cnt, "pric": f"{pric_fen / 100:.2f}"})
    body = {"druginfo": {"psn_no": relative.psn_no, "mdtrt_cert_type": "99", "mdtrt_cert_no": relative.psn_no,
                         "medfee_sumamt": f"{total / 100:.2f}", "insutype": insutype, "acct_used_flag": "1",
                         "mulaid_auth_id": auth_id, "mulaid_auth_version": 1}, "drugdetail": rows}
    before = _state(auth_id, relative.psn_no)
    settled = send(client, "2102", body, fixmedins_code=pharmacy)
    assert settled["infcode"] == 0, settled
    info = settled["output"]["setlinfo"]
    parts = [yuan_to_fen(info[f]) for f in ("fund_pay_sumamt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")]
    assert sum(parts) == total and all(p >= 0 for p in parts)
    mulaid = parts[2]
    excluded = sum(int(Decimal(r["det_item_fee_sumamt"]) * 100) for r in rows if r["med_list_codg"] == "XH0001")
    assert mulaid <= total - excluded  # an excluded item is never paid by the payer
    for limit in (per_bill, annual):
        assert limit is None or mulaid <= limit
    assert not LedgerAccount.objects.filter(kind__in=["personal", "mulaid_reserve"], balance_fen__lt=0).exists()
    assert _state(auth_id, relative.psn_no)[2] == before[2] + mulaid
    reversed_ = send(client, "2103", {"data": {"setl_id": info["setl_id"]}}, fixmedins_code=pharmacy)
    assert reversed_["infcode"] == 0, reversed_
    assert _state(auth_id, relative.psn_no) == before
    assert ledger_discrepancies() == []
    MutualAidAuth.objects.filter(auth_id=auth_id).delete()  # examples share the fixture's people
