"""Per-region policy parameters: the ``params`` schema, its one validator,
and the parsed form the engine computes with. Pure (no Django): the core's
file loader (core_platform/services/policy.py) checks a file entry's envelope
(region, insutype, version, effective_from) and delegates ``params`` to
``params_errors`` here, and the engine parses with ``parse_params`` before it
computes, so both accept exactly the same policies.

``params`` (money in fen, ratios in permille, institution levels '1' '2' '3'
hospitals and '9' pharmacies/ungraded; every level must be present)::

    {
      "model": "standard" | "account_first",
      "deductible_fen": {"1": 30000, "2": 60000, "3": 90000, "9": 0},
      "bands": [
        {"upto_fen": 5000000, "ratio_permille": {"1": 900, "2": 850, "3": 800, "9": 700}},
        {"upto_fen": null,    "ratio_permille": {"1": 950, "2": 900, "3": 850, "9": 750}}
      ],
      "annual_ceiling_fen": 40000000,
      "account_may_pay_self_part": true
    }

- ``model``: ``standard`` — eligible cost above the remaining annual
  deductible is paid by the pooled fund at the band's ratio, the rest is the
  person's part; ``account_first`` — the personal account pays eligible cost
  first, the pooled fund applies only once it is empty.
- ``deductible_fen``: annual deductible (起付线) per institution level.
- ``bands``: reimbursement bands by the person's annual cumulative eligible
  cost (``AnnualAccumulator.eligible_cost_fen``); each band covers cost up to
  ``upto_fen`` (exclusive of earlier bands); strictly ascending, the last one
  open-ended (``null``).
- ``annual_ceiling_fen``: the most the pooled fund pays per person and year.
- ``account_may_pay_self_part``: may the personal account pay the person's
  part (deductible, co-payment, B-class self-pay-first share)?
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import EngineError

MODELS = ("standard", "account_first")
LEVELS = ("1", "2", "3", "9")
LEVEL_NAMES = {"1": "一级医疗机构", "2": "二级医疗机构", "3": "三级医疗机构", "9": "未定级机构（含定点药店）"}
_KEYS = {"model", "deductible_fen", "bands", "annual_ceiling_fen", "account_may_pay_self_part"}


@dataclass(frozen=True)
class Band:
    """Annual cumulative eligible cost in [lower_fen, upto_fen) (``upto_fen``
    None: open-ended) is reimbursed at ``ratio_permille[level]``."""

    lower_fen: int
    upto_fen: int | None
    ratio_permille: Mapping[str, int]


@dataclass(frozen=True)
class PolicyParams:
    model: str  # "standard" | "account_first"
    deductible_fen: Mapping[str, int]  # annual deductible 起付线 per institution level
    bands: tuple[Band, ...]
    annual_ceiling_fen: int  # 年度最高支付限额 of the pooled fund
    account_may_pay_self_part: bool


def is_int(value) -> bool:
    """A JSON integer: an ``int`` that is not a ``bool`` (no floats, no strings)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _names(keys) -> str:
    return ", ".join(sorted(map(str, keys)))


def _per_level_errors(value, where: str, errors: list[str], *, upper: int | None = None) -> None:
    if not isinstance(value, Mapping):
        errors.append(f"{where} 必须是以机构等级为键的对象（{'/'.join(LEVELS)}）")
        return
    missing = [lv for lv in LEVELS if lv not in value]
    extra = [lv for lv in value if lv not in LEVELS]
    if missing:
        errors.append(f"{where} 缺少机构等级：{', '.join(missing)}")
    if extra:
        errors.append(f"{where} 含未知机构等级：{_names(extra)}")
    for lv in LEVELS:
        if lv in value:
            amount = value[lv]
            if not is_int(amount) or amount < 0 or (upper is not None and amount > upper):
                bound = f"0-{upper}" if upper is not None else "非负整数"
                errors.append(f"{where}.{lv} 必须是{bound}，实为 {amount!r}")


def params_errors(params) -> list[str]:
    """Every problem of a ``params`` object, in Chinese (empty list: valid).
    The one validator of the schema above."""
    if not isinstance(params, Mapping):
        return ["params 必须是JSON对象"]
    errors: list[str] = []
    missing = _KEYS - set(params)
    extra = set(params) - _KEYS
    if missing:
        errors.append(f"params 缺少字段：{_names(missing)}")
    if extra:
        errors.append(f"params 含未知字段：{_names(extra)}")
    if "model" in params and params["model"] not in MODELS:
        errors.append(f"model 必须是 {' 或 '.join(MODELS)}，实为 {params['model']!r}")
    if "deductible_fen" in params:
        _per_level_errors(params["deductible_fen"], "deductible_fen", errors)
    if "annual_ceiling_fen" in params:
        ceiling = params["annual_ceiling_fen"]
        if not is_int(ceiling) or ceiling <= 0:
            errors.append(f"annual_ceiling_fen 必须是正整数（分），实为 {ceiling!r}")
    if "account_may_pay_self_part" in params and not isinstance(params["account_may_pay_self_part"], bool):
        errors.append("account_may_pay_self_part 必须是 true 或 false")
    if "bands" in params:
        bands = params["bands"]
        if not isinstance(bands, list) or not bands:
            errors.append("bands 必须是非空数组")
            return errors
        previous = 0
        for i, band in enumerate(bands):
            where = f"bands[{i}]"
            if not isinstance(band, Mapping) or set(band) != {"upto_fen", "ratio_permille"}:
                errors.append(f"{where} 必须恰好包含 upto_fen 和 ratio_permille")
                continue
            upto = band["upto_fen"]
            last = i == len(bands) - 1
            if last and upto is not None:
                errors.append(f"{where}.upto_fen 最后一档必须为 null（不设上限）")
            elif not last and (not is_int(upto) or upto <= previous):
                errors.append(f"{where}.upto_fen 必须是大于上一档（{previous}）的整数，且只有最后一档可为 null")
            elif not last:
                previous = upto
            _per_level_errors(band["ratio_permille"], f"{where}.ratio_permille", errors, upper=1000)
    return errors


def parse_params(params: Mapping) -> PolicyParams:
    """The ``params`` dict -> ``PolicyParams``; ``EngineError("POLICY_INVALID")``
    listing every problem (``detail["errors"]``, as ``params_errors``)
    otherwise. A ``PolicyParams`` is returned as is."""
    if isinstance(params, PolicyParams):
        return params
    errors = params_errors(params)
    if errors:
        raise EngineError("POLICY_INVALID", "政策参数无效：" + "；".join(errors), {"errors": errors})
    bands: list[Band] = []
    lower = 0
    for raw in params["bands"]:
        bands.append(Band(lower, raw["upto_fen"], {lv: raw["ratio_permille"][lv] for lv in LEVELS}))
        lower = raw["upto_fen"] if raw["upto_fen"] is not None else lower
    return PolicyParams(model=params["model"], deductible_fen={lv: params["deductible_fen"][lv] for lv in LEVELS},
                        bands=tuple(bands), annual_ceiling_fen=params["annual_ceiling_fen"],
                        account_may_pay_self_part=params["account_may_pay_self_part"])
