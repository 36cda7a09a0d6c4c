"""Per-region policy parameters as the engine sees them.

``parse_params`` takes the ``params`` object of a ``PolicyParameters`` version
(schema and its load-time validator: core_platform/services/policy.py) and
checks it again, independently and without Django, so the engine never
computes with a malformed policy. It accepts exactly what
``policy_params_errors`` accepts (a test holds the two together).
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


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _per_level(value, where: str, errors: list[str], upper: int | None = None) -> dict[str, int]:
    if not isinstance(value, Mapping):
        errors.append(f"{where} 必须是以机构等级为键的对象（{'/'.join(LEVELS)}）")
        return {}
    if set(value) != set(LEVELS):
        errors.append(f"{where} 必须恰好包含机构等级 {'/'.join(LEVELS)}")
    result = {}
    for level in LEVELS:
        amount = value.get(level)
        if not _is_int(amount) or amount < 0 or (upper is not None and amount > upper):
            errors.append(f"{where}.{level} 必须是{'0-' + str(upper) if upper is not None else '非负整数'}，实为 {amount!r}")
        else:
            result[level] = amount
    return result


def parse_params(params: Mapping) -> PolicyParams:
    """The ``params`` dict -> ``PolicyParams``; ``EngineError("POLICY_INVALID")``
    listing every problem otherwise. A ``PolicyParams`` is returned as is."""
    if isinstance(params, PolicyParams):
        return params
    if not isinstance(params, Mapping):
        raise EngineError("POLICY_INVALID", "政策参数必须是JSON对象")
    errors: list[str] = []
    if set(params) != _KEYS:
        missing = sorted(_KEYS - set(params))
        extra = sorted(map(str, set(params) - _KEYS))
        errors.append(f"政策参数字段不符（缺少：{', '.join(missing) or '无'}；未知：{', '.join(extra) or '无'}）")
    model = params.get("model")
    if model not in MODELS:
        errors.append(f"model 必须是 {' 或 '.join(MODELS)}，实为 {model!r}")
    deductible = _per_level(params.get("deductible_fen"), "deductible_fen", errors)
    ceiling = params.get("annual_ceiling_fen")
    if not _is_int(ceiling) or ceiling <= 0:
        errors.append(f"annual_ceiling_fen 必须是正整数（分），实为 {ceiling!r}")
    may_pay = params.get("account_may_pay_self_part")
    if not isinstance(may_pay, bool):
        errors.append("account_may_pay_self_part 必须是 true 或 false")
    bands: list[Band] = []
    raw_bands = params.get("bands")
    if not isinstance(raw_bands, list) or not raw_bands:
        errors.append("bands 必须是非空数组")
    else:
        lower = 0
        for i, raw in enumerate(raw_bands):
            where = f"bands[{i}]"
            if not isinstance(raw, Mapping) or set(raw) != {"upto_fen", "ratio_permille"}:
                errors.append(f"{where} 必须恰好包含 upto_fen 和 ratio_permille")
                continue
            upto = raw["upto_fen"]
            last = i == len(raw_bands) - 1
            if last and upto is not None:
                errors.append(f"{where}.upto_fen 最后一档必须为 null（不设上限）")
            elif not last and (not _is_int(upto) or upto <= lower):
                errors.append(f"{where}.upto_fen 必须是大于上一档（{lower}）的整数，且只有最后一档可为 null")
            ratios = _per_level(raw["ratio_permille"], f"{where}.ratio_permille", errors, upper=1000)
            bands.append(Band(lower, upto, ratios))
            if _is_int(upto) and upto > lower:
                lower = upto
    if errors:
        raise EngineError("POLICY_INVALID", "政策参数无效：" + "；".join(errors), {"errors": errors})
    return PolicyParams(model=model, deductible_fen=dict(deductible), bands=tuple(bands),
                        annual_ceiling_fen=ceiling, account_may_pay_self_part=may_pay)
