"""Properties of settlement through the core's envelope and ledger
(hypothesis): the parts always sum to the total, no personal account goes
negative, and a settle followed by its reversal restores the balance and
the annual accumulators exactly."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from common.money import yuan_to_fen
from core_platform import engine
from core_platform.models import AnnualAccumulator, LedgerAccount
from core_platform.selectors import ledger_discrepancies, personal_balance_fen
from core_platform.services.ledger import personal_account_credit
from tests.core_platform.test_settle import PHARMACY, send, world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(databases=["default", "core"])

CODES = ["XA0001", "XB0001", "XC0001", "XA0002"]
item = st.tuples(st.sampled_from(CODES), st.integers(1, 300_00), st.sampled_from(["1", "2", "3", "0.5", "1.25"]))


def _bill(psn_no, items, use_account):
    rows, total = [], 0
    for n, (code, pric_fen, cnt) in enumerate(items, 1):
        amount = int((Decimal(pric_fen) * Decimal(cnt)).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
        total += amount
        rows.append({"feedetl_sn": str(n), "med_list_codg": code, "det_item_fee_sumamt": f"{amount / 100:.2f}",
                     "cnt": cnt, "pric": f"{pric_fen / 100:.2f}"})
    return {"druginfo": {"psn_no": psn_no, "mdtrt_cert_type": "99", "mdtrt_cert_no": psn_no,
                         "medfee_sumamt": f"{total / 100:.2f}", "insutype": "310",
                         "acct_used_flag": "1" if use_account else "0"}, "drugdetail": rows}, total


def _state(psn_no):
    """The balance and every annual counter of every policy-year row."""
    rows = AnnualAccumulator.objects.filter(psn_no=psn_no).order_by("year")
    return (personal_balance_fen(psn_no),
            {row.year: tuple(getattr(row, name) for name in engine.COUNTERS) for row in rows
             if any(getattr(row, name) for name in engine.COUNTERS)})


@given(items=st.lists(item, min_size=1, max_size=4), use_account=st.booleans(), topup=st.integers(0, 500_00))
@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_settle_then_reverse_restores_everything(client, world, items, use_account, topup):  # noqa: F811
    if topup:
        personal_account_credit(world.psn_no, topup, f"topup-{uuid.uuid4().hex}")
    before = _state(world.psn_no)
    body, total = _bill(world.psn_no, items, use_account)
    settled = send(client, "2102", body)
    assert settled["infcode"] == 0, settled
    info = settled["output"]["setlinfo"]
    parts = [yuan_to_fen(info[f]) for f in ("fund_pay_sumamt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")]
    assert sum(parts) == yuan_to_fen(info["medfee_sumamt"]) == total
    assert all(p >= 0 for p in parts)
    assert yuan_to_fen(info["acct_pay"]) <= before[0]
    assert not LedgerAccount.objects.filter(kind="personal", balance_fen__lt=0).exists()
    reversed_ = send(client, "2103", {"data": {"setl_id": info["setl_id"]}})
    assert reversed_["infcode"] == 0, reversed_
    assert _state(world.psn_no) == before
    assert ledger_discrepancies() == []
