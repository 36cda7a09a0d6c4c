"""One validator for the policy ``params`` schema (engine/params.py
``params_errors``), reached two ways: the file loader (services/policy.py,
which checks the entry's envelope itself and delegates ``params``) and the
engine (``parse_params`` before it computes). Both refuse with the same
Chinese problems and a stable code, never an unexpected exception."""

from __future__ import annotations

import copy
import json

import pytest

from core_platform.engine import EngineError, parse_params, split
from core_platform.engine.params import params_errors
from core_platform.errors import InvalidInput
from core_platform.models import PolicyParameters
from core_platform.services.policy import policy_entry_parse, policy_load
from core_platform.services.registry import region_register

with open("core_platform/fixtures/policy_example_standard.json", encoding="utf-8") as _fh:
    ENTRY = json.load(_fh)["policies"][0]
PARAMS = ENTRY["params"]

BAD_PARAMS = [
    (lambda p: p.update(model="cheapest"), "model 必须是 standard 或 account_first，实为 'cheapest'"),
    (lambda p: p["deductible_fen"].pop("9"), "deductible_fen 缺少机构等级：9"),
    (lambda p: p["bands"][0].update(upto_fen=None), "bands[0].upto_fen 必须是大于上一档（0）的整数（各档不得重叠），且只有最后一档可为 null"),
    (lambda p: p["bands"][-1]["ratio_permille"].update({"1": 1001}),
     "bands[2].ratio_permille.1 必须是0-1000的整数（千分比，不超过100%），实为 1001"),
    (lambda p: p.update(annual_ceiling_fen=12.5), "annual_ceiling_fen 必须是正整数（分），实为 12.5"),
    (lambda p: p.update(annual_ceiling_fen=True), "annual_ceiling_fen 必须是正整数（分），实为 True"),
    (lambda p: p.update(account_may_pay_self_part=1), "account_may_pay_self_part 必须是 true 或 false"),
    (lambda p: p.pop("bands"), "params 缺少字段：bands"),
    # A key that is not a string (a Python caller; JSON keys are always strings): named, not a TypeError.
    (lambda p: p.update({7: "x"}), "params 含未知字段：7"),
    (lambda p: p["deductible_fen"].update({9: 0}), "deductible_fen 含未知机构等级：9"),
]


def _bad(change) -> dict:
    params = copy.deepcopy(PARAMS)
    change(params)
    return params


@pytest.mark.parametrize("change, problem", BAD_PARAMS)
def test_the_engine_refuses_bad_params_with_the_validators_problems(change, problem):
    params = _bad(change)
    with pytest.raises(EngineError) as refused:
        parse_params(params)
    assert refused.value.code == "POLICY_INVALID"
    assert refused.value.detail["errors"] == params_errors(params)
    assert problem in refused.value.message and refused.value.message.startswith("政策参数无效：")
    with pytest.raises(EngineError) as again:  # and so does the split, before computing anything
        split(params, "1", None, 0, True, [])
    assert again.value.code == "POLICY_INVALID" and again.value.detail["errors"] == params_errors(params)


@pytest.mark.parametrize("change, problem", BAD_PARAMS)
def test_the_file_loader_delegates_params_to_the_engines_validator(change, problem):
    params = _bad(change)
    with pytest.raises(InvalidInput) as refused:
        policy_entry_parse({**ENTRY, "params": params})
    assert refused.value.code == "INVALID_INPUT"
    assert refused.value.detail["errors"] == params_errors(params)  # exactly the engine's list, nothing of its own
    assert problem in refused.value.message
    assert refused.value.message.startswith(f"政策参数 {ENTRY['region']}/{ENTRY['insutype']}/v{ENTRY['version']} 无效：")


def test_a_valid_entry_passes_both_paths():
    parsed = policy_entry_parse(copy.deepcopy(ENTRY))
    assert parsed["params"] == PARAMS and parsed["effective_from"].isoformat() == ENTRY["effective_from"]
    assert params_errors(PARAMS) == [] and parse_params(PARAMS).model == PARAMS["model"]


@pytest.mark.parametrize("field, value, problem", [
    ("region", "５００１００", "region 必须是6位行政区划代码"),
    ("insutype", "391", "insutype 必须是 310 或 390，实为 '391'"),
    ("version", True, "version 必须是正整数，实为 True"),
    ("version", 0, "version 必须是正整数，实为 0"),
    ("version", "2", "version 必须是正整数，实为 '2'"),
    ("effective_from", "2026-02-30", "effective_from 必须是 YYYY-MM-DD 日期"),
    # Other ISO 8601 forms date.fromisoformat takes (the loader accepted them before: a week date
    # silently became another day, a number became a date).
    ("effective_from", "2026-W01-1", "effective_from 必须是 YYYY-MM-DD 日期，实为 '2026-W01-1'"),
    ("effective_from", "20260101", "effective_from 必须是 YYYY-MM-DD 日期，实为 '20260101'"),
    ("effective_from", 20260101, "effective_from 必须是 YYYY-MM-DD 日期，实为 20260101"),
    ("effective_from", "２０２６-01-01", "effective_from 必须是 YYYY-MM-DD 日期"),
])
def test_the_file_loader_checks_the_entrys_envelope(field, value, problem):
    with pytest.raises(InvalidInput) as refused:
        policy_entry_parse({**copy.deepcopy(ENTRY), field: value})
    assert refused.value.code == "INVALID_INPUT"
    assert any(problem in e for e in refused.value.detail["errors"]), refused.value.detail
    assert problem in refused.value.message


def test_unknown_entry_keys_that_are_not_strings_are_named_not_a_type_error():
    with pytest.raises(InvalidInput) as refused:
        policy_entry_parse({**copy.deepcopy(ENTRY), 3: "x", "note": "y"})
    assert "含未知字段：3, note" in refused.value.message


@pytest.mark.django_db(databases=["default", "core"])
def test_policy_load_stores_nothing_when_one_entry_is_refused():
    region_register("110100", "北京市", "北京市")
    bad = {**copy.deepcopy(ENTRY), "version": ENTRY["version"] + 1, "effective_from": "2026-W01-1"}
    with pytest.raises(InvalidInput) as refused:
        policy_load([copy.deepcopy(ENTRY), bad])
    assert "effective_from 必须是 YYYY-MM-DD 日期" in refused.value.message
    assert not PolicyParameters.objects.exists()


# --- issue #12: the national sections (outpatient pooling, supplements, bases, year start) ---

_OUTPATIENT = {
    "deductible_fen": {"in_service": 180000, "retired": 130000},
    "ratio_permille": {"in_service": {"1": 900, "2": 700, "3": 700, "9": 700},
                       "retired": {"1": 900, "2": 850, "3": 850, "9": 850}},
    "annual_ceiling_fen": {"in_service": 2000000, "retired": 2000000},
}


def _supplement(fund, **changes):
    base = {"fund": fund, "basis": "over_basic_ceiling" if fund == "hifob" else "personal_eligible",
            "deductible_fen": 50000,
            "bands": [{"upto_fen": 1000000, "ratio_permille": 850}, {"upto_fen": None, "ratio_permille": 900}],
            "annual_ceiling_fen": 2000000}
    if fund == "maf":
        base["identities"] = ["2101", "2201"]
    return base | changes


# Employees (310): every optional section the model allows.
FULL_310 = copy.deepcopy(PARAMS) | {
    "year_start": "07-01",
    "outpatient": _OUTPATIENT,
    "supplements": [_supplement("hifob"), _supplement("cvlserv"), _supplement("maf")],
}
FULL_310["bands"][0]["retired_ratio_permille"] = {"1": 970, "2": 910, "3": 880, "9": 800}
# Residents (390) on the account-first model (no outpatient section there).
FULL_390 = copy.deepcopy(PARAMS) | {
    "model": "account_first", "deductible_basis": "cumulative_cost",
    "supplements": [_supplement("maf"), _supplement("hifmi")],
}


def test_the_full_national_policies_are_valid():
    assert params_errors(FULL_310, insutype="310") == [] and params_errors(FULL_310) == []
    assert params_errors(FULL_390, insutype="390") == [] and params_errors(FULL_390) == []
    for basis in ("cumulative_cost", "cash_after_account"):
        assert params_errors(FULL_390 | {"deductible_basis": basis}) == []
    assert parse_params(FULL_310).model == "standard" and parse_params(FULL_390).model == "account_first"


def _sup(index, **changes):
    def change(p):
        p["supplements"][index].update(changes)
    return change


# (base policy, change, insutype for the validator, fragments every one of which the problem names)
NATIONAL_BAD = [
    ("unknown fund", FULL_310, _sup(0, fund="hifes"), None, ["supplements[0].fund 未知基金 'hifes'"]),
    ("unknown key in a supplement", FULL_310, _sup(1, ratio=1), None, ["supplements[1]（cvlserv） 含未知字段：ratio"]),
    ("unknown key in outpatient", FULL_310, lambda p: p["outpatient"].update(bands=[]), None,
     ["outpatient 必须恰好包含 annual_ceiling_fen, deductible_fen, ratio_permille"]),
    ("unknown params key", FULL_310, lambda p: p.update(hifob={}), None, ["hifob"]),
    ("a fund twice", FULL_310, lambda p: p["supplements"].append(_supplement("cvlserv")), None, ["supplements[3]（cvlserv）", "重复"]),
    ("overlapping supplement bands", FULL_310,
     _sup(0, bands=[{"upto_fen": 1000000, "ratio_permille": 850}, {"upto_fen": 500000, "ratio_permille": 900},
                    {"upto_fen": None, "ratio_permille": 950}]), None, ["supplements[0]", "bands[1]", "upto_fen"]),
    ("an open supplement band before the last", FULL_310,
     _sup(0, bands=[{"upto_fen": None, "ratio_permille": 850}, {"upto_fen": None, "ratio_permille": 900}]), None,
     ["supplements[0]", "bands[0]", "upto_fen"]),
    ("supplement ratio above 1000", FULL_310,
     _sup(2, bands=[{"upto_fen": None, "ratio_permille": 1001}]), None, ["supplements[2]", "1001"]),
    ("supplement ratio below 0", FULL_310,
     _sup(2, bands=[{"upto_fen": None, "ratio_permille": -1}]), None, ["supplements[2]", "-1"]),
    ("outpatient ratio above 1000", FULL_310,
     lambda p: p["outpatient"]["ratio_permille"]["retired"].update({"3": 1200}), None, ["outpatient", "1200"]),
    ("retired band ratio above 1000", FULL_310,
     lambda p: p["bands"][0]["retired_ratio_permille"].update({"2": 1001}), None,
     ["bands[0].retired_ratio_permille", "1001"]),
    ("main ceiling below a deductible", FULL_310, lambda p: p.update(annual_ceiling_fen=80000), None,
     ["annual_ceiling_fen（80000）不得低于起付线 deductible_fen.3（90000）"]),
    ("outpatient ceiling below its deductible", FULL_310,
     lambda p: p["outpatient"]["annual_ceiling_fen"].update(retired=120000), None,
     ["outpatient.annual_ceiling_fen.retired（120000）不得低于起付线"]),
    ("supplement ceiling below its deductible", FULL_310, _sup(1, annual_ceiling_fen=40000), None,
     ["supplements[1]（cvlserv）.annual_ceiling_fen（40000）不得低于起付线"]),
    ("deductible basis on standard", FULL_310, lambda p: p.update(deductible_basis="cumulative_cost"), None,
     ["deductible_basis 只适用于 account_first"]),
    ("unknown deductible basis", FULL_390, lambda p: p.update(deductible_basis="cash"), None,
     ["deductible_basis", "cash"]),
    ("outpatient on account_first", FULL_390, lambda p: p.update(outpatient=copy.deepcopy(_OUTPATIENT)), None,
     ["outpatient（门诊共济）只适用于 standard"]),
    ("unknown supplement basis", FULL_310, _sup(1, basis="everything"), None, ["supplements[1]", "everything"]),
    ("maf without identities", FULL_310, lambda p: p["supplements"][2].pop("identities"), None,
     ["supplements[2]", "identities"]),
    ("maf with an empty identity list", FULL_310, _sup(2, identities=[]), None, ["supplements[2]", "identities"]),
    ("identities on another fund", FULL_310, _sup(1, identities=["2101"]), None, ["supplements[1]", "identities"]),
    ("outpatient without the retired category", FULL_310, lambda p: p["outpatient"]["deductible_fen"].pop("retired"),
     None, ["outpatient", "retired"]),
    ("year start not MM-DD", FULL_310, lambda p: p.update(year_start="13-01"), None, ["year_start", "13-01"]),
    ("year start not MM-DD (short)", FULL_310, lambda p: p.update(year_start="7-1"), None, ["year_start", "7-1"]),
    ("hifob in a residents' (390) policy", FULL_310, lambda p: None, "390", ["hifob", "只适用于险种 310"]),
    ("hifmi in an employees' (310) policy", FULL_390, lambda p: None, "310", ["hifmi", "只适用于险种 390"]),
]


@pytest.mark.parametrize("label, base, change, insutype, fragments", NATIONAL_BAD, ids=[c[0] for c in NATIONAL_BAD])
def test_national_sections_are_refused_with_their_own_chinese_problem(label, base, change, insutype, fragments):
    params = copy.deepcopy(base)
    change(params)
    errors = params_errors(params, insutype=insutype)
    assert errors, label
    problems = [e for e in errors if all(f in e for f in fragments)]
    assert problems, errors
    # in Chinese, not just the field name
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in e) for e in errors)
    if insutype is None:
        with pytest.raises(EngineError) as refused:
            parse_params(params)
        assert refused.value.code == "POLICY_INVALID" and refused.value.detail["errors"] == errors
        assert refused.value.message.startswith("政策参数无效：") and problems[0] in refused.value.message


def test_every_national_problem_has_its_own_message():
    messages = {}
    for label, base, change, insutype, fragments in NATIONAL_BAD:
        params = copy.deepcopy(base)
        change(params)
        messages[label] = frozenset(params_errors(params, insutype=insutype))
    # a missing and an empty identity list are the same problem, said once
    assert messages.pop("maf with an empty identity list") == messages["maf without identities"]
    assert len(set(messages.values())) == len(messages)


@pytest.mark.parametrize("insutype, params, fund", [("390", FULL_310, "hifob"), ("310", FULL_390, "hifmi")])
def test_the_file_loader_refuses_a_fund_of_the_other_insurance_type(insutype, params, fund):
    entry = {**copy.deepcopy(ENTRY), "insutype": insutype, "params": copy.deepcopy(params)}
    with pytest.raises(InvalidInput) as refused:
        policy_entry_parse(entry)
    assert refused.value.code == "INVALID_INPUT"
    assert refused.value.detail["errors"] == params_errors(params, insutype=insutype)
    assert any(fund in e for e in refused.value.detail["errors"])
