"""Property tests of the settlement policy engine (hypothesis): the parts always
sum to the total, nothing goes negative, the account never pays more than its
balance, the fund never exceeds what is left of the ceiling, deltas applied
then negated restore the state exactly, and a few monotonicity sanities."""

from __future__ import annotations

import copy
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from common.money import yuan_to_fen
from core_platform.engine import (
    LEVELS,
    MODELS,
    Accumulators,
    EngineError,
    LineItem,
    apply_deltas,
    parse_params,
    round_half_up,
    split,
)
from core_platform.engine.params import params_errors

SETTINGS = settings(max_examples=300, deadline=None)


@st.composite
def policies(draw):
    n = draw(st.integers(1, 4))
    cuts = sorted(draw(st.sets(st.integers(1, 30_000_000), min_size=n - 1, max_size=n - 1)))
    ratio = st.integers(0, 1000)
    return {
        "model": draw(st.sampled_from(MODELS)),
        "deductible_fen": {lv: draw(st.integers(0, 200_000)) for lv in LEVELS},
        "bands": [{"upto_fen": upto, "ratio_permille": {lv: draw(ratio) for lv in LEVELS}}
                  for upto in [*cuts, None]],
        "annual_ceiling_fen": draw(st.integers(1, 50_000_000)),
        "account_may_pay_self_part": draw(st.booleans()),
    }


@st.composite
def line_items(draw, sn: str):
    cls = draw(st.sampled_from("ABC"))
    ratio = 0 if cls == "A" else draw(st.sampled_from([0, 50, 100, 200, 1000]) | st.integers(0, 1000))
    cap = draw(st.none() | st.integers(1, 100_000))
    pric = draw(st.integers(0, 200_000))
    cnt = Decimal(draw(st.integers(1, 5_000))).scaleb(-draw(st.integers(0, 3)))
    amount = round_half_up(Fraction(pric) * Fraction(cnt))
    return LineItem(sn, f"X{sn:0>8}", cls, ratio, cap, pric, cnt, amount)


@st.composite
def bills(draw):
    n = draw(st.integers(1, 6))
    return [draw(line_items(str(i + 1))) for i in range(n)]


@st.composite
def states(draw, params):
    ceiling = params["annual_ceiling_fen"]
    return (
        Accumulators(
            draw(st.integers(0, 40_000_000)),
            draw(st.integers(0, 250_000)),
            draw(st.integers(0, ceiling + 1000) | st.just(ceiling)),
        ),
        draw(st.integers(0, 1_000_000) | st.just(0)),
    )


@st.composite
def cases(draw):
    params = draw(policies())
    acc, balance = draw(states(params))
    return params, draw(st.sampled_from(LEVELS)), acc, balance, draw(st.booleans()), draw(bills())


def _fields(s):
    return (s.medfee_sumamt, s.fulamt_ownpay_amt, s.overlmt_selfpay, s.preselfpay_amt, s.inscp_scp_amt,
            s.act_pay_dedc, s.hifp_pay, s.pool_prop_selfpay, s.fund_pay_sumamt, s.psn_part_amt, s.acct_pay,
            s.acct_mulaid_pay, s.psn_cash_pay, s.balc, s.acct_first_pay, s.over_ceiling)


@SETTINGS
@given(cases())
def test_parts_sum_to_the_total_and_nothing_is_negative(case):
    params, level, acc, balance, use_account, items = case
    s = split(params, level, acc, balance, use_account, items)
    assert all(isinstance(v, int) and v >= 0 for v in _fields(s))
    assert s.fund_pay_sumamt + s.acct_pay + s.acct_mulaid_pay + s.psn_cash_pay == s.medfee_sumamt
    assert s.medfee_sumamt == sum(i.amount_fen for i in items) == sum(d.amount for d in s.details)
    assert s.medfee_sumamt == s.fulamt_ownpay_amt + s.overlmt_selfpay + s.preselfpay_amt + s.inscp_scp_amt
    assert s.inscp_scp_amt == s.acct_first_pay + s.act_pay_dedc + s.hifp_pay + s.pool_prop_selfpay
    assert s.psn_part_amt == s.medfee_sumamt - s.fund_pay_sumamt
    assert s.acct_mulaid_pay == 0 and s.fund_pay_sumamt == s.hifp_pay
    for d in s.details:
        assert min(d.fulamt_ownpay, d.overlimit, d.preselfpay, d.eligible) >= 0
        assert d.amount == d.fulamt_ownpay + d.overlimit + d.preselfpay + d.eligible
        assert d.reasons
        if d.list_class == "C":
            assert d.fulamt_ownpay == d.amount
    assert sum(d.eligible for d in s.details) == s.inscp_scp_amt
    # the national form carries the same numbers
    setlinfo = s.to_setlinfo()
    assert all(yuan_to_fen(setlinfo[k]) == getattr(s, k, 0) for k in setlinfo)
    assert all(isinstance(v, Decimal) for v in setlinfo.values())
    rows = s.to_detlcutinfo()
    assert len(rows) == len(items)
    assert sum(r["det_item_fee_sumamt"] for r in rows) == setlinfo["medfee_sumamt"]
    assert sum(r["inscp_scp_amt"] for r in rows) == setlinfo["inscp_scp_amt"]
    assert sum(r["fund_payamt"] for r in s.to_setldetail("310")) == setlinfo["fund_pay_sumamt"]


@SETTINGS
@given(cases())
def test_account_and_ceiling_bounds(case):
    params, level, acc, balance, use_account, items = case
    s = split(params, level, acc, balance, use_account, items)
    assert 0 <= s.acct_pay <= balance and s.balc == balance - s.acct_pay
    if not use_account:
        assert s.acct_pay == 0
    if params["model"] == "standard" and not params["account_may_pay_self_part"]:
        assert s.acct_pay == 0
    ceiling_left = max(0, params["annual_ceiling_fen"] - acc.fund_paid_fen)
    assert s.hifp_pay <= ceiling_left
    assert acc.fund_paid_fen + s.deltas.fund_paid_fen <= max(params["annual_ceiling_fen"], acc.fund_paid_fen)
    deductible = params["deductible_fen"][level]
    assert acc.deductible_paid_fen + s.act_pay_dedc <= max(deductible, acc.deductible_paid_fen)
    # the fund is the exact band products rounded once (unless the ceiling cut it)
    exact = Fraction(sum(b.fund_millifen for b in s.band_splits), 1000)
    assert s.hifp_pay + s.over_ceiling == round_half_up(exact)
    assert sum(b.portion_fen for b in s.band_splits) == s.inscp_scp_amt - s.acct_first_pay - s.act_pay_dedc


@SETTINGS
@given(cases())
def test_deltas_applied_then_negated_restore_the_state(case):
    params, level, acc, balance, use_account, items = case
    s = split(params, level, acc, balance, use_account, items)
    after, after_balance = apply_deltas(acc, balance, s.deltas)
    assert after_balance == s.balc
    assert after == Accumulators(acc.eligible_cost_fen + s.inscp_scp_amt, acc.deductible_paid_fen + s.act_pay_dedc,
                                 acc.fund_paid_fen + s.hifp_pay)
    assert apply_deltas(after, after_balance, s.deltas.negated()) == (acc, balance)


@settings(max_examples=150, deadline=None)
@given(policies(), st.sampled_from(LEVELS), st.integers(0, 500_000), st.lists(bills(), min_size=1, max_size=5),
       st.randoms(use_true_random=False))
def test_a_year_of_bills_then_their_reversals_in_any_order_restore_everything(params, level, balance, year, rnd):
    acc, bal = Accumulators(), balance
    settled = []
    for bill in year:
        s = split(params, level, acc, bal, True, bill)
        acc, bal = apply_deltas(acc, bal, s.deltas)
        assert acc.fund_paid_fen <= params["annual_ceiling_fen"]
        settled.append(s)
    rnd.shuffle(settled)
    for s in settled:
        acc, bal = apply_deltas(acc, bal, s.deltas.negated())
    assert (acc, bal) == (Accumulators(), balance)


@SETTINGS
@given(cases(), st.integers(0, 1_000_000))
def test_a_higher_balance_never_increases_cash(case, more):
    params, level, acc, balance, use_account, items = case
    low = split(params, level, acc, balance, use_account, items)
    high = split(params, level, acc, balance + more, use_account, items)
    assert high.psn_cash_pay <= low.psn_cash_pay
    assert high.medfee_sumamt == low.medfee_sumamt
    if params["model"] == "standard":
        # the fund does not depend on the account at all in the standard model
        assert (high.hifp_pay, high.act_pay_dedc, high.pool_prop_selfpay) == (
            low.hifp_pay, low.act_pay_dedc, low.pool_prop_selfpay)


@SETTINGS
@given(cases())
def test_using_the_account_never_increases_cash(case):
    params, level, acc, balance, _, items = case
    with_account = split(params, level, acc, balance, True, items)
    without = split(params, level, acc, balance, False, items)
    assert with_account.psn_cash_pay <= without.psn_cash_pay
    assert without.acct_pay == 0 and without.psn_cash_pay == without.psn_part_amt


@SETTINGS
@given(cases(), st.integers(1, 100_000))
def test_more_deductible_already_paid_never_lowers_the_fund(case, extra):
    params, level, acc, balance, use_account, items = case
    base = split(params, level, acc, balance, use_account, items)
    more = Accumulators(acc.eligible_cost_fen, acc.deductible_paid_fen + extra, acc.fund_paid_fen)
    assert split(params, level, more, balance, use_account, items).act_pay_dedc <= base.act_pay_dedc
    if params["model"] == "standard" and all(
            b["ratio_permille"][level] == params["bands"][0]["ratio_permille"][level] for b in params["bands"]):
        # with one ratio for every band, paying less deductible means the fund pays at least as much
        assert split(params, level, more, balance, use_account, items).hifp_pay >= base.hifp_pay


_MUTATIONS = [
    lambda p, v: p.update(model=v),
    lambda p, v: p.update(annual_ceiling_fen=v),
    lambda p, v: p.update(account_may_pay_self_part=v),
    lambda p, v: p["deductible_fen"].update({"2": v}),
    lambda p, v: p["deductible_fen"].pop("9"),
    lambda p, v: p["deductible_fen"].update({"4": 0}),
    lambda p, v: p["bands"][0].update(upto_fen=v),
    lambda p, v: p["bands"][-1]["ratio_permille"].update({"3": v}),
    lambda p, v: p["bands"].append({"upto_fen": v, "ratio_permille": {lv: 500 for lv in LEVELS}}),
    lambda p, v: p["bands"][0].update(extra=v),
    lambda p, v: p.update(bands=v),
    lambda p, v: p.update(extra=v),
    lambda p, v: p.pop("bands"),
]
_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 60_000_000), st.sampled_from(["standard", "x", ""]),
                    st.just([]), st.floats(allow_nan=False, width=32))


@settings(max_examples=400, deadline=None)
@given(policies(), st.lists(st.tuples(st.sampled_from(range(len(_MUTATIONS))), _VALUES), max_size=3))
def test_parse_params_accepts_exactly_what_the_schema_validator_accepts(params, mutations):
    params = copy.deepcopy(params)
    for index, value in mutations:
        try:
            _MUTATIONS[index](params, value)
        except (KeyError, IndexError, TypeError, AttributeError):
            pass
    valid = params_errors(params) == []
    try:
        parse_params(params)
        parsed = True
    except EngineError as exc:
        assert exc.code == "POLICY_INVALID"
        parsed = False
    assert parsed == valid, (params, params_errors(params))
