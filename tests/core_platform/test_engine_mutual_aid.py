"""Family mutual aid (家庭共济) in the pure engine, worked by hand.

Policy: standard, a pharmacy (level 9) with no deductible and 70 %, the
account may pay the person's part. A 100.00 A-class bill: the fund pays
70.00, the person's part is 30.00. Order: the person's own account, then the
payer's (acct_mulaid_pay, up to what the payer's account or set-aside holds,
the bill cap and what is left of the annual cap), then cash. An item excluded
from mutual aid stays the person's own: their account is taken to pay it
first, the rest of it is cash."""

from __future__ import annotations

import pytest

from core_platform.engine import Accumulators, EngineError, LineItem, MutualAid, split

POLICY = {"model": "standard", "deductible_fen": {lv: 0 for lv in "1239"},
          "bands": [{"upto_fen": None, "ratio_permille": {lv: 700 for lv in "1239"}}],
          "annual_ceiling_fen": 10_000_000, "account_may_pay_self_part": True}


def a_item(amount=10000):
    return LineItem("1", "X00000001", "A", 0, None, amount, 1, amount)


def c_excluded(amount=2000):
    return LineItem("2", "X00000002", "C", 1000, None, amount, 1, amount, mulaid_excluded=True)


def parts(s):
    return s.acct_pay, s.acct_mulaid_pay, s.psn_cash_pay


@pytest.mark.parametrize("balance, aid, items, expected, reason", [
    # own account covers the whole 30.00: the payer's account is not touched
    (5000, MutualAid(100000), [a_item()], (3000, 0, 0), "本人个人账户已支付全部个人负担"),
    # own 10.00, the payer the other 20.00
    (1000, MutualAid(100000), [a_item()], (1000, 2000, 0), "由共济账户支付20.00元"),
    # the bill cap 15.00: 5.00 cash
    (1000, MutualAid(100000, bill_cap_fen=1500), [a_item()], (1000, 1500, 500), "受单次共济限额15.00元限制"),
    # 5.00 left of the annual cap
    (1000, MutualAid(100000, annual_left_fen=500), [a_item()], (1000, 500, 1500), "受年度共济限额剩余5.00元限制"),
    # the set-aside (or the payer's balance) holds 12.00
    (1000, MutualAid(1200), [a_item()], (1000, 1200, 800), "受共济账户余额12.00元限制"),
    # + a 20.00 丙类 item excluded from mutual aid: person's part 50.00; own 10.00 pays the excluded item
    # first, its other 10.00 is cash; mutual aid pays the 30.00 of the A item
    (1000, MutualAid(100000), [a_item(), c_excluded()], (1000, 3000, 1000), "不可共济项目10.00元由本人支付"),
])
def test_mutual_aid_order_and_limits(balance, aid, items, expected, reason):
    s = split(POLICY, "9", Accumulators(), balance, True, items, mutual_aid=aid)
    assert parts(s) == expected
    assert s.psn_part_amt == sum(expected) and s.fund_pay_sumamt + sum(expected) == s.medfee_sumamt
    assert s.balc == balance - expected[0]
    assert any(reason in line for line in s.explanation), s.explanation
    # the payer's account is not the person's: no annual counter and no own-account change reflect it
    assert s.deltas.account_fen == -expected[0]


def test_without_mutual_aid_nothing_comes_from_a_payer():
    s = split(POLICY, "9", Accumulators(), 1000, True, [a_item()])
    assert parts(s) == (1000, 0, 2000)
    assert not any("家庭共济" in line for line in s.explanation)


def test_mutual_aid_pays_even_where_the_persons_own_account_may_not():
    # A resident policy whose account may not pay the person's part: mutual aid (the payer's
    # account) still may — it is the payer's money, authorised by the payer.
    s = split(POLICY | {"account_may_pay_self_part": False}, "9", Accumulators(), 1000, True, [a_item()],
              mutual_aid=MutualAid(100000))
    assert parts(s) == (0, 3000, 0)


@pytest.mark.parametrize("aid", [MutualAid(-1), MutualAid(100, bill_cap_fen=-1), MutualAid(100, annual_left_fen=True),
                                 "not a MutualAid"])
def test_bad_mutual_aid_input_is_refused_in_chinese(aid):
    with pytest.raises(EngineError) as refused:
        split(POLICY, "9", Accumulators(), 0, True, [a_item()], mutual_aid=aid)
    assert refused.value.code == "INPUT_INVALID" and "家庭共济" in refused.value.message
