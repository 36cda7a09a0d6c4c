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
    (lambda p: p["bands"][0].update(upto_fen=None), "bands[0].upto_fen 必须是大于上一档（0）的整数，且只有最后一档可为 null"),
    (lambda p: p["bands"][-1]["ratio_permille"].update({"1": 1001}), "ratio_permille.1 必须是0-1000，实为 1001"),
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
