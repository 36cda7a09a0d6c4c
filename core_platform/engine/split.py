"""The split of one bill (一次结算): line items -> setlinfo, setldetail (per
fund), detlcutinfo (per line item), the explanation and the deltas for the
ledger and the annual counters.

Steps (docs/subsystems/policy-engine.md works each by hand):

1. per line item: 丙类, over the price cap, B-class self-pay-first, eligible;
2. the basic stage, chosen by the visit: the outpatient rules (职工门诊共济)
   for an outpatient bill where the policy has them (at a pharmacy only if it
   is designated for outpatient pooling; otherwise no stage: ``none``), else
   the main rules (``inpatient`` when the policy has outpatient rules,
   ``general`` when it does not). Each has its own annual counters.

   standard (统账结合)
       E = Σ eligible; deductible ``act_pay_dedc = min(E, D)`` (D = what
       remains of this level's annual deductible); the rest lies on the
       annual cumulative-eligible-cost axis at [cum + act_pay_dedc, cum + E)
       and is reimbursed band by band (retirees at their own ratios where the
       policy has them); the fund is capped by what remains of the annual
       ceiling. The personal account may pay the person's part.
   account_first (通道式)
       the personal account first pays eligible cost ``a = min(balance, E)``
       (if the person uses it). Then the self-pay stage (自付段), by the
       policy's ``deductible_basis``: ``cumulative_cost`` — the part of the
       rest lying below the deductible on the cumulative-cost axis
       [cum + a, cum + E) is paid in cash (cost paid from the account counts
       toward the stage); ``cash_after_account`` — the remaining deductible
       is paid in cash (cost paid from the account does not count). What is
       left is reimbursed band by band, capped by the ceiling.

3. the supplementary funds (funds.py), in order hifob, hifmi, cvlserv, maf;
4. the person's part: from the account as the model and the region allow,
   the rest in cash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from decimal import Decimal
from fractions import Fraction

from common.money import fen_to_amount, fen_to_yuan

from .errors import EngineError
from .funds import BandSplit, FundSplit, Patient, band_splits, explain_fund, over_ceiling_cost, setl_proc_info, \
    supplements_split
from .params import (CATEGORY_NAMES, FILING_KIND_NAMES, FILING_KINDS, FUNDS, LEVEL_NAMES, LEVELS, RETIRED_PSN_TYPE,
                     Band, PolicyParams, is_int, parse_params)
from .rounding import round_half_up

LIST_CLASSES = ("A", "B", "C")
CLASS_NAMES = {"A": "甲类", "B": "乙类", "C": "丙类"}
CHRGITM_LV = {"A": "01", "B": "02", "C": "03"}  # national chrgitm_lv: 01 甲类, 02 乙类, 03 自费
MAX_CNT = Decimal("100000000")  # a quantity of 10^8 or more is a data error
MAX_CNT_DECIMALS = 6
_PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)  # what a quantity string may be (fullmatch)


# --- inputs ------------------------------------------------------------------


@dataclass(frozen=True)
class Counters:
    """The annual counters, integer fen: the main stage's (the first three),
    the outpatient stage's, and per supplementary fund its base, deductible
    and payments. ``Accumulators`` holds their values for a policy year,
    ``Deltas`` what one settlement adds to each."""

    eligible_cost_fen: int = 0  # cumulative eligible cost 累计政策范围内费用 (the band axis)
    deductible_paid_fen: int = 0  # deductible paid 累计起付线
    fund_paid_fen: int = 0  # pooled fund paid 累计统筹基金支付 (against the ceiling)
    outpatient_eligible_cost_fen: int = 0  # 门诊共济: the same three for outpatient bills
    outpatient_deductible_paid_fen: int = 0
    outpatient_fund_paid_fen: int = 0
    hifob_base_fen: int = 0  # 职工大额: cost on its axis, its deductible, its payments
    hifob_deductible_paid_fen: int = 0
    hifob_paid_fen: int = 0
    hifmi_base_fen: int = 0  # 居民大病
    hifmi_deductible_paid_fen: int = 0
    hifmi_paid_fen: int = 0
    cvlserv_base_fen: int = 0  # 公务员补助
    cvlserv_deductible_paid_fen: int = 0
    cvlserv_paid_fen: int = 0
    maf_base_fen: int = 0  # 医疗救助
    maf_deductible_paid_fen: int = 0
    maf_paid_fen: int = 0

    def as_dict(self) -> dict[str, int]:
        """Every counter by name (a ``Deltas``' account change left out)."""
        return {name: getattr(self, name) for name in COUNTERS}


COUNTERS: tuple[str, ...] = tuple(f.name for f in dataclass_fields(Counters))


@dataclass(frozen=True)
class Accumulators(Counters):
    """The person's policy year so far (AnnualAccumulator)."""


MAIN_COUNTERS = ("eligible_cost_fen", "deductible_paid_fen", "fund_paid_fen")
OUTPATIENT_COUNTERS = ("outpatient_eligible_cost_fen", "outpatient_deductible_paid_fen", "outpatient_fund_paid_fen")


@dataclass(frozen=True)
class Visit:
    """What the policy needs to know of the visit: an inpatient stay (住院;
    the core derives it from med_type) or not, and whether the institution
    is designated for outpatient pooling (门诊统筹定点; matters for pharmacies)."""

    inpatient: bool = False
    outpatient_pooling: bool = False


@dataclass(frozen=True)
class Filing:
    """The cross-province filing (异地就医备案) a bill is settled under, as the
    core found it: ``kind`` long_term / referral / emergency /
    temporary_other (params.FILING_KINDS), or ``unfiled`` when none covers a
    bill that needs one. ``number``: the filing's trt_dcla_detl_sn ("" for
    emergency treatment without one). None for a local bill."""

    kind: str
    number: str = ""
    type_name: str = ""  # Chinese: 异地长期居住, 异地转诊转院, ...
    treatment_region: str = ""


@dataclass(frozen=True)
class MutualAid:
    """Family mutual aid (家庭共济) available to this bill: what the payer's
    account (direct) or the set-aside amount (共济额度) holds, and the caps the
    payer set (None: no cap). The core checks the authorisation; the engine
    only computes."""

    available_fen: int
    bill_cap_fen: int | None = None
    annual_left_fen: int | None = None


@dataclass(frozen=True)
class LineItem:
    """One fee line (费用明细). ``cnt`` may be given as Decimal, int or a decimal
    string ("1.5"); it is stored as Decimal. Floats are refused by ``split``."""

    feedetl_sn: str
    med_list_codg: str
    list_class: str  # "A" | "B" | "C"
    self_pay_ratio_permille: int  # B-class self-pay-first ratio; A must be 0; ignored for C
    price_cap_fen: int | None  # highest eligible unit price, or None
    pric_fen: int | Decimal  # unit price in fen; a Decimal with up to 4 places for a sub-fen price (pric 16,6)
    cnt: Decimal
    amount_fen: int  # must equal round_half_up(pric_fen × cnt)
    mulaid_excluded: bool = False  # catalogue: never paid from a family member's account (健康产品 etc.)

    def __post_init__(self):
        if isinstance(self.cnt, int) and not isinstance(self.cnt, bool):
            object.__setattr__(self, "cnt", Decimal(self.cnt))
        elif isinstance(self.cnt, str) and _PLAIN_DECIMAL.fullmatch(self.cnt):
            object.__setattr__(self, "cnt", Decimal(self.cnt))
        # anything else (spaces, exponents, underscores, non-ASCII digits) is
        # left as is; split() refuses it with a Chinese message


# --- outputs -----------------------------------------------------------------


@dataclass(frozen=True)
class Deltas(Counters):
    """What this settlement changes: every annual counter, and the personal
    account (``account_fen``, signed: −acct_pay). A reversal applies
    ``negated()``."""

    account_fen: int = 0

    @classmethod
    def from_dict(cls, counters: Mapping[str, int], account_fen: int = 0) -> Deltas:
        """A stored settlement's counters; a name an older record lacks is 0."""
        return cls(**{name: int(counters.get(name, 0)) for name in COUNTERS}, account_fen=account_fen)

    def negated(self) -> Deltas:
        return Deltas(**{name: -value for name, value in self.as_dict().items()}, account_fen=-self.account_fen)


def apply_deltas(accumulators: Accumulators, balance_fen: int, deltas: Deltas) -> tuple[Accumulators, int]:
    """The accumulators and balance after ``deltas`` (a settlement's, or its
    ``negated()`` for a reversal). Refuses a result below zero."""
    after = Accumulators(**{name: getattr(accumulators, name) + getattr(deltas, name) for name in COUNTERS})
    balance = balance_fen + deltas.account_fen
    if min(*after.as_dict().values(), balance) < 0:
        raise EngineError("INPUT_INVALID", "冲销后年度累计或个人账户余额将小于0，与原结算不符")
    return after, balance


@dataclass(frozen=True)
class ItemSplit:
    """One line item's split, fen: amount = fulamt_ownpay + overlimit + preselfpay + eligible."""

    feedetl_sn: str
    med_list_codg: str
    list_class: str
    self_pay_ratio_permille: int
    price_cap_fen: int | None
    pric_fen: int | Decimal
    cnt: Decimal
    amount: int  # det_item_fee_sumamt
    fulamt_ownpay: int  # 全自费 (C-class)
    overlimit: int  # 超限价自付
    preselfpay: int  # 先行自付 (B-class)
    eligible: int  # 符合政策范围 inscp_scp_amt
    reasons: tuple[str, ...]  # Chinese: which part was self-paid and why


@dataclass(frozen=True)
class BillSplit:
    """setlinfo money fields in integer fen. Identities (always hold):

    medfee_sumamt = fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt
    inscp_scp_amt = acct_first_pay + act_pay_dedc + hifp_pay + pool_prop_selfpay
    medfee_sumamt = fund_pay_sumamt + psn_part_amt
    psn_part_amt  = acct_pay + acct_mulaid_pay + psn_cash_pay
    fund_pay_sumamt = hifp_pay + hifob_pay + hifmi_pay + cvlserv_pay + maf_pay
    balc          = balance − acct_pay
    """

    model: str
    level: str
    medfee_sumamt: int  # 医疗费总额
    fulamt_ownpay_amt: int  # 全自费金额 (丙类)
    overlmt_selfpay: int  # 超限价自费
    preselfpay_amt: int  # 先行自付 (乙类)
    inscp_scp_amt: int  # 符合政策范围金额
    act_pay_dedc: int  # 实际支付起付线
    hifp_pay: int  # 基本医疗保险统筹基金支出
    pool_prop_selfpay: int  # 基本医疗保险统筹基金支付比例内自付 (incl. any part above the ceiling)
    fund_pay_sumamt: int  # 基金支付总额: the basic fund and every supplementary fund
    psn_part_amt: int  # 个人负担总金额
    acct_pay: int  # 个人账户支出
    acct_mulaid_pay: int  # 个人账户共济支付 (0 until family mutual aid exists)
    psn_cash_pay: int  # 个人现金支出
    balc: int  # 余额 (personal account after this settlement)
    acct_first_pay: int  # account_first: eligible cost paid from the account before the deductible; else 0
    over_ceiling: int  # part of pool_prop_selfpay that the fund did not pay because of the ceiling
    band_splits: tuple[BandSplit, ...]
    details: tuple[ItemSplit, ...]
    explanation: tuple[str, ...]
    deltas: Deltas
    ceiling_left: int = 0  # what the annual ceiling still allowed before this bill (crt_payb_lmt_amt)
    hifob_pay: int = 0  # 职工大额医疗费用补助
    hifmi_pay: int = 0  # 城乡居民大病保险
    cvlserv_pay: int = 0  # 公务员医疗补助
    maf_pay: int = 0  # 医疗救助
    stage: str = "general"  # general / inpatient / outpatient / none (see split())
    funds: tuple[FundSplit, ...] = ()  # the supplementary funds considered, in order
    over_ceiling_cost: int = 0  # reimbursable cost beyond the basic fund's ceiling (the 大额 basis)
    filing: Filing | None = None  # the cross-province filing used (None: a local bill)

    def to_setlinfo(self) -> dict[str, Decimal]:
        """The national setlinfo money fields (数值型 16,2) as two-place
        ``Decimal`` yuan. The funds this engine does not compute (企业补充
        hifes_pay, 其他 oth_pay) and the hospital's part are 0.00."""
        values = {name: getattr(self, name) for name in SETLINFO_MONEY if name not in UNCOMPUTED_FUNDS}
        values.update({name: 0 for name in UNCOMPUTED_FUNDS})
        return {name: fen_to_amount(values[name]) for name in SETLINFO_MONEY}

    def to_setldetail(self, insutype: str) -> list[dict]:
        """结算基金分项: one row per fund that paid — the basic fund (310100
        employees, 390100 residents), then 330100 大额, 390200 大病, 320100
        公务员补助, 610100 医疗救助. The personal account is not a fund row:
        it is setlinfo.acct_pay."""
        rows = []
        if self.hifp_pay:
            fund_type = HIFP_FUND_TYPE.get(insutype, HIFP_FUND_TYPE["310"])
            stage = {"outpatient": "门诊共济：", "inpatient": "住院："}.get(self.stage, "")
            info = (f"{stage}政策范围内费用{_y(self.inscp_scp_amt)}元，起付线{_y(self.act_pay_dedc)}元，"
                    f"统筹基金按比例支付{_y(self.hifp_pay)}元")
            if self.over_ceiling:
                info += f"（超封顶线{_y(self.over_ceiling)}元由个人负担）"
            if self.filing is not None:
                info += "；" + _filing_name(self.filing)
            rows.append({
                "fund_pay_type": fund_type,
                "fund_pay_type_name": FUND_PAY_TYPE_NAMES[fund_type],
                "inscp_scp_amt": fen_to_amount(self.inscp_scp_amt),
                "crt_payb_lmt_amt": fen_to_amount(self.ceiling_left),
                "fund_payamt": fen_to_amount(self.hifp_pay),
                "setl_proc_info": info + "。",
            })
        for f in self.funds:
            if f.pay_fen:
                rows.append({
                    "fund_pay_type": f.fund_pay_type,
                    "fund_pay_type_name": FUND_PAY_TYPE_NAMES[f.fund_pay_type],
                    "inscp_scp_amt": fen_to_amount(f.base_fen),
                    "crt_payb_lmt_amt": fen_to_amount(f.ceiling_left_fen),
                    "fund_payamt": fen_to_amount(f.pay_fen),
                    "setl_proc_info": setl_proc_info(f),
                })
        return rows

    def to_detlcutinfo(self) -> list[dict]:
        """明细分割: one row per line item, with its split (``memo`` carries
        the Chinese reasons). Amounts two-place ``Decimal``; ``cnt`` and
        ``pric`` exact ``Decimal``s (at most 4 and 6 places); ``selfpay_prop``
        four places (0.1000). With no price cap, ``pric_uplmt_amt`` is the
        item's own price (nothing is over the limit)."""
        rows = []
        for d in self.details:
            prop = d.self_pay_ratio_permille if d.list_class == "B" else (1000 if d.list_class == "C" else 0)
            rows.append({
                "feedetl_sn": d.feedetl_sn,
                "med_list_codg": d.med_list_codg,
                "det_item_fee_sumamt": fen_to_amount(d.amount),
                "cnt": plain_decimal(d.cnt),
                "pric": price_amount(d.pric_fen),
                "pric_uplmt_amt": fen_to_amount(d.price_cap_fen) if d.price_cap_fen is not None
                else price_amount(d.pric_fen),
                "selfpay_prop": Decimal(prop * 10).scaleb(-4),  # 100‰ -> 0.1000 (exact)
                "fulamt_ownpay_amt": fen_to_amount(d.fulamt_ownpay),
                "overlmt_amt": fen_to_amount(d.overlimit),
                "preselfpay_amt": fen_to_amount(d.preselfpay),
                "inscp_scp_amt": fen_to_amount(d.eligible),
                "chrgitm_lv": CHRGITM_LV[d.list_class],
                "memo": "；".join(d.reasons),
            })
        return rows


SETLINFO_MONEY = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
    "hifp_pay", "pool_prop_selfpay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay",
    "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay", "balc", "acct_mulaid_pay", "hosp_part_amt",
)
# Funds of the national list this engine does not compute (always 0 here).
UNCOMPUTED_FUNDS = ("hifes_pay", "oth_pay", "hosp_part_amt")
HIFP_FUND_TYPE = {"310": "310100", "390": "390100"}
FUND_PAY_TYPE_NAMES = {
    "310100": "职工基本医疗保险统筹基金", "310200": "职工基本医疗保险个人账户基金", "320100": "公务员医疗补助基金",
    "330100": "职工大额医疗费用补助基金", "390100": "城乡居民基本医疗保险基金", "390200": "城乡居民大病医疗保险基金",
    "610100": "医疗救助基金", "999996": "其他基金",
}


def plain_decimal(value: Decimal) -> Decimal:
    """A quantity as a JSON-number-ready Decimal: never an exponent (1E+2 -> 100)."""
    exponent = value.as_tuple().exponent
    return Decimal(int(value)) if isinstance(exponent, int) and exponent > 0 else value


def price_amount(pric_fen: int | Decimal) -> Decimal:
    """A unit price in fen as yuan (数值型 16,6): at least two places, exact
    (1234 -> 12.34, Decimal("8.3333") -> 0.083333)."""
    if isinstance(pric_fen, int) or pric_fen.as_tuple().exponent >= 0:
        return fen_to_amount(int(pric_fen))
    return pric_fen.scaleb(-2)


def price_text(pric_fen: int | Decimal) -> str:
    return f"{price_amount(pric_fen):f}"


# --- helpers -----------------------------------------------------------------


def _y(fen: int) -> str:
    return fen_to_yuan(fen)


def _pct(permille: int) -> str:
    """850 -> "85%", 855 -> "85.5%"."""
    value = Decimal(permille) / 10
    text = f"{value.normalize():f}"
    return f"{text}%"


def _exact_text(value: Decimal) -> str:
    """An exact Decimal as text with at least two decimals and no trailing zeros beyond."""
    whole, _, frac = f"{value:f}".partition(".")
    return f"{whole}.{frac.rstrip('0').ljust(2, '0')}"


def _millifen_yuan(millifen: int) -> str:
    """An exact amount in 1/1000 fen as yuan, unrounded: 425250 -> "4.2525"."""
    return _exact_text(Decimal(millifen) / 100000)


def _refuse(code: str, message: str, **detail) -> EngineError:
    return EngineError(code, message, detail or None)


# --- validation --------------------------------------------------------------


def _validate_item(item: LineItem) -> None:
    if not isinstance(item, LineItem):
        raise _refuse("ITEM_INVALID", "费用明细必须是 LineItem")
    sn = item.feedetl_sn
    if not isinstance(sn, str) or not sn:
        raise _refuse("ITEM_INVALID", "费用明细流水号 feedetl_sn 不能为空")

    def bad(message: str) -> EngineError:
        return _refuse("ITEM_INVALID", f"费用明细 {sn}：{message}", feedetl_sn=sn)

    if not isinstance(item.med_list_codg, str) or not item.med_list_codg:
        raise bad("医保目录编码 med_list_codg 不能为空")
    if item.list_class not in LIST_CLASSES:
        raise bad(f"目录类别必须是 A/B/C（甲/乙/丙），实为 {item.list_class!r}")
    ratio = item.self_pay_ratio_permille
    if not is_int(ratio) or not 0 <= ratio <= 1000:
        raise bad(f"先行自付比例必须是0-1000的整数（千分比），实为 {ratio!r}")
    if item.list_class == "A" and ratio != 0:
        raise bad(f"甲类项目不应有先行自付比例，实为 {ratio}‰")
    cap = item.price_cap_fen
    if cap is not None and (not is_int(cap) or cap <= 0):
        raise bad(f"限价必须是正整数（分）或空，实为 {cap!r}")
    pric = item.pric_fen
    if isinstance(pric, Decimal):
        exponent = pric.as_tuple().exponent
        if not pric.is_finite() or pric < 0 or (isinstance(exponent, int) and exponent < -4):
            raise bad(f"单价必须是非负数（分，最多四位小数，即元的六位小数），实为 {pric!r}")
    elif not is_int(pric) or pric < 0:
        raise bad(f"单价必须是非负整数（分），实为 {pric!r}")
    if not is_int(item.amount_fen) or item.amount_fen < 0:
        raise bad(f"金额必须是非负整数（分），实为 {item.amount_fen!r}")
    cnt = item.cnt
    if not isinstance(cnt, Decimal):
        raise bad(f"数量必须是十进制数（如 \"1.5\"），不能是 {type(cnt).__name__}：{cnt!r}")
    if not cnt.is_finite() or cnt <= 0 or cnt >= MAX_CNT:
        raise bad(f"数量必须大于0且小于{MAX_CNT}，实为 {cnt}")
    if -cnt.as_tuple().exponent > MAX_CNT_DECIMALS:
        raise bad(f"数量最多{MAX_CNT_DECIMALS}位小数，实为 {cnt}")
    expected = round_half_up(Fraction(item.pric_fen) * Fraction(cnt))
    if item.amount_fen != expected:
        raise bad(f"金额 {_y(item.amount_fen)} 元与单价×数量（{price_text(item.pric_fen)} × {cnt} = {_y(expected)} 元）不符")


def _validate_state(level, accumulators, balance_fen, use_account, items) -> None:
    if level not in LEVELS:
        raise _refuse("INPUT_INVALID", f"机构等级必须是 {'/'.join(LEVELS)}，实为 {level!r}")
    if not isinstance(accumulators, Accumulators):
        raise _refuse("INPUT_INVALID", "年度累计必须是 Accumulators")
    for name in ("eligible_cost_fen", "deductible_paid_fen", "fund_paid_fen"):
        value = getattr(accumulators, name)
        if not is_int(value) or value < 0:
            raise _refuse("INPUT_INVALID", f"年度累计 {name} 必须是非负整数（分），实为 {value!r}")
    if not is_int(balance_fen) or balance_fen < 0:
        raise _refuse("INPUT_INVALID", f"个人账户余额必须是非负整数（分），实为 {balance_fen!r}")
    if not isinstance(use_account, bool):
        raise _refuse("INPUT_INVALID", "是否使用个人账户（acct_used_flag）必须是布尔值")
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence) or not items:
        raise _refuse("INPUT_INVALID", "费用明细不能为空")
    seen: set[str] = set()
    for item in items:
        _validate_item(item)
        if item.feedetl_sn in seen:
            raise _refuse("ITEM_INVALID", f"费用明细流水号 {item.feedetl_sn} 重复", feedetl_sn=item.feedetl_sn)
        seen.add(item.feedetl_sn)


# --- the split ---------------------------------------------------------------


def _split_item(item: LineItem) -> ItemSplit:
    amount = item.amount_fen
    reasons: list[str] = []
    fulamt = overlimit = preselfpay = 0
    if item.list_class == "C":
        fulamt = amount
        reasons.append(f"丙类项目，全额自费{_y(amount)}元")
    else:
        if item.price_cap_fen is not None:
            capped = round_half_up(Fraction(item.price_cap_fen) * Fraction(item.cnt))
            overlimit = max(0, amount - capped)
            if overlimit:
                reasons.append(f"超出限价{_y(item.price_cap_fen)}元部分自付：限价内 {_y(item.price_cap_fen)} × {item.cnt}"
                               f" = {_y(capped)}元，超出{_y(overlimit)}元")
        if item.list_class == "B" and item.self_pay_ratio_permille:
            base = amount - overlimit
            preselfpay = round_half_up(Fraction(base * item.self_pay_ratio_permille, 1000))
            reasons.append(f"乙类先行自付{_pct(item.self_pay_ratio_permille)}：{_y(base)} × "
                           f"{_pct(item.self_pay_ratio_permille)} = {_y(preselfpay)}元")
    eligible = amount - fulamt - overlimit - preselfpay
    if item.list_class != "C":
        reasons.append(f"{CLASS_NAMES[item.list_class]}项目，{_y(eligible)}元纳入政策范围")
    return ItemSplit(
        feedetl_sn=item.feedetl_sn, med_list_codg=item.med_list_codg, list_class=item.list_class,
        self_pay_ratio_permille=item.self_pay_ratio_permille, price_cap_fen=item.price_cap_fen,
        pric_fen=item.pric_fen, cnt=item.cnt, amount=amount, fulamt_ownpay=fulamt, overlimit=overlimit,
        preselfpay=preselfpay, eligible=eligible, reasons=tuple(reasons),
    )


@dataclass(frozen=True)
class _Stage:
    """The basic-fund rules one bill is settled by (see ``split``)."""

    kind: str  # general / inpatient / outpatient / none
    deductible_fen: int
    bands: tuple[Band, ...]
    ceiling_fen: int
    counters: tuple[str, str, str]  # eligible cost, deductible paid, fund paid
    retired: bool
    label: str  # Chinese, for the explanation


def _stage(params: PolicyParams, level: str, patient: Patient, visit: Visit) -> _Stage:
    retired = patient.psn_type == RETIRED_PSN_TYPE
    op = params.outpatient
    if op is not None and not visit.inpatient:
        if level == "9" and not visit.outpatient_pooling:
            return _Stage("none", 0, (), 0, OUTPATIENT_COUNTERS, retired, "门诊共济")
        category = "retired" if retired else "in_service"
        band = Band(0, None, {lv: op.ratio_permille[category][lv] for lv in LEVELS})
        return _Stage("outpatient", op.deductible_fen[category], (band,), op.annual_ceiling_fen[category],
                      OUTPATIENT_COUNTERS, False, f"门诊共济（{CATEGORY_NAMES[category]}）")
    kind = "inpatient" if op is not None else "general"
    label = "住院" if op is not None else ""
    return _Stage(kind, params.deductible_fen[level], params.bands, params.annual_ceiling_fen, MAIN_COUNTERS,
                  retired and any(b.retired_ratio_permille for b in params.bands), label)


def split(
    params: PolicyParams | Mapping,
    level: str,
    accumulators: Accumulators,
    balance_fen: int,
    use_account: bool,
    items: Sequence[LineItem],
    *,
    patient: Patient = Patient(),
    visit: Visit = Visit(),
    mutual_aid: MutualAid | None = None,
    filing: Filing | None = None,
) -> BillSplit:
    """Settle one bill. Pure; raises ``EngineError`` on invalid input.

    ``level``: institution level '1' '2' '3' '9'; ``accumulators``: the policy
    year so far; ``balance_fen``: personal account balance; ``use_account``:
    the person's acct_used_flag; ``items``: the bill's line items (non-empty,
    unique ``feedetl_sn``); ``patient``: psn_type (retirees), civil-servant
    flag, assistance identities; ``visit``: inpatient or not, and whether
    the institution is designated for outpatient pooling; ``mutual_aid``: a
    family member's account that pays after the person's own (家庭共济);
    ``filing``: the cross-province filing the bill is settled under (None:
    a local bill)."""
    params = parse_params(params)
    _validate_state(level, accumulators, balance_fen, use_account, items)
    if not isinstance(patient, Patient) or not isinstance(visit, Visit):
        raise _refuse("INPUT_INVALID", "参保人信息必须是 Patient，就诊信息必须是 Visit")
    _validate_mutual_aid(mutual_aid)
    adjust = _filing_adjust(params, filing)
    details = tuple(_split_item(item) for item in items)

    total = sum(d.amount for d in details)
    fulamt = sum(d.fulamt_ownpay for d in details)
    overlimit = sum(d.overlimit for d in details)
    preselfpay = sum(d.preselfpay for d in details)
    eligible = sum(d.eligible for d in details)
    non_eligible = fulamt + overlimit + preselfpay

    stage = _stage(params, level, patient, visit)
    cum_name, dedc_name, fund_name = stage.counters
    acc = accumulators.as_dict()
    account_first = params.model == "account_first"
    first = min(balance_fen, eligible) if (account_first and use_account) else 0
    cum = acc[cum_name]
    deductible_year = stage.deductible_fen
    cumulative_basis = account_first and params.deductible_basis == "cumulative_cost"
    if stage.kind == "none":
        deductible_left = dedc = 0
        start = end = cum
    elif cumulative_basis:
        # the self-pay stage is [0, deductible) of the year's cumulative eligible cost
        deductible_left = max(0, deductible_year - (cum + first))
        dedc = min(eligible - first, deductible_left)
        start, end = cum + first + dedc, cum + eligible
    else:
        deductible_left = max(0, deductible_year - acc[dedc_name])
        dedc = min(eligible - first, deductible_left)
        start, end = cum + first + dedc, cum + eligible
    reimbursable = end - start if stage.kind != "none" else 0
    bands = band_splits(stage.bands, level, start, end, retired=stage.retired, adjust_permille=adjust)
    fund_exact_millifen = sum(b.fund_millifen for b in bands)
    fund_by_ratio = round_half_up(Fraction(fund_exact_millifen, 1000))
    ceiling_left = max(0, stage.ceiling_fen - acc[fund_name])
    hifp = min(fund_by_ratio, ceiling_left)
    over_ceiling = fund_by_ratio - hifp
    over_cost = over_ceiling_cost(bands, ceiling_left)
    copay = eligible - first - dedc - hifp  # stage "none": the whole eligible cost

    funds = supplements_split(params, acc, patient, settled=stage.kind != "none",
                              main_stage=stage.counters == MAIN_COUNTERS, burden=dedc + copay, over_cost=over_cost)
    paid = {FUNDS[f.fund][2]: f.pay_fen for f in funds}
    fund_total = hifp + sum(paid.values())
    psn_part = total - fund_total

    may_pay = use_account and params.account_may_pay_self_part
    if account_first:
        # `first` is already from the account; what remains of the balance may
        # pay the rest of the person's part (in practice the non-eligible parts:
        # if any deductible or co-payment is left, the account is empty).
        acct = first + (min(balance_fen - first, psn_part - first) if may_pay else 0)
    else:
        acct = min(balance_fen, psn_part) if may_pay else 0
    excluded = sum(d.amount for d, item in zip(details, items) if item.mulaid_excluded)
    mulaid, mulaid_limits = _mutual_aid(mutual_aid, psn_part - acct, min(psn_part, excluded), acct)
    cash = psn_part - acct - mulaid
    balc = balance_fen - acct
    changes = {name: 0 for name in COUNTERS}
    if stage.kind != "none":
        changes.update({cum_name: eligible, dedc_name: dedc, fund_name: hifp})
    for f in funds:
        changes[f"{f.fund}_base_fen"] = f.base_fen
        changes[f"{f.fund}_deductible_paid_fen"] = f.act_pay_dedc_fen
        changes[f"{f.fund}_paid_fen"] = f.pay_fen
    deltas = Deltas(**changes, account_fen=-acct)

    explanation = _explain(
        params=params, level=level, stage=stage, acc=acc, balance=balance_fen, use_account=use_account,
        total=total, fulamt=fulamt, overlimit=overlimit, preselfpay=preselfpay, eligible=eligible,
        first=first, deductible_year=deductible_year, deductible_left=deductible_left, cumulative_basis=cumulative_basis,
        dedc=dedc, reimbursable=reimbursable, start=start, end=end, bands=bands,
        fund_exact_millifen=fund_exact_millifen, fund_by_ratio=fund_by_ratio, ceiling_left=ceiling_left,
        hifp=hifp, over_ceiling=over_ceiling, copay=copay, funds=funds, psn_part=psn_part, acct=acct, cash=cash,
        mutual_aid=mutual_aid, mulaid=mulaid, mulaid_limits=mulaid_limits, excluded=excluded, filing=filing,
        adjust=adjust,
        balc=balc,
    )
    result = BillSplit(
        model=params.model, level=level, medfee_sumamt=total, fulamt_ownpay_amt=fulamt, overlmt_selfpay=overlimit,
        preselfpay_amt=preselfpay, inscp_scp_amt=eligible, act_pay_dedc=dedc, hifp_pay=hifp,
        pool_prop_selfpay=copay, fund_pay_sumamt=fund_total, psn_part_amt=psn_part, acct_pay=acct,
        acct_mulaid_pay=mulaid, psn_cash_pay=cash, balc=balc, acct_first_pay=first, over_ceiling=over_ceiling,
        band_splits=bands, details=details, explanation=tuple(explanation), deltas=deltas,
        ceiling_left=ceiling_left, stage=stage.kind, funds=funds, over_ceiling_cost=over_cost, filing=filing, **paid,
    )
    _check(result, balance_fen, ceiling_left)
    return result


def _check(s: BillSplit, balance: int, ceiling_left: int) -> None:
    """The invariants, asserted on every result (a failure is a bug here, not bad input)."""
    fields = (s.medfee_sumamt, s.fulamt_ownpay_amt, s.overlmt_selfpay, s.preselfpay_amt, s.inscp_scp_amt,
              s.act_pay_dedc, s.hifp_pay, s.pool_prop_selfpay, s.fund_pay_sumamt, s.psn_part_amt, s.acct_pay,
              s.acct_mulaid_pay, s.psn_cash_pay, s.balc, s.acct_first_pay, s.over_ceiling, s.hifob_pay, s.hifmi_pay,
              s.cvlserv_pay, s.maf_pay, s.over_ceiling_cost, *s.deltas.as_dict().values())
    ok = (
        all(v >= 0 for v in fields)
        and s.fund_pay_sumamt == s.hifp_pay + s.hifob_pay + s.hifmi_pay + s.cvlserv_pay + s.maf_pay
        and s.fund_pay_sumamt + s.acct_pay + s.acct_mulaid_pay + s.psn_cash_pay == s.medfee_sumamt
        and s.psn_part_amt == s.acct_pay + s.acct_mulaid_pay + s.psn_cash_pay
        and s.medfee_sumamt == sum(d.amount for d in s.details)
        and s.medfee_sumamt == s.fulamt_ownpay_amt + s.overlmt_selfpay + s.preselfpay_amt + s.inscp_scp_amt
        and s.inscp_scp_amt == s.acct_first_pay + s.act_pay_dedc + s.hifp_pay + s.pool_prop_selfpay
        and s.fund_pay_sumamt - s.hifp_pay <= s.act_pay_dedc + s.pool_prop_selfpay
        and s.acct_pay <= balance and s.balc == balance - s.acct_pay
        and s.hifp_pay <= ceiling_left
        and all(f.pay_fen <= f.ceiling_left_fen and f.base_fen >= f.act_pay_dedc_fen for f in s.funds)
    )
    if not ok:  # pragma: no cover - guarded by the property tests
        raise AssertionError(f"policy engine invariant violated: {s!r}")


# --- explanation -------------------------------------------------------------


def _explain(*, params, level, stage, acc, balance, use_account, total, fulamt, overlimit, preselfpay, eligible,
             first, deductible_year, deductible_left, cumulative_basis, dedc, reimbursable, start, end, bands,
             fund_exact_millifen, fund_by_ratio, ceiling_left, hifp, over_ceiling, copay, funds, psn_part, acct, cash,
             balc, mutual_aid, mulaid, mulaid_limits, excluded, filing, adjust) -> list[str]:
    lines: list[str] = []
    level_name = LEVEL_NAMES[level]
    lines.append(
        f"费用总额{_y(total)}元：丙类全额自费{_y(fulamt)}元，超限价自付{_y(overlimit)}元，"
        f"乙类先行自付{_y(preselfpay)}元，政策范围内费用{_y(eligible)}元。"
    )
    if stage.kind == "none":
        lines.append("门诊共济：本药店不是门诊统筹定点药店，统筹基金不支付；政策范围内费用由个人负担。")
    elif stage.kind in ("outpatient", "inpatient"):
        lines.append(f"本次按{stage.label}政策结算，起付线、报销比例和年度限额单独累计。")
    if stage.retired:
        lines.append("退休人员：按退休人员报销比例计算。")
    if filing is not None:
        lines.append(_filing_line(filing, adjust))
    if params.model == "account_first":
        if not use_account:
            lines.append("个人账户先付（通道式）：本次未使用个人账户，政策范围内费用不经账户先付。")
        elif first:
            lines.append(f"个人账户先付（通道式）：政策范围内费用先由个人账户支付{_y(first)}元"
                         f"（账户余额{_y(balance)}元）。")
        else:
            lines.append("个人账户先付（通道式）：个人账户余额为0元，未先付。")
    cum_name, dedc_name, fund_name = stage.counters
    paid = acc[dedc_name]
    payer = "由个人现金自付" if params.model == "account_first" else "由个人负担"
    if stage.kind == "none":
        pass
    elif cumulative_basis:
        cum = acc[cum_name]
        if deductible_year == 0:
            lines.append(f"自付段：{level_name}不设自付段。")
        else:
            lines.append(f"自付段：本年政策范围内累计费用（不论由谁支付）在{_y(deductible_year)}元以内的部分由个人自付；"
                         f"本次费用位于累计{_y(cum)}元至{_y(cum + eligible)}元，"
                         + (f"个人账户先付后，{_y(dedc)}元落在自付段内，{payer}。" if dedc
                            else "没有落在自付段内的现金自付部分。"))
    elif deductible_year == 0:
        lines.append(f"起付线：{level_name}不设起付线。")
    elif deductible_left == 0:
        lines.append(f"起付线：{level_name}年度起付标准{_y(deductible_year)}元，本年已累计{_y(paid)}元，已付满，本次不再计入。")
    else:
        lines.append(f"起付线：{level_name}年度起付标准{_y(deductible_year)}元，本年已累计{_y(paid)}元，"
                     f"尚余{_y(deductible_left)}元；本次计入起付线{_y(dedc)}元，{payer}。")
    if stage.kind == "none":
        pass
    elif reimbursable == 0:
        lines.append("分段报销：本次没有起付线以上的政策范围内费用，统筹基金不支付。")
    else:
        lines.append(f"分段报销：{_y(reimbursable)}元位于本年政策范围内累计费用{_y(start)}元至{_y(end)}元之间，按分段比例报销：")
        for b in bands:
            span = f"{_y(b.lower_fen)}元至{_y(b.upto_fen)}元" if b.upto_fen is not None else f"{_y(b.lower_fen)}元以上"
            rate = _pct(b.ratio_permille)
            if b.base_ratio_permille is not None:
                floor = "，不低于0" if b.base_ratio_permille + b.adjust_permille < 0 else ""
                rate = f"{_pct(b.base_ratio_permille)}{_points(b.adjust_permille)}{floor}={rate}"
            lines.append(f"  第{b.index}段（累计{span}，{level_name}报销{rate}）："
                         f"{_y(b.portion_fen)} × {_pct(b.ratio_permille)} = {_millifen_yuan(b.fund_millifen)}元")
        exact = _millifen_yuan(fund_exact_millifen)
        if fund_exact_millifen % 1000:
            lines.append(f"  合计{exact}元，四舍五入到分为{_y(fund_by_ratio)}元。")
        else:
            lines.append(f"  合计{_y(fund_by_ratio)}元。")
    if stage.kind != "none":
        lines.append(f"封顶线：统筹基金年度最高支付{_y(stage.ceiling_fen)}元，本年已支付{_y(acc[fund_name])}元，"
                     f"尚可支付{_y(ceiling_left)}元。")
    if over_ceiling:
        lines.append(f"  本次按比例应付{_y(fund_by_ratio)}元，超出封顶线{_y(over_ceiling)}元由个人负担，"
                     f"统筹基金实付{_y(hifp)}元。")
    lines.append(f"统筹基金支付{_y(hifp)}元；政策范围内按比例个人自付{_y(copay)}元"
                 + (f"（含超封顶线部分{_y(over_ceiling)}元）" if over_ceiling else "") + "。")
    for f in funds:
        lines.extend(explain_fund(f, pct=_pct, exact_yuan=_millifen_yuan))
    parts = []
    if first:
        parts.append(f"个人账户先付{_y(first)}")
    parts += [f"起付线{_y(dedc)}", f"按比例自付{_y(copay)}"]
    parts += [f"− {f.name}{_y(f.pay_fen)}" for f in funds if f.pay_fen]
    parts += [f"乙类先行自付{_y(preselfpay)}", f"超限价自付{_y(overlimit)}", f"丙类自费{_y(fulamt)}"]
    lines.append(f"个人负担合计{_y(psn_part)}元 = " + " + ".join(parts).replace("+ −", "−") + "。")
    if not use_account:
        lines.append(f"个人账户：本次未使用个人账户（余额{_y(balance)}元不变）。")
    elif params.model == "standard" and not params.account_may_pay_self_part:
        lines.append(f"个人账户：本统筹区规定个人账户不得支付个人负担部分（余额{_y(balance)}元不变）。")
    else:
        if params.model == "account_first":
            rest = acct - first
            if params.account_may_pay_self_part:
                tail = f"其中先付政策范围内费用{_y(first)}元" + (f"，另付其余个人负担{_y(rest)}元" if rest else "")
            else:
                tail = f"其中先付政策范围内费用{_y(first)}元；本统筹区规定个人账户不得支付其余个人负担"
            lines.append(f"个人账户：支付{_y(acct)}元（{tail}），余额由{_y(balance)}元变为{_y(balc)}元。")
        else:
            lines.append(f"个人账户：支付{_y(acct)}元，余额由{_y(balance)}元变为{_y(balc)}元。")
        if balc == 0 and cash and params.account_may_pay_self_part:
            lines.append("  个人账户余额不足，其余由现金支付。")
    if mutual_aid is not None:
        left = psn_part - acct
        if not left:
            lines.append("家庭共济：本人个人账户已支付全部个人负担，未使用共济账户。")
        else:
            line = f"家庭共济：本人个人账户支付后尚余个人负担{_y(left)}元，由共济账户支付{_y(mulaid)}元"
            if mulaid_limits:
                line += "（" + "，".join(mulaid_limits) + "）"
            lines.append(line + "。")
    lines.append(f"现金支付{_y(cash)}元。")
    return lines


def _points(permille: int) -> str:
    """-100 -> "−10个百分点", -25 -> "−2.5个百分点"."""
    value = Decimal(-permille) / 10
    return f"−{value.normalize():f}个百分点"


def _filing_name(filing: Filing) -> str:
    if filing.kind == "unfiled":
        return "异地就医未备案"
    name = filing.type_name or FILING_KIND_NAMES.get(filing.kind, filing.kind)
    return f"异地就医备案：{name}" + (f"，备案号{filing.number}" if filing.number else "（无需事先备案）")


def _filing_adjust(params: PolicyParams, filing: Filing | None) -> int:
    """The ratio adjustment for this bill (permille points, ≤ 0); refuses an
    unfiled bill where the insured region says so."""
    if filing is None:
        return 0
    if not isinstance(filing, Filing) or filing.kind not in (*FILING_KINDS, "unfiled"):
        raise _refuse("INPUT_INVALID", f"异地就医备案类别无效：{getattr(filing, 'kind', filing)!r}")
    if filing.kind != "unfiled":
        return params.cross_adjust_permille[filing.kind]
    if params.cross_unfiled == "refuse":
        raise _refuse("NOT_FILED", "异地就医未备案，不能直接结算：请参保人先通过国家医保服务平台App或微信、支付宝小程序"
                                   "办理异地就医备案（可承诺制即时备案，就医后、结算前补办也可），或回参保地手工报销",
                      treatment_region=filing.treatment_region)
    return min(params.cross_adjust_permille.values())


def _filing_line(filing: Filing, adjust: int) -> str:
    """The explanation line naming the rule applied to a cross-province bill."""
    change = f"报销比例{_points(adjust)}（调整后不低于0）" if adjust else "报销比例不作调整"
    if filing.kind == "unfiled":
        return (f"异地就医：未办理备案，参保地规定按最低的临时外出报销比例结算，{change}；"
                "执行参保地政策、就医地目录。")
    name = filing.type_name or FILING_KIND_NAMES.get(filing.kind, filing.kind)
    basis = f"备案号{filing.number}" if filing.number else "无需事先备案"
    return f"异地就医：按{name}结算（{basis}）；执行参保地政策、就医地目录，{change}。"


def _validate_mutual_aid(aid) -> None:
    if aid is None:
        return
    if not isinstance(aid, MutualAid):
        raise _refuse("INPUT_INVALID", "家庭共济信息必须是 MutualAid")
    for name in ("available_fen", "bill_cap_fen", "annual_left_fen"):
        value = getattr(aid, name)
        if (value is not None or name == "available_fen") and (not is_int(value) or value < 0):
            raise _refuse("INPUT_INVALID", f"家庭共济 {name} 必须是非负整数（分），实为 {value!r}")


def _mutual_aid(aid: MutualAid | None, left: int, excluded: int, acct: int) -> tuple[int, list[str]]:
    """What the family member's account pays of ``left`` (the person's part
    after their own account), and which limits bound it (Chinese). Items
    excluded from mutual aid stay the person's own: the own account is taken
    to have paid them first, the rest of them is cash."""
    if aid is None or left == 0:
        return 0, []
    excluded_left = max(0, excluded - acct)
    limits = {"不可共济项目由本人支付": left - excluded_left, "共济账户余额": aid.available_fen}
    if aid.bill_cap_fen is not None:
        limits["单次共济限额"] = aid.bill_cap_fen
    if aid.annual_left_fen is not None:
        limits["年度共济限额剩余"] = aid.annual_left_fen
    pay = max(0, min(limits.values()))
    bound = [f"受{name}{_y(value)}元限制" if name != "不可共济项目由本人支付" else f"不可共济项目{_y(excluded_left)}元由本人支付"
             for name, value in limits.items() if value == pay and pay < left]
    return pay, bound
