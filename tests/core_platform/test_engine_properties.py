"""Property tests of the settlement policy engine (hypothesis): the parts always
sum to the total, nothing goes negative, the account never pays more than its
balance, the fund never exceeds what is left of the ceiling, deltas applied
then negated restore the state exactly, and a few monotonicity sanities.

The second half draws random *national* policies (retirees' ratios, an
outpatient section, supplementary funds on either basis, a year start),
patients and visits (issue #12): fund_pay_sumamt is the sum of the funds, the
parts sum to the total, each fund stays within its ceiling left, and any
sequence of settlements reversed in any order restores every counter."""

from __future__ import annotations

import copy
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from common.money import yuan_to_fen
from core_platform.engine import (
    COUNTERS,
    LEVELS,
    MODELS,
    Accumulators,
    EngineError,
    LineItem,
    Patient,
    Visit,
    apply_deltas,
    parse_params,
    round_half_up,
    split,
)
from core_platform.engine.params import params_errors

SETTINGS = settings(max_examples=300, deadline=None)


@st.composite
def policies(draw):
    """The basic policy (no outpatient section, no supplements); account_first
    on either deductible basis (or the default). The ceiling is at least every
    deductible (a lower one is refused)."""
    n = draw(st.integers(1, 4))
    cuts = sorted(draw(st.sets(st.integers(1, 30_000_000), min_size=n - 1, max_size=n - 1)))
    ratio = st.integers(0, 1000)
    deductible = {lv: draw(st.integers(0, 200_000)) for lv in LEVELS}
    params = {
        "model": draw(st.sampled_from(MODELS)),
        "deductible_fen": deductible,
        "bands": [{"upto_fen": upto, "ratio_permille": {lv: draw(ratio) for lv in LEVELS}}
                  for upto in [*cuts, None]],
        "annual_ceiling_fen": max(1, *deductible.values()) + draw(st.integers(0, 50_000_000)),
        "account_may_pay_self_part": draw(st.booleans()),
    }
    if params["model"] == "account_first":
        basis = draw(st.sampled_from([None, "cumulative_cost", "cash_after_account"]))
        if basis is not None:
            params["deductible_basis"] = basis
    return params


def cash_basis(params) -> bool:
    """Is the deductible counted as cash paid (standard, or account_first on the cash basis)?"""
    return params["model"] == "standard" or params.get("deductible_basis") == "cash_after_account"


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
    if cash_basis(params):
        assert acc.deductible_paid_fen + s.act_pay_dedc <= max(deductible, acc.deductible_paid_fen)
    else:
        # cumulative cost: the self-pay stage is [0, deductible) of the year's eligible cost
        assert s.act_pay_dedc == max(0, min(acc.eligible_cost_fen + s.inscp_scp_amt, deductible)
                                     - (acc.eligible_cost_fen + s.acct_first_pay))
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


# --- the national split (issue #12): random policies with every section ------

FUNDS = ("hifob", "hifmi", "cvlserv", "maf")
IDENTITIES = ("2101", "2201", "2301", "2401")
FUND_SETTINGS = settings(max_examples=150, deadline=None)


@st.composite
def fund_bands(draw):
    n = draw(st.integers(1, 3))
    cuts = sorted(draw(st.sets(st.integers(1, 5_000_000), min_size=n - 1, max_size=n - 1)))
    return [{"upto_fen": upto, "ratio_permille": draw(st.integers(0, 1000))} for upto in [*cuts, None]]


@st.composite
def national_policies(draw):
    """(params, insutype): a basic policy with, at random, retirees' band ratios,
    an outpatient section (standard only), a year start and any supplements the
    insurance type allows (hifob 310 only, hifmi 390 only), each on a random
    basis, listed in a random order."""
    params = draw(policies())
    insutype = draw(st.sampled_from(["310", "390"]))
    for band in params["bands"]:
        if draw(st.booleans()):
            band["retired_ratio_permille"] = {lv: draw(st.integers(0, 1000)) for lv in LEVELS}
    if draw(st.booleans()):
        params["year_start"] = draw(st.sampled_from(["01-01", "07-01", "10-01"]))
    if params["model"] == "standard" and draw(st.booleans()):
        deductible = {c: draw(st.integers(0, 300_000)) for c in ("in_service", "retired")}
        params["outpatient"] = {
            "deductible_fen": deductible,
            "ratio_permille": {c: {lv: draw(st.integers(0, 1000)) for lv in LEVELS} for c in deductible},
            "annual_ceiling_fen": {c: max(1, deductible[c]) + draw(st.integers(0, 3_000_000)) for c in deductible},
        }
    allowed = [f for f in FUNDS if (f, insutype) not in {("hifob", "390"), ("hifmi", "310")}]
    chosen = draw(st.lists(st.sampled_from(allowed), unique=True, max_size=len(allowed)))
    if chosen:
        params["supplements"] = []
        for name in chosen:
            deductible = draw(st.integers(0, 300_000))
            supplement = {"fund": name, "basis": draw(st.sampled_from(["over_basic_ceiling", "personal_eligible"])),
                          "deductible_fen": deductible, "bands": draw(fund_bands()),
                          "annual_ceiling_fen": max(1, deductible) + draw(st.integers(0, 3_000_000))}
            if name == "maf":
                supplement["identities"] = draw(st.lists(st.sampled_from(IDENTITIES), unique=True, min_size=1))
            params["supplements"].append(supplement)
    return params, insutype


@st.composite
def national_states(draw, params):
    """Any annual counters (the paid ones now and then exactly at their ceiling) and a balance."""
    ceilings = {"fund_paid_fen": params["annual_ceiling_fen"]}
    for s in params.get("supplements", []):
        ceilings[f"{s['fund']}_paid_fen"] = s["annual_ceiling_fen"]
    if "outpatient" in params:
        ceilings["outpatient_fund_paid_fen"] = draw(st.sampled_from(sorted(
            params["outpatient"]["annual_ceiling_fen"].values())))
    counters = {}
    for name in COUNTERS:
        if name in ceilings:
            counters[name] = draw(st.integers(0, ceilings[name] + 1000) | st.just(ceilings[name]) | st.just(0))
        elif "deductible" in name:
            counters[name] = draw(st.integers(0, 350_000) | st.just(0))
        else:
            counters[name] = draw(st.integers(0, 40_000_000) | st.just(0))
    return Accumulators(**counters), draw(st.integers(0, 1_000_000) | st.just(0))


patients = st.builds(Patient, psn_type=st.sampled_from(["11", "21"]), cvlserv=st.booleans(),
                     identities=st.frozensets(st.sampled_from(IDENTITIES), max_size=2))
visits = st.builds(Visit, inpatient=st.booleans(), outpatient_pooling=st.booleans())


@st.composite
def national_cases(draw):
    params, insutype = draw(national_policies())
    acc, balance = draw(national_states(params))
    return (params, insutype, draw(st.sampled_from(LEVELS)), acc, balance, draw(st.booleans()), draw(bills()),
            draw(patients), draw(visits))


_PAYS = ("hifp_pay", "hifob_pay", "hifmi_pay", "cvlserv_pay", "maf_pay")
_MONEY = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
          "pool_prop_selfpay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay",
          "balc", "acct_first_pay", *_PAYS)


def _expected_stage(params, level, visit):
    if "outpatient" not in params:
        return "general"
    if visit.inpatient:
        return "inpatient"
    return "outpatient" if level != "9" or visit.outpatient_pooling else "none"


@FUND_SETTINGS
@given(national_cases())
def test_national_identities_hold_for_random_policies_bills_patients_and_visits(case):
    params, insutype, level, acc, balance, use_account, items, patient, visit = case
    assert params_errors(params, insutype=insutype) == []
    s = split(params, level, acc, balance, use_account, items, patient=patient, visit=visit)
    # nothing negative
    assert all(isinstance(getattr(s, k), int) and getattr(s, k) >= 0 for k in _MONEY), {k: getattr(s, k) for k in _MONEY}
    for f in s.funds:
        assert all(getattr(f, k) >= 0 for k in ("base_fen", "deductible_year_fen", "deductible_left_fen",
                                                 "act_pay_dedc_fen", "fund_by_ratio_fen", "ceiling_left_fen",
                                                 "pay_fen"))
    # fund_pay_sumamt = Σ funds; fund + account + mutual aid + cash = total
    assert s.fund_pay_sumamt == sum(getattr(s, k) for k in _PAYS)
    assert s.fund_pay_sumamt + s.acct_pay + s.acct_mulaid_pay + s.psn_cash_pay == s.medfee_sumamt
    assert s.medfee_sumamt == s.fulamt_ownpay_amt + s.overlmt_selfpay + s.preselfpay_amt + s.inscp_scp_amt
    assert s.inscp_scp_amt == s.acct_first_pay + s.act_pay_dedc + s.hifp_pay + s.pool_prop_selfpay
    assert s.psn_part_amt == s.medfee_sumamt - s.fund_pay_sumamt
    assert 0 <= s.acct_pay <= balance and s.balc == balance - s.acct_pay
    # the supplements pay at most the eligible burden the basic stage left
    assert sum(getattr(s, k) for k in _PAYS[1:]) <= s.act_pay_dedc + s.pool_prop_selfpay
    # the stage, and each fund within what is left of its ceiling
    assert s.stage == _expected_stage(params, level, visit)
    retired = patient.psn_type == "21"
    if s.stage == "none":
        assert (s.hifp_pay, s.act_pay_dedc, s.pool_prop_selfpay) == (0, 0, s.inscp_scp_amt - s.acct_first_pay)
    elif s.stage == "outpatient":
        ceiling = params["outpatient"]["annual_ceiling_fen"]["retired" if retired else "in_service"]
        assert s.hifp_pay <= max(0, ceiling - acc.outpatient_fund_paid_fen)
    else:
        assert s.hifp_pay <= max(0, params["annual_ceiling_fen"] - acc.fund_paid_fen)
    supplements = {x["fund"]: x for x in params.get("supplements", [])}
    assert [f.fund for f in s.funds] == [f for f in FUNDS if f in supplements]  # canonical order
    for name in FUNDS:
        pay = getattr(s, f"{name}_pay")
        if name not in supplements:
            assert pay == 0
            continue
        f = next(x for x in s.funds if x.fund == name)
        assert pay == f.pay_fen <= max(0, supplements[name]["annual_ceiling_fen"] - getattr(acc, f"{name}_paid_fen"))
        assert f.pay_fen <= f.fund_by_ratio_fen <= f.base_fen
        if name == "cvlserv" and not patient.cvlserv:
            assert not f.eligible and pay == 0 and f.reason
        if name == "maf" and not patient.identities & set(supplements["maf"]["identities"]):
            assert not f.eligible and pay == 0 and f.reason
        if supplements[name]["basis"] == "over_basic_ceiling" and s.stage != "general" and s.stage != "inpatient":
            assert f.base_fen == 0 and pay == 0
    # the deltas: this bill's contribution to the stage's counters and each fund's
    d = s.deltas.as_dict()
    assert set(d) == set(COUNTERS) and s.deltas.account_fen == -s.acct_pay
    main = ("eligible_cost_fen", "deductible_paid_fen", "fund_paid_fen")
    stage_counters = {"general": main, "inpatient": main, "none": None,
                      "outpatient": tuple("outpatient_" + c for c in main)}[s.stage]
    for name in main + tuple("outpatient_" + c for c in main):
        if stage_counters is not None and name in stage_counters:
            assert d[name] == {0: s.inscp_scp_amt, 1: s.act_pay_dedc, 2: s.hifp_pay}[stage_counters.index(name)]
        else:
            assert d[name] == 0, name
    for name in FUNDS:
        assert d[f"{name}_paid_fen"] == getattr(s, f"{name}_pay")
    if s.stage == "none":  # not settled by the basic insurance: no counter moves, no supplement pays
        assert set(d.values()) == {0} and s.fund_pay_sumamt == 0
    # the national forms carry the same numbers
    setlinfo = s.to_setlinfo()
    assert all(yuan_to_fen(setlinfo[k]) == getattr(s, k) for k in _MONEY if k in setlinfo)
    assert sum(r["fund_payamt"] for r in s.to_setldetail(insutype)) == setlinfo["fund_pay_sumamt"]
    assert all(r["fund_payamt"] > 0 for r in s.to_setldetail(insutype))


@settings(max_examples=80, deadline=None)
@given(national_policies(), st.sampled_from(LEVELS), st.integers(0, 500_000),
       st.lists(st.tuples(bills(), patients, visits, st.booleans()), min_size=1, max_size=5),
       st.randoms(use_true_random=False))
def test_national_settlements_then_reversals_in_any_order_restore_every_counter(policy, level, balance, year, rnd):
    params, _ = policy
    acc, bal = Accumulators(), balance
    settled = []
    for bill, patient, visit, use_account in year:
        s = split(params, level, acc, bal, use_account, bill, patient=patient, visit=visit)
        acc, bal = apply_deltas(acc, bal, s.deltas)
        # from an empty year, no fund goes past its annual ceiling
        assert acc.fund_paid_fen <= params["annual_ceiling_fen"]
        for x in params.get("supplements", []):
            assert getattr(acc, f"{x['fund']}_paid_fen") <= x["annual_ceiling_fen"]
        if "outpatient" in params:
            assert acc.outpatient_fund_paid_fen <= max(params["outpatient"]["annual_ceiling_fen"].values())
        settled.append(s)
    rnd.shuffle(settled)
    for s in settled:
        acc, bal = apply_deltas(acc, bal, s.deltas.negated())
    assert (acc, bal) == (Accumulators(), balance)
    assert all(getattr(acc, name) == 0 for name in COUNTERS)


@FUND_SETTINGS
@given(national_cases())
def test_national_deltas_applied_then_negated_restore_the_state(case):
    params, _, level, acc, balance, use_account, items, patient, visit = case
    s = split(params, level, acc, balance, use_account, items, patient=patient, visit=visit)
    after, after_balance = apply_deltas(acc, balance, s.deltas)
    assert after_balance == s.balc
    assert {n: getattr(after, n) - getattr(acc, n) for n in COUNTERS} == s.deltas.as_dict()
    assert apply_deltas(after, after_balance, s.deltas.negated()) == (acc, balance)
    assert type(s.deltas).from_dict(s.deltas.as_dict(), account_fen=s.deltas.account_fen) == s.deltas


@settings(max_examples=200, deadline=None)
@given(national_policies(), st.lists(st.tuples(st.sampled_from(range(len(_MUTATIONS))), _VALUES), max_size=2))
def test_parse_params_accepts_exactly_what_the_validator_accepts_with_every_section(policy, mutations):
    params = copy.deepcopy(policy[0])
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
        assert exc.code == "POLICY_INVALID" and exc.detail["errors"] == params_errors(params)
        parsed = False
    assert parsed == valid, (params, params_errors(params))
