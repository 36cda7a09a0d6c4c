"""Daily reconciliation in the national style: per institution and day,
totals (3201: medfee_sumamt, fund_pay_sumamt, acct_pay, acct_mulaid_pay, count) and details
(3202) of the wallet's journal against the core's ledger. Every difference
becomes a ``Discrepancy`` with its kind and a sentence a person can read."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from common.money import fen_to_yuan, yuan_to_fen
from settlement.client import core_client

from ..enums import DiscrepancyKind
from ..hooks import hook
from ..models import Discrepancy, ReconciliationRun

STATUS_NAME = {"1": "已结算", "2": "已撤销"}


def _wallet_side(day: dt.date, institutions: list[str] | None) -> dict[str, dict]:
    """The wallet's settled (or since reversed) payments of the day, by setl_id
    (the wallet's journal, read by the wallet: hook ``payments_settled``)."""
    return hook("payments_settled")(day, institutions)


def _core_side(day: dt.date, institutions: list[str] | None) -> tuple[dict[str, dict], dict[str, dict]]:
    client = core_client()
    totals, details = {"stmtinfo": []}, {"stmtdetail": []}
    for code in institutions if institutions is not None else [""]:
        query = {"data": {"setl_date": day.isoformat(), "fixmedins_code": code}}
        totals["stmtinfo"] += client.call("3201", query)["stmtinfo"]
        details["stmtdetail"] += client.call("3202", query)["stmtdetail"]
    by_setl = {d["setl_id"]: {"fixmedins_code": d["fixmedins_code"], "msgid": d["msgid"],
                              "medfee": yuan_to_fen(d["medfee_sumamt"]), "fund": yuan_to_fen(d["fund_pay_sumamt"]),
                              "acct": yuan_to_fen(d["acct_pay"]),
                              # 家庭共济: the payer's account part (0 where the core's row has none)
                              "mulaid": yuan_to_fen(d.get("acct_mulaid_pay", 0)), "cash": yuan_to_fen(d["psn_cash_pay"]),
                              "status": d["setl_stas"]} for d in details["stmtdetail"]}
    by_inst = {t["fixmedins_code"]: {"medfee": yuan_to_fen(t["medfee_sumamt"]), "fund": yuan_to_fen(t["fund_pay_sumamt"]),
                                     "acct": yuan_to_fen(t["acct_pay"]), "mulaid": yuan_to_fen(t.get("acct_mulaid_pay", 0)),
                                     "count": int(t["fixmedins_setl_cnt"])}
               for t in totals["stmtinfo"]}
    return by_setl, by_inst


def _totals(rows: dict[str, dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for row in rows.values():
        if row["status"] != "1":
            continue
        t = out.setdefault(row["fixmedins_code"], {"medfee": 0, "fund": 0, "acct": 0, "mulaid": 0, "count": 0})
        t["medfee"] += row["medfee"]
        t["fund"] += row["fund"]
        t["acct"] += row["acct"]
        t["mulaid"] += row.get("mulaid", 0)
        t["count"] += 1
    return out


def _yuan(row: dict) -> dict:
    return {k: fen_to_yuan(v) if isinstance(v, int) and k != "count" else v for k, v in row.items()}


def reconcile_day(day: dt.date, institutions: list[str] | None = None) -> ReconciliationRun:
    """Compare one day, for all institutions or the ones named. Idempotent:
    each run is a new record; the newest one is the day's answer."""
    wallet = _wallet_side(day, institutions)
    core, core_totals = _core_side(day, institutions)  # network I/O before any transaction
    found: list[Discrepancy] = []
    for setl_id in sorted(set(wallet) | set(core)):
        w, c = wallet.get(setl_id), core.get(setl_id)
        code = (w or c)["fixmedins_code"]
        if w is None:
            found.append(Discrepancy(fixmedins_code=code, kind=DiscrepancyKind.MISSING_IN_WALLET, setl_id=setl_id,
                                     core_value=_yuan(c), explanation=(
                                         f"结算核心有结算 {setl_id}（{fen_to_yuan(c['medfee'])} 元，msgid {c['msgid']}），"
                                         "钱包流水中没有")))
            continue
        if c is None:
            found.append(Discrepancy(fixmedins_code=code, kind=DiscrepancyKind.MISSING_IN_CORE, setl_id=setl_id,
                                     wallet_value=_yuan(w), explanation=(
                                         f"钱包记录了结算 {setl_id}（{fen_to_yuan(w['medfee'])} 元），结算核心没有")))
            continue
        differing = [k for k in ("medfee", "fund", "acct", "mulaid", "cash") if w.get(k, 0) != c.get(k, 0)]
        if differing:
            names = {"medfee": "医疗费总额", "fund": "基金支付", "acct": "个人账户支付", "mulaid": "家庭共济支付",
                     "cash": "现金支付"}
            parts = "，".join(f"{names[k]} 钱包 {fen_to_yuan(w[k])} 元 / 核心 {fen_to_yuan(c[k])} 元" for k in differing)
            found.append(Discrepancy(fixmedins_code=code, kind=DiscrepancyKind.AMOUNT_MISMATCH, setl_id=setl_id,
                                     wallet_value=_yuan(w), core_value=_yuan(c),
                                     explanation=f"结算 {setl_id} 金额不一致：{parts}"))
        if w["status"] != c["status"]:
            found.append(Discrepancy(fixmedins_code=code, kind=DiscrepancyKind.STATUS_MISMATCH, setl_id=setl_id,
                                     wallet_value=_yuan(w), core_value=_yuan(c),
                                     explanation=(f"结算 {setl_id} 状态不一致：钱包为{STATUS_NAME[w['status']]}，"
                                                  f"核心为{STATUS_NAME[c['status']]}")))
    # Totals (3201) must agree with the details on both sides too: a guard
    # against a detail list that is itself incomplete.
    wallet_totals = _totals(wallet)
    detail_codes = {d.fixmedins_code for d in found}
    for code in sorted(set(wallet_totals) | set(core_totals)):
        wt = wallet_totals.get(code, {"medfee": 0, "fund": 0, "acct": 0, "mulaid": 0, "count": 0})
        ct = core_totals.get(code, {"medfee": 0, "fund": 0, "acct": 0, "mulaid": 0, "count": 0})
        if wt != ct and code not in detail_codes:
            found.append(Discrepancy(fixmedins_code=code, kind=DiscrepancyKind.TOTALS_MISMATCH, wallet_value=_yuan(wt),
                                     core_value=_yuan(ct), explanation=(
                                         f"机构 {code} 总账不一致：钱包 {wt['count']} 笔 {fen_to_yuan(wt['medfee'])} 元，"
                                         f"核心 {ct['count']} 笔 {fen_to_yuan(ct['medfee'])} 元")))
    seen = {r["fixmedins_code"] for r in list(wallet.values()) + list(core.values())}
    with transaction.atomic():
        run = ReconciliationRun.objects.create(
            day=day, institutions=len(seen), settlements=len(set(wallet) | set(core)),
            differences=len(found), finished_at=timezone.now(),
            summary={"institutions_asked": institutions, "wallet_totals": {k: _yuan(v) for k, v in wallet_totals.items()},
                     "core_totals": {k: _yuan(v) for k, v in core_totals.items()}})
        for d in found:
            d.run = run
        Discrepancy.objects.bulk_create(found)
    return run


def reconciliation_report(run: ReconciliationRun) -> list[str]:
    """Lines a person can read."""
    lines = [f"{run.day} 对账：{run.institutions} 家机构，{run.settlements} 笔结算"]
    if run.differences == 0:
        lines.append("钱包流水与结算核心账目完全一致，差异 0 笔。")
        for code, t in sorted(run.summary.get("core_totals", {}).items()):
            lines.append(f"  {code}：{t['count']} 笔，医疗费 {t['medfee']} 元，基金 {t['fund']} 元，个人账户 {t['acct']} 元"
                         + (f"，家庭共济 {t['mulaid']} 元" if t.get("mulaid", "0.00") != "0.00" else ""))
    else:
        lines.append(f"发现差异 {run.differences} 笔：")
        for d in run.discrepancies.order_by("id"):
            lines.append(f"  [{d.get_kind_display()}] {d.explanation}")
    return lines
