"""Per-region policy parameters: the ``params`` schema, its validation, and
loading versions from a file.

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

A file for ``core_load_policy`` is JSON: one policy object, a list of them, or
``{"policies": [...]}``; each object is ``{"region", "insutype", "version",
"effective_from": "YYYY-MM-DD", "params": {...}}``. Versions are immutable:
loading an existing version with identical content is a no-op, with
different content it is refused (publish a new version instead).
"""

from __future__ import annotations

import datetime as dt

from common.fields import admdvs_valid

from ..db import core_atomic
from ..enums import Insutype
from ..errors import InvalidInput
from ..models import PolicyParameters, Region
from .audit import audit_record

MODELS = ("standard", "account_first")
LEVELS = ("1", "2", "3", "9")
_PARAM_KEYS = {"model", "deductible_fen", "bands", "annual_ceiling_fen", "account_may_pay_self_part"}
_ENTRY_KEYS = {"region", "insutype", "version", "effective_from", "params"}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _per_level(value, where: str, errors: list[str], *, upper: int | None = None) -> None:
    if not isinstance(value, dict):
        errors.append(f"{where} 必须是以机构等级为键的对象（{'/'.join(LEVELS)}）")
        return
    missing = [lv for lv in LEVELS if lv not in value]
    extra = [lv for lv in value if lv not in LEVELS]
    if missing:
        errors.append(f"{where} 缺少机构等级：{', '.join(missing)}")
    if extra:
        errors.append(f"{where} 含未知机构等级：{', '.join(map(str, extra))}")
    for lv in LEVELS:
        if lv in value:
            amount = value[lv]
            if not _is_int(amount) or amount < 0 or (upper is not None and amount > upper):
                bound = f"0-{upper}" if upper is not None else "非负整数"
                errors.append(f"{where}.{lv} 必须是{bound}，实为 {amount!r}")


def policy_params_errors(params) -> list[str]:
    """All problems of a ``params`` object (empty list: valid). Pure."""
    errors: list[str] = []
    if not isinstance(params, dict):
        return ["params 必须是JSON对象"]
    missing = sorted(_PARAM_KEYS - params.keys())
    extra = sorted(params.keys() - _PARAM_KEYS)
    if missing:
        errors.append(f"params 缺少字段：{', '.join(missing)}")
    if extra:
        errors.append(f"params 含未知字段：{', '.join(extra)}")
    if "model" in params and params["model"] not in MODELS:
        errors.append(f"model 必须是 {' 或 '.join(MODELS)}，实为 {params['model']!r}")
    if "deductible_fen" in params:
        _per_level(params["deductible_fen"], "deductible_fen", errors)
    if "annual_ceiling_fen" in params:
        ceiling = params["annual_ceiling_fen"]
        if not _is_int(ceiling) or ceiling <= 0:
            errors.append(f"annual_ceiling_fen 必须是正整数（分），实为 {ceiling!r}")
    if "account_may_pay_self_part" in params and not isinstance(params["account_may_pay_self_part"], bool):
        errors.append("account_may_pay_self_part 必须是 true 或 false")
    if "bands" in params:
        bands = params["bands"]
        if not isinstance(bands, list) or not bands:
            errors.append("bands 必须是非空数组")
        else:
            previous = 0
            for i, band in enumerate(bands):
                where = f"bands[{i}]"
                if not isinstance(band, dict) or set(band) != {"upto_fen", "ratio_permille"}:
                    errors.append(f"{where} 必须恰好包含 upto_fen 和 ratio_permille")
                    continue
                upto = band["upto_fen"]
                last = i == len(bands) - 1
                if last and upto is not None:
                    errors.append(f"{where}.upto_fen 最后一档必须为 null（不设上限）")
                elif not last and (not _is_int(upto) or upto <= previous):
                    errors.append(f"{where}.upto_fen 必须是大于上一档（{previous}）的整数，且只有最后一档可为 null")
                elif not last:
                    previous = upto
                _per_level(band["ratio_permille"], f"{where}.ratio_permille", errors, upper=1000)
    return errors


def policy_entry_parse(entry) -> dict:
    """Validate one file entry; returns it normalised or raises InvalidInput
    listing every problem."""
    if not isinstance(entry, dict):
        raise InvalidInput("每条政策参数必须是JSON对象")
    errors: list[str] = []
    missing = sorted(_ENTRY_KEYS - entry.keys())
    extra = sorted(entry.keys() - _ENTRY_KEYS)
    if missing:
        errors.append(f"缺少字段：{', '.join(missing)}")
    if extra:
        errors.append(f"含未知字段：{', '.join(extra)}")
    region = entry.get("region")
    if not admdvs_valid(region):
        errors.append(f"region 必须是6位行政区划代码，实为 {region!r}")
    if entry.get("insutype") not in Insutype.values:
        errors.append(f"insutype 必须是 310 或 390，实为 {entry.get('insutype')!r}")
    version = entry.get("version")
    if not _is_int(version) or version < 1:
        errors.append(f"version 必须是正整数，实为 {version!r}")
    effective_from = None
    try:
        effective_from = dt.date.fromisoformat(str(entry.get("effective_from")))
    except ValueError:
        errors.append(f"effective_from 必须是 YYYY-MM-DD 日期，实为 {entry.get('effective_from')!r}")
    if "params" in entry:
        errors.extend(policy_params_errors(entry["params"]))
    if errors:
        label = f"{region}/{entry.get('insutype')}/v{version}"
        raise InvalidInput(f"政策参数 {label} 无效：" + "；".join(errors), {"errors": errors})
    return {"region": region, "insutype": entry["insutype"], "version": version,
            "effective_from": effective_from, "params": entry["params"]}


def policy_file_entries(data) -> list:
    if isinstance(data, dict) and "policies" in data:
        data = data["policies"]
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise InvalidInput("政策参数文件必须是一个对象、对象数组或 {\"policies\": [...]}")
    return data


def policy_load(data) -> dict[str, int]:
    """Load policy versions (already-decoded JSON). All or nothing: every
    entry is validated first. Returns {"created": n, "unchanged": m}."""
    entries = [policy_entry_parse(e) for e in policy_file_entries(data)]
    known = set(Region.objects.filter(admdvs__in={e["region"] for e in entries}).values_list("admdvs", flat=True))
    unknown = sorted({e["region"] for e in entries} - known)
    if unknown:
        raise InvalidInput(f"参保地未登记：{', '.join(unknown)}（先登记统筹区）")
    counts = {"created": 0, "unchanged": 0}
    with core_atomic():
        for e in entries:
            current = PolicyParameters.objects.filter(
                region=e["region"], insutype=e["insutype"], version=e["version"]
            ).first()
            if current is not None:
                if current.params == e["params"] and current.effective_from == e["effective_from"]:
                    counts["unchanged"] += 1
                    continue
                raise InvalidInput(
                    f"政策参数 {e['region']}/{e['insutype']} 版本 {e['version']} 已存在且内容不同；请使用新的版本号"
                )
            PolicyParameters.objects.create(**e)
            audit_record("policy.load", f"{e['region']}-{e['insutype']}", {"version": e["version"]})
            counts["created"] += 1
    return counts

