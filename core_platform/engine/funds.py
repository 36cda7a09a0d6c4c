"""The supplementary funds (补充保障) that pay after the basic fund: 职工大额
医疗费用补助 (hifob), 城乡居民大病保险 (hifmi), 公务员医疗补助 (cvlserv) and 医疗
救助 (maf). Each is a ``params.Supplement``: a basis (what this bill puts on
the fund's own annual axis), an annual deductible, bands and a ceiling.
Pure; called by ``split``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from common.money import fen_to_yuan

from .params import Band, PolicyParams, Supplement
from .rounding import round_half_up


@dataclass(frozen=True)
class Patient:
    """What the policy needs to know of the person: ``psn_type`` (21 retired),
    the civil-servant flag (cvlserv_flag) and the assistance identities
    (psn_idet_type codes valid on the bill's date)."""

    psn_type: str = "11"
    cvlserv: bool = False
    identities: frozenset[str] = frozenset()


@dataclass(frozen=True)
class BandSplit:
    """The part of a bill's reimbursable cost that fell in one band."""

    index: int  # 1-based, as published
    lower_fen: int
    upto_fen: int | None
    portion_fen: int
    ratio_permille: int
    fund_millifen: int  # exact portion × ratio, in 1/1000 fen (rounded only in the sum)
    adjust_permille: int = 0  # cross-province ratio adjustment (ratio = max(0, base_ratio + adjust))
    base_ratio_permille: int | None = None  # the band's own ratio before the adjustment (None: no adjustment)


@dataclass(frozen=True)
class FundSplit:
    """One supplementary fund's part of a bill (also when it paid nothing:
    ``eligible`` False and ``reason`` say why)."""

    fund: str  # hifob / hifmi / cvlserv / maf
    fund_pay_type: str  # national code (330100 ...)
    name: str  # Chinese
    basis: str
    eligible: bool
    reason: str  # Chinese, for the explanation
    base_fen: int  # what this bill puts on the fund's annual axis
    cum_before_fen: int  # the fund's annual base so far
    deductible_year_fen: int
    deductible_left_fen: int
    act_pay_dedc_fen: int  # the part of the base that went to the fund's deductible
    band_splits: tuple[BandSplit, ...]
    fund_exact_millifen: int
    fund_by_ratio_fen: int
    ceiling_fen: int
    ceiling_left_fen: int
    pay_fen: int


def band_splits(bands: tuple[Band, ...], level: str, start: int, end: int, *, retired: bool = False,
                adjust_permille: int = 0) -> tuple[BandSplit, ...]:
    """Split [start, end) of a cumulative axis across the bands; each band's
    ratio moved by ``adjust_permille`` (cross-province filing), never below 0."""
    result = []
    for i, band in enumerate(bands, start=1):
        lo = max(start, band.lower_fen)
        hi = end if band.upto_fen is None else min(end, band.upto_fen)
        if hi > lo:
            base = band.ratio(level, retired)
            ratio = max(0, base + adjust_permille)
            result.append(BandSplit(i, band.lower_fen, band.upto_fen, hi - lo, ratio, (hi - lo) * ratio,
                                    adjust_permille, base if adjust_permille else None))
    return tuple(result)


def over_ceiling_cost(bands: tuple[BandSplit, ...], ceiling_left: int) -> int:
    """The reimbursable cost lying beyond the point where the exact band fund
    reaches what the ceiling still allows: walking the band portions in
    order, in the portion where the fund reaches it only ``left × 1000 /
    ratio`` is covered, and every portion after that point is beyond it (a
    0 % band too). With nothing left of the ceiling, all of it is beyond.
    Exact, rounded half-up once."""
    left = Fraction(ceiling_left)
    over = Fraction(0)
    reached = left == 0
    for b in bands:
        if reached:
            over += b.portion_fen
            continue
        fund = Fraction(b.fund_millifen, 1000)
        if fund < left:
            left -= fund
            continue
        covered = left * 1000 / b.ratio_permille  # fund >= left > 0, so the ratio is positive
        over += b.portion_fen - covered
        reached = True
    return round_half_up(over)


def _skip(s: Supplement, reason: str, acc: Mapping[str, int]) -> FundSplit:
    paid = acc[f"{s.fund}_paid_fen"]
    return FundSplit(s.fund, s.fund_pay_type, s.name, s.basis, False, reason, 0, acc[f"{s.fund}_base_fen"],
                     s.deductible_fen, max(0, s.deductible_fen - acc[f"{s.fund}_deductible_paid_fen"]), 0, (), 0, 0,
                     s.annual_ceiling_fen, max(0, s.annual_ceiling_fen - paid), 0)


def supplements_split(params: PolicyParams, acc: Mapping[str, int], patient: Patient, *, settled: bool,
                      main_stage: bool, burden: int, over_cost: int) -> tuple[FundSplit, ...]:
    """Each configured fund in order. ``burden``: the eligible cost the person
    still bears after the basic fund (deductible + co-payment; not what the
    account paid first); ``over_cost``: the part of it beyond the basic
    fund's ceiling; ``settled``: the basic insurance settled this bill (not
    an outpatient bill at a pharmacy outside outpatient pooling);
    ``main_stage``: the bill went through the main (not the outpatient)
    rules, the only ones whose ceiling over_basic_ceiling refers to."""
    result: list[FundSplit] = []
    remaining = burden
    for s in params.supplements:
        if not settled:
            result.append(_skip(s, "本次费用未经基本医疗保险结算，不纳入", acc))
            continue
        if s.fund == "cvlserv" and not patient.cvlserv:
            result.append(_skip(s, "非公务员，不享受", acc))
            continue
        if s.fund == "maf" and not (patient.identities & s.identities):
            result.append(_skip(s, "无医疗救助对象身份（" + "、".join(sorted(s.identities)) + "），不享受", acc))
            continue
        if s.basis == "over_basic_ceiling":
            base = min(over_cost, remaining) if main_stage else 0
        else:
            base = remaining
        cum = acc[f"{s.fund}_base_fen"]
        deductible_left = max(0, s.deductible_fen - acc[f"{s.fund}_deductible_paid_fen"])
        dedc = min(base, deductible_left)
        bands = band_splits(s.bands, "1", cum + dedc, cum + base)
        exact = sum(b.fund_millifen for b in bands)
        by_ratio = round_half_up(Fraction(exact, 1000))
        ceiling_left = max(0, s.annual_ceiling_fen - acc[f"{s.fund}_paid_fen"])
        pay = min(by_ratio, ceiling_left)
        remaining -= pay
        result.append(FundSplit(s.fund, s.fund_pay_type, s.name, s.basis, True, "", base, cum, s.deductible_fen,
                                deductible_left, dedc, bands, exact, by_ratio, s.annual_ceiling_fen, ceiling_left, pay))
    return tuple(result)


def _y(fen: int) -> str:
    return fen_to_yuan(fen)


BASIS_TEXT = {
    "over_basic_ceiling": "统筹基金年度封顶线以上的政策范围内费用",
    "personal_eligible": "基本医疗保险结算后个人负担的政策范围内费用（起付线及按比例自付，扣除之前各项补充保障已付部分）",
}


def explain_fund(f: FundSplit, *, pct, exact_yuan) -> list[str]:
    """Chinese lines for one supplementary fund."""
    if not f.eligible:
        return [f"{f.name}：{f.reason}。"]
    lines = [f"{f.name}：计算基数为{BASIS_TEXT[f.basis]}，本次{_y(f.base_fen)}元"
             f"（本年此前累计{_y(f.cum_before_fen)}元）。"]
    if f.base_fen == 0:
        lines.append(f"  本次没有应由{f.name}支付的费用。")
        return lines
    if f.deductible_year_fen == 0:
        lines.append("  不设起付线。")
    elif f.deductible_left_fen == 0:
        lines.append(f"  年度起付线{_y(f.deductible_year_fen)}元，本年已付满。")
    else:
        lines.append(f"  年度起付线{_y(f.deductible_year_fen)}元，尚余{_y(f.deductible_left_fen)}元；"
                     f"本次计入起付线{_y(f.act_pay_dedc_fen)}元，由个人负担。")
    for b in f.band_splits:
        span = f"{_y(b.lower_fen)}元至{_y(b.upto_fen)}元" if b.upto_fen is not None else f"{_y(b.lower_fen)}元以上"
        lines.append(f"  第{b.index}段（累计{span}，支付{pct(b.ratio_permille)}）："
                     f"{_y(b.portion_fen)} × {pct(b.ratio_permille)} = {exact_yuan(b.fund_millifen)}元")
    if f.fund_exact_millifen % 1000:
        lines.append(f"  合计{exact_yuan(f.fund_exact_millifen)}元，四舍五入到分为{_y(f.fund_by_ratio_fen)}元。")
    lines.append(f"  年度最高支付{_y(f.ceiling_fen)}元，尚可支付{_y(f.ceiling_left_fen)}元；"
                 f"{f.name}支付{_y(f.pay_fen)}元"
                 + (f"（超出年度最高支付{_y(f.fund_by_ratio_fen - f.pay_fen)}元由个人负担）"
                    if f.fund_by_ratio_fen > f.pay_fen else "") + "。")
    return lines


def setl_proc_info(f: FundSplit) -> str:
    info = (f"{BASIS_TEXT[f.basis]}{_y(f.base_fen)}元，起付线{_y(f.act_pay_dedc_fen)}元，"
            f"按比例支付{_y(f.fund_by_ratio_fen)}元")
    if f.fund_by_ratio_fen > f.pay_fen:
        info += f"，受年度最高支付限制实付{_y(f.pay_fen)}元"
    return info + "。"
