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
      "deductible_basis": "cumulative_cost" | "cash_after_account",      # account_first only, optional
      "deductible_fen": {"1": 30000, "2": 60000, "3": 90000, "9": 0},
      "bands": [
        {"upto_fen": 5000000, "ratio_permille": {"1": 900, "2": 850, "3": 800, "9": 700},
         "retired_ratio_permille": {"1": 950, "2": 900, "3": 850, "9": 750}},   # optional
        {"upto_fen": null,    "ratio_permille": {"1": 950, "2": 900, "3": 850, "9": 750}}
      ],
      "annual_ceiling_fen": 40000000,
      "account_may_pay_self_part": true,
      "year_start": "01-01",                                               # optional
      "outpatient": {                                                      # optional, standard only
        "deductible_fen": {"in_service": 180000, "retired": 130000},
        "ratio_permille": {"in_service": {"1": 900, ...}, "retired": {"1": 900, ...}},
        "annual_ceiling_fen": {"in_service": 2000000, "retired": 2500000}
      },
      "cross_province": {"adjust_permille": {"long_term": 0, "referral": -100,   # optional
                                             "emergency": -100, "temporary_other": -200},
                         "unfiled": "refuse", "same_province": "local", "open": true,
                         "long_term_min_months": 6, "temporary_valid_months": 6},
      "mutual_aid": {"relations": ["spouse", "parent", "child"],           # optional
                     "in_province_mode": "direct"},
      "supplements": [                                                     # optional
        {"fund": "hifob", "basis": "over_basic_ceiling", "deductible_fen": 0,
         "bands": [{"upto_fen": null, "ratio_permille": 850}], "annual_ceiling_fen": 50000000}
      ]
    }

- ``model``: ``standard`` — eligible cost above the remaining annual
  deductible is paid by the pooled fund at the band's ratio, the rest is the
  person's part; ``account_first`` — the personal account pays eligible cost
  first, the pooled fund applies only once it is empty.
- ``deductible_basis`` (account_first): where the self-pay stage (自付段)
  ends. ``cumulative_cost`` (the default, the older Chongqing form): the
  stage is the first ``deductible_fen[level]`` of the year's cumulative
  eligible cost, whatever paid for it; ``cash_after_account`` (the
  Shanghai-style 自负段): the stage is that much cash paid after the account
  is empty.
- ``deductible_fen``: annual deductible (起付线) per institution level.
- ``bands``: reimbursement bands by the person's annual cumulative eligible
  cost (``AnnualAccumulator.eligible_cost_fen``); each band covers cost up to
  ``upto_fen`` (exclusive of earlier bands); strictly ascending, the last one
  open-ended (``null``). ``retired_ratio_permille``: the ratios for retirees
  (psn_type 21), if they differ.
- ``annual_ceiling_fen``: the most the pooled fund pays per person and year.
- ``account_may_pay_self_part``: may the personal account pay the person's
  part (deductible, co-payment, B-class self-pay-first share)?
- ``year_start``: the policy year's first day, ``MM-DD``; annual counters
  reset on it (default the calendar year).
- ``outpatient``: employee outpatient pooling (职工门诊共济, the 2023
  reform): an outpatient bill is settled against its own annual deductible,
  ratio (per institution level) and ceiling, each for in-service employees
  and for retirees, and its own counters; pharmacies (level 9) only when
  designated for outpatient pooling. Without it, every bill is settled by
  the main rules.
- ``cross_province`` (异地就医, read for the INSURED region): the ratio
  adjustment per filing kind, in permille points added to every band ratio
  of the basic stage and bounded at 0 (defaults: long-term 0, referral and
  emergency −100, other temporary −200); ``unfiled``: a bill in another
  province without a filing is refused (``refuse``, the default) or settled
  at the lowest temporary ratio (``lowest_ratio``); ``same_province``: a bill
  in another pooling region of the same province is ``local`` (default) or
  needs a filing like another province (``filed``). The filing rules the
  wallet applies when a person files (read through the core's 9501):
  ``open`` — has the region opened cross-province direct settlement
  (default true); ``long_term_min_months`` — a long-term filing may be
  changed or cancelled after this many months (default 6; earlier only with
  a reason the region accepts); ``temporary_valid_months`` — how long a
  temporary filing is valid (default 6).
- ``mutual_aid`` (家庭共济, read for the PAYER's region): the relations whose
  bills the payer's personal account may pay (default all six — spouse,
  parent, child, sibling, grandparent, grandchild, the 2024 national 近亲属
  scope) and, within the payer's province, ``direct`` use of the account
  (default) or a ``set_aside`` amount (共济额度); across provinces always
  set_aside.
- ``supplements``: funds that pay after the basic fund, each at most once,
  computed in the order hifob (职工大额医疗费用补助), hifmi (城乡居民大病保险),
  cvlserv (公务员医疗补助, persons with the civil-servant flag), maf (医疗救助,
  persons with one of ``identities``). ``basis`` ``over_basic_ceiling``: the
  eligible cost beyond the basic fund's annual ceiling; ``personal_eligible``:
  the eligible cost still borne by the person (deductible and co-payment
  less the funds before). Each has its own annual deductible, bands (by its
  own cumulative base) and ceiling.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from .errors import EngineError

MODELS = ("standard", "account_first")
BASES = ("cumulative_cost", "cash_after_account")
LEVELS = ("1", "2", "3", "9")
LEVEL_NAMES = {"1": "一级医疗机构", "2": "二级医疗机构", "3": "三级医疗机构", "9": "未定级机构（含定点药店）"}
CATEGORIES = ("in_service", "retired")
CATEGORY_NAMES = {"in_service": "在职职工", "retired": "退休人员"}
RETIRED_PSN_TYPE = "21"
# Supplementary funds, in the order they are computed: code -> (national fund_pay_type, name, setlinfo field).
FUNDS = {
    "hifob": ("330100", "职工大额医疗费用补助", "hifob_pay"),
    "hifmi": ("390200", "城乡居民大病保险", "hifmi_pay"),
    "cvlserv": ("320100", "公务员医疗补助", "cvlserv_pay"),
    "maf": ("610100", "医疗救助", "maf_pay"),
}
FUND_INSUTYPE = {"hifob": "310", "hifmi": "390"}  # a fund only for one insutype
SUPPLEMENT_BASES = ("over_basic_ceiling", "personal_eligible")
_KEYS = {"model", "deductible_fen", "bands", "annual_ceiling_fen", "account_may_pay_self_part"}
_OPTIONAL = {"deductible_basis", "year_start", "outpatient", "supplements", "mutual_aid", "cross_province"}
FILING_KINDS = ("long_term", "referral", "emergency", "temporary_other")
FILING_KIND_NAMES = {"long_term": "长期备案", "referral": "异地转诊转院", "emergency": "急诊抢救",
                     "temporary_other": "其他临时外出"}
DEFAULT_ADJUST = {"long_term": 0, "referral": -100, "emergency": -100, "temporary_other": -200}
RELATIONS = ("spouse", "parent", "child", "sibling", "grandparent", "grandchild")
MUTUAL_AID_MODES = ("direct", "set_aside")
_MONTH_DAY = re.compile(r"[0-9]{2}-[0-9]{2}", re.ASCII)


@dataclass(frozen=True)
class Band:
    """Annual cumulative cost in [lower_fen, upto_fen) (``upto_fen`` None:
    open-ended) is reimbursed at ``ratio_permille[level]`` (retirees:
    ``retired_ratio_permille[level]``). A supplement's bands have one ratio
    for every level (all four keys carry it)."""

    lower_fen: int
    upto_fen: int | None
    ratio_permille: Mapping[str, int]
    retired_ratio_permille: Mapping[str, int] | None = None

    def ratio(self, level: str, retired: bool = False) -> int:
        table = self.retired_ratio_permille if (retired and self.retired_ratio_permille) else self.ratio_permille
        return table[level]


@dataclass(frozen=True)
class Outpatient:
    """职工门诊共济: per category (in_service / retired)."""

    deductible_fen: Mapping[str, int]
    ratio_permille: Mapping[str, Mapping[str, int]]
    annual_ceiling_fen: Mapping[str, int]


@dataclass(frozen=True)
class Supplement:
    fund: str  # hifob / hifmi / cvlserv / maf
    basis: str  # over_basic_ceiling / personal_eligible
    deductible_fen: int
    bands: tuple[Band, ...]
    annual_ceiling_fen: int
    identities: frozenset[str] = frozenset()  # maf: the psn_idet_type codes that qualify

    @property
    def fund_pay_type(self) -> str:
        return FUNDS[self.fund][0]

    @property
    def name(self) -> str:
        return FUNDS[self.fund][1]


@dataclass(frozen=True)
class PolicyParams:
    model: str  # "standard" | "account_first"
    deductible_fen: Mapping[str, int]  # annual deductible 起付线 per institution level
    bands: tuple[Band, ...]
    annual_ceiling_fen: int  # 年度最高支付限额 of the pooled fund
    account_may_pay_self_part: bool
    deductible_basis: str = "cumulative_cost"  # account_first only
    year_start: tuple[int, int] = (1, 1)  # (month, day)
    outpatient: Outpatient | None = None
    supplements: tuple[Supplement, ...] = ()  # in computation order (FUNDS)
    cross_adjust_permille: Mapping[str, int] = dataclass_field(default_factory=lambda: dict(DEFAULT_ADJUST))
    cross_unfiled: str = "refuse"  # refuse / lowest_ratio
    cross_same_province: str = "local"  # local / filed
    cross_open: bool = True  # has the insured region opened cross-province direct settlement
    cross_long_term_min_months: int = 6
    cross_temporary_valid_months: int = 6
    mutual_aid_relations: frozenset[str] = frozenset(RELATIONS)
    mutual_aid_in_province_mode: str = "direct"


def is_int(value) -> bool:
    """A JSON integer: an ``int`` that is not a ``bool`` (no floats, no strings)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _names(keys) -> str:
    return ", ".join(sorted(map(str, keys)))


def _amount_errors(value, where: str, errors: list[str], *, positive: bool = False) -> bool:
    if not is_int(value) or value < (1 if positive else 0):
        errors.append(f"{where} 必须是{'正' if positive else '非负'}整数（分），实为 {value!r}")
        return False
    return True


def _ratio_errors(value, where: str, errors: list[str]) -> bool:
    if not is_int(value) or not 0 <= value <= 1000:
        errors.append(f"{where} 必须是0-1000的整数（千分比，不超过100%），实为 {value!r}")
        return False
    return True


def _mapping_keys(value, where: str, keys: tuple[str, ...], what: str, errors: list[str]) -> bool:
    if not isinstance(value, Mapping):
        errors.append(f"{where} 必须是以{what}为键的对象（{'/'.join(keys)}）")
        return False
    missing = [k for k in keys if k not in value]
    extra = [k for k in value if k not in keys]
    if missing:
        errors.append(f"{where} 缺少{what}：{', '.join(missing)}")
    if extra:
        errors.append(f"{where} 含未知{what}：{_names(extra)}")
    return True


def _per_level_errors(value, where: str, errors: list[str], *, ratio: bool = False) -> None:
    if _mapping_keys(value, where, LEVELS, "机构等级", errors):
        for lv in LEVELS:
            if lv in value:
                (_ratio_errors if ratio else _amount_errors)(value[lv], f"{where}.{lv}", errors)


def _bands_errors(bands, where: str, errors: list[str], *, ratio_check, extra_keys=()) -> None:
    """Bands: a non-empty list, ``upto_fen`` strictly ascending (no overlap),
    only the last one open-ended (null)."""
    if not isinstance(bands, list) or not bands:
        errors.append(f"{where} 必须是非空数组")
        return
    previous = 0
    for i, band in enumerate(bands):
        at = f"{where}[{i}]"
        keys = {"upto_fen", "ratio_permille"}
        if not isinstance(band, Mapping) or not keys <= set(band) or set(band) - keys - set(extra_keys):
            allowed = "、".join(["upto_fen", "ratio_permille", *extra_keys])
            errors.append(f"{at} 必须包含 upto_fen 和 ratio_permille（可含：{allowed}）")
            continue
        upto = band["upto_fen"]
        last = i == len(bands) - 1
        if last and upto is not None:
            errors.append(f"{at}.upto_fen 最后一档必须为 null（不设上限）")
        elif not last and (not is_int(upto) or upto <= previous):
            errors.append(f"{at}.upto_fen 必须是大于上一档（{previous}）的整数（各档不得重叠），且只有最后一档可为 null")
        elif not last:
            previous = upto
        ratio_check(band["ratio_permille"], f"{at}.ratio_permille", errors)
        for key in extra_keys:
            if key in band:
                ratio_check(band[key], f"{at}.{key}", errors)


def _outpatient_errors(value, errors: list[str]) -> None:
    where = "outpatient"
    keys = {"deductible_fen", "ratio_permille", "annual_ceiling_fen"}
    if not isinstance(value, Mapping):
        errors.append(f"{where} 必须是JSON对象")
        return
    if set(value) != keys:
        errors.append(f"{where} 必须恰好包含 {_names(keys)}")
        return
    ok = {}
    for key in ("deductible_fen", "annual_ceiling_fen"):
        ok[key] = _mapping_keys(value[key], f"{where}.{key}", CATEGORIES, "人员类别", errors)
        if ok[key]:
            for c in CATEGORIES:
                if c in value[key]:
                    _amount_errors(value[key][c], f"{where}.{key}.{c}", errors, positive=key == "annual_ceiling_fen")
    if _mapping_keys(value["ratio_permille"], f"{where}.ratio_permille", CATEGORIES, "人员类别", errors):
        for c in CATEGORIES:
            if c in value["ratio_permille"]:
                _per_level_errors(value["ratio_permille"][c], f"{where}.ratio_permille.{c}", errors, ratio=True)
    if ok["deductible_fen"] and ok["annual_ceiling_fen"]:
        for c in CATEGORIES:
            d, top = value["deductible_fen"].get(c), value["annual_ceiling_fen"].get(c)
            if is_int(d) and is_int(top) and top < d:
                errors.append(f"{where}.annual_ceiling_fen.{c}（{top}）不得低于起付线 deductible_fen.{c}（{d}）")


def _supplements_errors(value, insutype: str | None, errors: list[str]) -> None:
    if not isinstance(value, list):
        errors.append("supplements 必须是数组")
        return
    seen: set[str] = set()
    keys = {"fund", "basis", "deductible_fen", "bands", "annual_ceiling_fen"}
    for i, entry in enumerate(value):
        where = f"supplements[{i}]"
        if not isinstance(entry, Mapping):
            errors.append(f"{where} 必须是JSON对象")
            continue
        fund = entry.get("fund")
        if fund not in FUNDS:
            errors.append(f"{where}.fund 未知基金 {fund!r}（可选：{', '.join(FUNDS)}）")
            continue
        where = f"supplements[{i}]（{fund}）"
        if fund in seen:
            errors.append(f"{where} 重复：每种基金只能配置一次")
        seen.add(fund)
        allowed = keys | ({"identities"} if fund == "maf" else set())
        missing, extra = keys - set(entry), set(entry) - allowed
        if missing:
            errors.append(f"{where} 缺少字段：{_names(missing)}")
        if extra:
            errors.append(f"{where} 含未知字段：{_names(extra)}")
        if fund in FUND_INSUTYPE and insutype is not None and insutype != FUND_INSUTYPE[fund]:
            errors.append(f"{where} {FUNDS[fund][1]}只适用于险种 {FUND_INSUTYPE[fund]}，本政策险种为 {insutype}")
        if "basis" in entry and entry["basis"] not in SUPPLEMENT_BASES:
            errors.append(f"{where}.basis 必须是 {' 或 '.join(SUPPLEMENT_BASES)}，实为 {entry['basis']!r}")
        good_dedc = "deductible_fen" in entry and _amount_errors(entry["deductible_fen"], f"{where}.deductible_fen", errors)
        good_top = "annual_ceiling_fen" in entry and _amount_errors(
            entry["annual_ceiling_fen"], f"{where}.annual_ceiling_fen", errors, positive=True)
        if good_dedc and good_top and entry["annual_ceiling_fen"] < entry["deductible_fen"]:
            errors.append(f"{where}.annual_ceiling_fen（{entry['annual_ceiling_fen']}）不得低于起付线"
                          f" deductible_fen（{entry['deductible_fen']}）")
        if "bands" in entry:
            _bands_errors(entry["bands"], f"{where}.bands", errors, ratio_check=_ratio_errors)
        if fund == "maf":
            ids = entry.get("identities")
            if not isinstance(ids, list) or not ids or not all(
                    isinstance(x, str) and re.fullmatch(r"[0-9A-Za-z]{1,6}", x, re.ASCII) for x in ids):
                errors.append(f"{where}.identities 必须是非空数组，列出享受医疗救助的人员身份类别代码（1-6位字母或数字）")


def params_errors(params, insutype: str | None = None) -> list[str]:
    """Every problem of a ``params`` object, in Chinese (empty list: valid).
    The one validator of the schema above. ``insutype`` (the file entry's)
    lets it refuse a fund of the other scheme (大额 in a residents' policy)."""
    if not isinstance(params, Mapping):
        return ["params 必须是JSON对象"]
    errors: list[str] = []
    missing = _KEYS - set(params)
    extra = set(params) - _KEYS - _OPTIONAL
    if missing:
        errors.append(f"params 缺少字段：{_names(missing)}")
    if extra:
        errors.append(f"params 含未知字段：{_names(extra)}")
    model = params.get("model")
    if "model" in params and model not in MODELS:
        errors.append(f"model 必须是 {' 或 '.join(MODELS)}，实为 {model!r}")
    if "deductible_basis" in params:
        if model != "account_first":
            errors.append("deductible_basis 只适用于 account_first（通道式）模式")
        elif params["deductible_basis"] not in BASES:
            errors.append(f"deductible_basis 必须是 {' 或 '.join(BASES)}，实为 {params['deductible_basis']!r}")
    if "deductible_fen" in params:
        _per_level_errors(params["deductible_fen"], "deductible_fen", errors)
    if "annual_ceiling_fen" in params:
        ceiling = params["annual_ceiling_fen"]
        if _amount_errors(ceiling, "annual_ceiling_fen", errors, positive=True):
            deductibles = params.get("deductible_fen")
            if isinstance(deductibles, Mapping):
                for lv in LEVELS:
                    d = deductibles.get(lv)
                    if is_int(d) and ceiling < d:
                        errors.append(f"annual_ceiling_fen（{ceiling}）不得低于起付线 deductible_fen.{lv}（{d}）")
    if "account_may_pay_self_part" in params and not isinstance(params["account_may_pay_self_part"], bool):
        errors.append("account_may_pay_self_part 必须是 true 或 false")
    if "bands" in params:
        _bands_errors(params["bands"], "bands", errors,
                      ratio_check=lambda v, w, e: _per_level_errors(v, w, e, ratio=True),
                      extra_keys=("retired_ratio_permille",))
    if "year_start" in params and _year_start(params["year_start"]) is None:
        errors.append(f"year_start 必须是 MM-DD 格式的日期（如 01-01），实为 {params['year_start']!r}")
    if "outpatient" in params:
        if model == "account_first":
            errors.append("outpatient（门诊共济）只适用于 standard（统账结合）模式")
        _outpatient_errors(params["outpatient"], errors)
    if "supplements" in params:
        _supplements_errors(params["supplements"], insutype, errors)
    if "mutual_aid" in params:
        _mutual_aid_errors(params["mutual_aid"], errors)
    if "cross_province" in params:
        _cross_province_errors(params["cross_province"], errors)
    return errors


def _cross_province_errors(value, errors: list[str]) -> None:
    keys = {"adjust_permille", "unfiled", "same_province", "open", "long_term_min_months", "temporary_valid_months"}
    if not isinstance(value, Mapping) or not set(value) <= keys:
        errors.append(f"cross_province 必须是对象，只能包含 {_names(keys)}")
        return
    adjust = value.get("adjust_permille", DEFAULT_ADJUST)
    if _mapping_keys(adjust, "cross_province.adjust_permille", FILING_KINDS, "备案类别", errors):
        for kind in FILING_KINDS:
            v = adjust.get(kind)
            if kind in adjust and (not is_int(v) or not -1000 <= v <= 0):
                errors.append(f"cross_province.adjust_permille.{kind} 必须是-1000到0的整数（千分点，只降不升），实为 {v!r}")
    if value.get("unfiled", "refuse") not in ("refuse", "lowest_ratio"):
        errors.append(f"cross_province.unfiled 必须是 refuse 或 lowest_ratio，实为 {value.get('unfiled')!r}")
    if value.get("same_province", "local") not in ("local", "filed"):
        errors.append(f"cross_province.same_province 必须是 local 或 filed，实为 {value.get('same_province')!r}")
    if not isinstance(value.get("open", True), bool):
        errors.append("cross_province.open 必须是 true 或 false")
    for key, low in (("long_term_min_months", 0), ("temporary_valid_months", 1)):
        months = value.get(key, 6)
        if not is_int(months) or not low <= months <= 120:
            errors.append(f"cross_province.{key} 必须是{low}-120的整数（月），实为 {months!r}")


def _mutual_aid_errors(value, errors: list[str]) -> None:
    if not isinstance(value, Mapping) or set(value) != {"relations", "in_province_mode"}:
        errors.append("mutual_aid 必须恰好包含 relations 和 in_province_mode")
        return
    relations = value["relations"]
    if not isinstance(relations, list) or any(r not in RELATIONS for r in relations) or len(set(relations)) != len(relations):
        errors.append(f"mutual_aid.relations 必须是不重复的亲属关系列表（可选：{', '.join(RELATIONS)}），实为 {relations!r}")
    if value["in_province_mode"] not in MUTUAL_AID_MODES:
        errors.append(f"mutual_aid.in_province_mode 必须是 {' 或 '.join(MUTUAL_AID_MODES)}，实为 {value['in_province_mode']!r}")


def _year_start(value) -> tuple[int, int] | None:
    if not isinstance(value, str) or not _MONTH_DAY.fullmatch(value):
        return None
    month, day = int(value[:2]), int(value[3:])
    try:
        dt.date(2001, month, day)  # a non-leap year: 02-29 is no year boundary
    except ValueError:
        return None
    return month, day


def _bands(raw: list, *, per_level: bool) -> tuple[Band, ...]:
    bands: list[Band] = []
    lower = 0
    for b in raw:
        if per_level:
            ratio = {lv: b["ratio_permille"][lv] for lv in LEVELS}
            retired = b.get("retired_ratio_permille")
            retired = {lv: retired[lv] for lv in LEVELS} if retired is not None else None
        else:
            ratio, retired = {lv: b["ratio_permille"] for lv in LEVELS}, None
        bands.append(Band(lower, b["upto_fen"], ratio, retired))
        lower = b["upto_fen"] if b["upto_fen"] is not None else lower
    return tuple(bands)


def parse_params(params: Mapping, insutype: str | None = None) -> PolicyParams:
    """The ``params`` dict -> ``PolicyParams``; ``EngineError("POLICY_INVALID")``
    listing every problem (``detail["errors"]``, as ``params_errors``)
    otherwise. A ``PolicyParams`` is returned as is."""
    if isinstance(params, PolicyParams):
        return params
    errors = params_errors(params, insutype)
    if errors:
        raise EngineError("POLICY_INVALID", "政策参数无效：" + "；".join(errors), {"errors": errors})
    outpatient = None
    if "outpatient" in params:
        raw = params["outpatient"]
        outpatient = Outpatient(
            deductible_fen={c: raw["deductible_fen"][c] for c in CATEGORIES},
            ratio_permille={c: {lv: raw["ratio_permille"][c][lv] for lv in LEVELS} for c in CATEGORIES},
            annual_ceiling_fen={c: raw["annual_ceiling_fen"][c] for c in CATEGORIES},
        )
    given = {s["fund"]: s for s in params.get("supplements", [])}
    supplements = tuple(
        Supplement(fund=f, basis=s["basis"], deductible_fen=s["deductible_fen"], bands=_bands(s["bands"], per_level=False),
                   annual_ceiling_fen=s["annual_ceiling_fen"], identities=frozenset(s.get("identities", ())))
        for f in FUNDS if (s := given.get(f)) is not None
    )
    return PolicyParams(
        model=params["model"], deductible_fen={lv: params["deductible_fen"][lv] for lv in LEVELS},
        bands=_bands(params["bands"], per_level=True), annual_ceiling_fen=params["annual_ceiling_fen"],
        account_may_pay_self_part=params["account_may_pay_self_part"],
        deductible_basis=params.get("deductible_basis", "cumulative_cost"),
        year_start=_year_start(params.get("year_start", "01-01")), outpatient=outpatient, supplements=supplements,
        mutual_aid_relations=frozenset(params["mutual_aid"]["relations"]) if "mutual_aid" in params
        else frozenset(RELATIONS),
        mutual_aid_in_province_mode=params.get("mutual_aid", {}).get("in_province_mode", "direct"),
        cross_adjust_permille=dict(params.get("cross_province", {}).get("adjust_permille", DEFAULT_ADJUST)),
        cross_unfiled=params.get("cross_province", {}).get("unfiled", "refuse"),
        cross_same_province=params.get("cross_province", {}).get("same_province", "local"),
        cross_open=params.get("cross_province", {}).get("open", True),
        cross_long_term_min_months=params.get("cross_province", {}).get("long_term_min_months", 6),
        cross_temporary_valid_months=params.get("cross_province", {}).get("temporary_valid_months", 6),
    )


def policy_year(params: PolicyParams | Mapping, on: dt.date) -> int:
    """The policy year that ``on`` falls in, named by the calendar year it
    starts in (year_start 07-01: 2026-06-30 -> 2025, 2026-07-01 -> 2026).
    The annual counters are kept per policy year."""
    params = parse_params(params)
    month, day = params.year_start
    return on.year if (on.month, on.day) >= (month, day) else on.year - 1
