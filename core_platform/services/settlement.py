"""Settlement transactions of the core (the book of record):

- 2001 benefit check (待遇检查), 2101 pre-settle (the split, nothing posted),
  2102 settle (split + double-entry posting + accumulators, one transaction),
  2103 reverse a settlement, 2601 reverse by original msgid, 9101 status of
  a msgid (our query for resolving unknown outcomes).

The split itself comes from the pure policy engine (core_platform/engine).
Amounts on the envelope are yuan strings with two decimals; inside, fen.
Concurrent settlements against one personal account serialise on the
account's row lock (PostgreSQL) or BEGIN IMMEDIATE (SQLite): the split is
computed *under* the lock, from the locked balance and accumulators.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.utils import timezone

from common.envelope import Envelope, EnvelopeError, InfCode
from common.fields import FieldError, amount_fen, decimal_value
from common.money import fen_to_yuan

from .. import engine
from ..db import core_atomic
from ..enums import EnrolmentStatus, LedgerAccountKind, PostingKind, SettlementStatus
from ..models import AnnualAccumulator, CatalogueItem, EnvelopeMessage, Institution, InsuredPerson, LedgerAccount, Settlement
from ..selectors import policy_current
from .ledger import fund_owner, ledger_account_get_or_create, posting_create

SPLIT_FIELDS = ("fund_pay_sumamt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")
TOMBSTONE_HASH = "TOMBSTONE"  # an EnvelopeMessage claimed by 2601 for a msgid that never ran


def _fail(code: InfCode, message: str, env: Envelope):
    raise EnvelopeError(code, message, msgid=env.msgid)


def _yuan(value, name: str, env: Envelope) -> int:
    """A non-negative amount (数值型 16,2) in fen; common.fields.amount_fen
    says what is accepted. Anything else is INPUT_INVALID naming the field."""
    try:
        return amount_fen(value, name)
    except FieldError as error:
        _fail(InfCode.INPUT_INVALID, error.message, env)


def _node(env: Envelope, name: str) -> dict:
    node = env.input.get(name)
    if not isinstance(node, dict):
        _fail(InfCode.INPUT_INVALID, f"缺少 input.{name}", env)
    return node


# --- parsing the bill ---------------------------------------------------------------

class Bill:
    def __init__(self, person: InsuredPerson, institution: Institution, medfee_fen: int, use_account: bool,
                 items: list, begntime: str, med_type: str, expected: dict | None, names: dict[str, str],
                 acct_pay_limit: int | None):
        self.person = person
        self.institution = institution
        self.medfee_fen = medfee_fen
        self.use_account = use_account
        self.items = items
        self.begntime = begntime
        self.med_type = med_type
        self.expected = expected
        self.names = names  # feedetl_sn → catalogue name, for the explanation
        self.acct_pay_limit = acct_pay_limit  # the wallet's confirmation threshold (one-call settle), fen


def _person(env: Envelope, druginfo: dict) -> InsuredPerson:
    psn_no = str(druginfo.get("psn_no") or "")
    person = InsuredPerson.objects.filter(psn_no=psn_no).first() if psn_no else None
    if person is None:
        _fail(InfCode.PERSON_NOT_FOUND, "未查询到该人员参保信息", env)
    if person.enrolment_status != EnrolmentStatus.ACTIVE:
        _fail(InfCode.PERSON_NOT_INSURED, "该人员当前不在正常参保状态，不能享受医保待遇", env)
    insutype = str(druginfo.get("insutype") or person.insutype)
    if insutype != person.insutype:
        _fail(InfCode.INPUT_INVALID, f"险种 {insutype} 与参保险种 {person.insutype} 不符", env)
    return person


def _institution(env: Envelope) -> Institution:
    institution = Institution.objects.filter(fixmedins_code=env.fixmedins_code).first()
    if institution is None:
        _fail(InfCode.INPUT_INVALID, "定点医药机构不存在", env)
    if not institution.designated:
        _fail(InfCode.INSTITUTION_NOT_DESIGNATED, "非定点医药机构，不能进行医保结算", env)
    return institution


def bill_parse(env: Envelope) -> Bill:
    druginfo = _node(env, "druginfo")
    details = env.input.get("drugdetail")
    if not isinstance(details, list) or not details:
        _fail(InfCode.INPUT_INVALID, "缺少 input.drugdetail（费用明细）", env)
    if len(details) > 200:
        _fail(InfCode.INPUT_INVALID, "费用明细最多200条", env)
    person = _person(env, druginfo)
    institution = _institution(env)
    medfee = _yuan(druginfo.get("medfee_sumamt"), "medfee_sumamt", env)
    codes = {str(d.get("med_list_codg", "")) for d in details if isinstance(d, dict)}
    catalogue = {c.med_list_codg: c for c in CatalogueItem.objects.filter(med_list_codg__in=codes)}
    items, seen, names = [], set(), {}
    for index, row in enumerate(details, 1):
        if not isinstance(row, dict):
            _fail(InfCode.INPUT_INVALID, f"第{index}条费用明细格式不正确", env)
        sn = str(row.get("feedetl_sn") or index)
        if sn in seen:
            _fail(InfCode.INPUT_INVALID, f"费用明细流水号 {sn} 重复", env)
        seen.add(sn)
        code = str(row.get("med_list_codg") or "")
        item = catalogue.get(code)
        if item is None:
            _fail(InfCode.CATALOGUE_ITEM_UNKNOWN, f"第{index}条：目录中无此项目 {code or '（空）'}", env)
        try:
            cnt = decimal_value(row.get("cnt"), f"第{index}条 cnt", int_digits=12, decimals=4)  # 数值型 16,4
        except FieldError as error:
            _fail(InfCode.INPUT_INVALID, error.message, env)
        if cnt <= 0:
            _fail(InfCode.INPUT_INVALID, f"第{index}条：数量 cnt 须为正数（最多四位小数）", env)
        pric = _yuan(row.get("pric"), f"第{index}条 pric", env)
        amount = _yuan(row.get("det_item_fee_sumamt"), f"第{index}条 det_item_fee_sumamt", env)
        names[sn] = item.name
        items.append(engine.LineItem(
            feedetl_sn=sn, med_list_codg=code, list_class=item.list_class,
            self_pay_ratio_permille=item.self_pay_ratio_permille, price_cap_fen=item.price_cap_fen,
            pric_fen=pric, cnt=cnt, amount_fen=amount,
        ))
    if sum(i.amount_fen for i in items) != medfee:
        _fail(InfCode.AMOUNTS_INCONSISTENT, "medfee_sumamt 与费用明细合计不一致", env)
    expected = None
    if any(druginfo.get(f) not in (None, "") for f in SPLIT_FIELDS):
        expected = {f: _yuan(druginfo.get(f, "0"), f, env) for f in SPLIT_FIELDS}
        if sum(expected.values()) != medfee:
            _fail(InfCode.AMOUNTS_INCONSISTENT,
                  "fund_pay_sumamt + acct_pay + acct_mulaid_pay + psn_cash_pay 与 medfee_sumamt 不一致", env)
    use_account = str(druginfo.get("acct_used_flag", "1")) == "1"
    limit = druginfo.get("acct_pay_limit")
    acct_pay_limit = _yuan(limit, "acct_pay_limit", env) if limit not in (None, "") else None
    return Bill(person, institution, medfee, use_account, items, str(druginfo.get("begntime") or ""),
                str(druginfo.get("med_type") or "41"), expected, names, acct_pay_limit)


# --- computing the split ------------------------------------------------------------

def _params(env: Envelope, person: InsuredPerson, on: dt.date):
    policy = policy_current(person.insured_region, person.insutype, on)
    if policy is None:
        _fail(InfCode.POLICY_MISSING, "参保地未配置该险种的待遇政策", env)
    return engine.parse_params(policy.params)


def _accumulator(psn_no: str, year: int, *, lock: bool) -> AnnualAccumulator:
    AnnualAccumulator.objects.get_or_create(psn_no=psn_no, year=year)
    rows = AnnualAccumulator.objects.filter(psn_no=psn_no, year=year)
    return (rows.select_for_update() if lock else rows).get()


def _account(psn_no: str, *, lock: bool) -> LedgerAccount:
    account = ledger_account_get_or_create(LedgerAccountKind.PERSONAL, psn_no)
    if lock:
        account = LedgerAccount.objects.select_for_update().get(pk=account.pk)
    return account


def _split(env: Envelope, bill: Bill, *, lock: bool):
    today = timezone.localdate()
    params = _params(env, bill.person, today)
    account = _account(bill.person.psn_no, lock=lock)  # account first, then accumulator: one order everywhere
    accumulator = _accumulator(bill.person.psn_no, today.year, lock=lock)
    try:
        result = engine.split(
            params, bill.institution.level,
            engine.Accumulators(eligible_cost_fen=accumulator.eligible_cost_fen,
                                deductible_paid_fen=accumulator.deductible_paid_fen,
                                fund_paid_fen=accumulator.fund_paid_fen),
            account.balance_fen, bill.use_account, bill.items,
        )
    except engine.EngineError as error:
        code = {"POLICY_INVALID": InfCode.POLICY_MISSING, "ITEM_INVALID": InfCode.AMOUNTS_INCONSISTENT}.get(
            error.code, InfCode.INPUT_INVALID)
        _fail(code, str(error), env)
    return result, account, accumulator


def _output(bill: Bill, result, *, setl_id: str = "", mdtrt_id: str = "") -> dict:
    setlinfo = result.to_setlinfo()
    setlinfo.update({"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": bill.person.psn_no,
                     "psn_name": bill.person.name, "insutype": bill.person.insutype,
                     "insuplc_admdvs": bill.person.insured_region, "setl_time":
                     timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")})
    details = result.to_setldetail()
    for row in details:
        row.setdefault("med_list_name", bill.names.get(str(row.get("feedetl_sn")), ""))
    return {"setlinfo": setlinfo, "setldetail": details, "explanation": list(result.explanation)}


# --- handlers ------------------------------------------------------------------------

def benefit_check(env: Envelope) -> dict:
    """2001: may this person be settled here now?"""
    data = _node(env, "data")
    person = _person(env, data)
    institution = _institution(env)
    return {"trtinfo": [{"fund_pay_type": "310100" if person.insutype == "310" else "390100",
                         "trt_enjymnt_flag": "1", "trt_chk_rslt": f"可在{institution.name}享受医保待遇"}]}


def pre_settle(env: Envelope) -> dict:
    """2101: the split, nothing posted."""
    bill = bill_parse(env)
    result, _, _ = _split(env, bill, lock=False)
    return _output(bill, result)


def settle(env: Envelope) -> dict:
    """2102: post the settlement. Runs inside the envelope's transaction (the
    answer is stored in the same commit)."""
    bill = bill_parse(env)
    result, account, accumulator = _split(env, bill, lock=True)
    if bill.acct_pay_limit is not None and result.acct_pay > bill.acct_pay_limit:
        # The wallet's one-call settle: above its confirmation threshold the
        # payer must confirm first. Nothing is posted; the split says why.
        raise EnvelopeError(InfCode.CONFIRMATION_REQUIRED, "个人账户支付金额超过免密额度，需参保人确认",
                            msgid=env.msgid, output=_output(bill, result))
    if bill.expected is not None:
        actual = {"fund_pay_sumamt": result.fund_pay_sumamt, "acct_pay": result.acct_pay,
                  "acct_mulaid_pay": result.acct_mulaid_pay, "psn_cash_pay": result.psn_cash_pay}
        if actual != bill.expected:
            _fail(InfCode.SPLIT_CHANGED, "结算金额与预结算不一致（账户余额或年度累计已变化），请重新预结算", env)
    now = timezone.localtime()
    setl_id = f"S{now:%Y%m%d%H%M%S}{secrets.token_hex(6).upper()}"
    mdtrt_id = f"M{now:%Y%m%d%H%M%S}{secrets.token_hex(6).upper()}"
    person, institution = bill.person, bill.institution
    lines = [
        (ledger_account_get_or_create(LedgerAccountKind.INSTITUTION_RECEIVABLE, institution.fixmedins_code),
         result.medfee_sumamt),
        (ledger_account_get_or_create(LedgerAccountKind.POOLED_FUND, fund_owner(person.insured_region, person.insutype)),
         -result.fund_pay_sumamt),
        (account, -result.acct_pay),
        (ledger_account_get_or_create(LedgerAccountKind.CASH, institution.fixmedins_code), -result.psn_cash_pay),
    ]
    lines = [(acc, amount) for acc, amount in lines if amount]
    posting = posting_create(PostingKind.SETTLEMENT, setl_id, lines, memo=f"{institution.fixmedins_code} {env.msgid}") \
        if lines else None
    if posting is None:  # a zero bill: nothing moves, but it is still a record
        _fail(InfCode.INPUT_INVALID, "结算金额为0，无需结算", env)
    deltas = result.deltas
    _accumulate(accumulator, deltas, sign=1)
    output = _output(bill, result, setl_id=setl_id, mdtrt_id=mdtrt_id)
    output["setlinfo"]["balc"] = fen_to_yuan(account.balance_fen)
    Settlement.objects.create(
        setl_id=setl_id, mdtrt_id=mdtrt_id, psn_no=person.psn_no, fixmedins_code=institution.fixmedins_code,
        msgid=env.msgid, insutype=person.insutype, insured_region=person.insured_region,
        medfee_fen=result.medfee_sumamt, fund_fen=result.fund_pay_sumamt, acct_fen=result.acct_pay,
        mulaid_fen=result.acct_mulaid_pay, cash_fen=result.psn_cash_pay, accumulator_year=accumulator.year,
        deltas={"eligible_cost_fen": deltas.eligible_cost_fen, "deductible_paid_fen": deltas.deductible_paid_fen,
                "fund_paid_fen": deltas.fund_paid_fen},
        setlinfo=output["setlinfo"], setldetail=output["setldetail"], explanation=output["explanation"],
        posting=posting,
    )
    return output


def _accumulate(accumulator: AnnualAccumulator, deltas, *, sign: int) -> None:
    def get(name):
        return deltas[name] if isinstance(deltas, dict) else getattr(deltas, name)

    accumulator.eligible_cost_fen += sign * get("eligible_cost_fen")
    accumulator.deductible_paid_fen += sign * get("deductible_paid_fen")
    accumulator.fund_paid_fen += sign * get("fund_paid_fen")
    accumulator.save(update_fields=["eligible_cost_fen", "deductible_paid_fen", "fund_paid_fen", "updated_at"])


def _reverse(env: Envelope, settlement: Settlement) -> dict:
    """A compensating posting (the original's entries negated) and the
    accumulators taken back by exactly what the settlement added."""
    settlement = Settlement.objects.select_for_update().get(pk=settlement.pk)
    if settlement.status == SettlementStatus.REVERSED:
        _fail(InfCode.ALREADY_REVERSED, "该结算已撤销", env)
    original = list(settlement.posting.entries.select_related("account"))
    posting = posting_create(PostingKind.REVERSAL, f"R{settlement.setl_id}",
                             [(e.account, -e.amount_fen) for e in original],
                             memo=f"reverses {settlement.setl_id} {env.msgid}")
    accumulator = _accumulator(settlement.psn_no, settlement.accumulator_year, lock=True)
    _accumulate(accumulator, settlement.deltas, sign=-1)
    now = timezone.now()
    Settlement.objects.filter(pk=settlement.pk, status=SettlementStatus.SETTLED).update(
        status=SettlementStatus.REVERSED, reversal_posting=posting, reversal_msgid=env.msgid, reversed_at=now)
    balance = LedgerAccount.objects.get(kind=LedgerAccountKind.PERSONAL, owner=settlement.psn_no).balance_fen
    return {"setlinfo": {
        "setl_id": settlement.setl_id, "mdtrt_id": settlement.mdtrt_id, "psn_no": settlement.psn_no,
        "medfee_sumamt": fen_to_yuan(-settlement.medfee_fen), "fund_pay_sumamt": fen_to_yuan(-settlement.fund_fen),
        "acct_pay": fen_to_yuan(-settlement.acct_fen), "acct_mulaid_pay": fen_to_yuan(-settlement.mulaid_fen),
        "psn_cash_pay": fen_to_yuan(-settlement.cash_fen), "balc": fen_to_yuan(balance),
        "setl_time": timezone.localtime(now).strftime("%Y-%m-%d %H:%M:%S"), "orig_setl_id": settlement.setl_id,
    }}


def reverse(env: Envelope) -> dict:
    """2103: reverse a settlement by setl_id (this institution's)."""
    data = _node(env, "data")
    setl_id = str(data.get("setl_id") or "")
    settlement = Settlement.objects.filter(setl_id=setl_id, fixmedins_code=env.fixmedins_code).first()
    if settlement is None:
        _fail(InfCode.SETTLEMENT_NOT_FOUND, "未找到该结算记录", env)
    if data.get("psn_no") and str(data["psn_no"]) != settlement.psn_no:
        _fail(InfCode.INPUT_INVALID, "psn_no 与结算记录不符", env)
    return _reverse(env, settlement)


def reverse_by_msgid(env: Envelope) -> dict:
    """2601: reverse the transaction sent with ``omsgid``. If it never ran,
    claim its msgid so it never will (a late original is refused)."""
    client_id = env.client_id
    data = _node(env, "data")
    omsgid, oinfno = str(data.get("omsgid") or ""), str(data.get("oinfno") or "")
    if oinfno != "2102" or not omsgid:
        _fail(InfCode.INPUT_INVALID, "2601 仅支持冲正 2102 结算交易（需 omsgid、oinfno）", env)
    settlement = Settlement.objects.filter(fixmedins_code=env.fixmedins_code, msgid=omsgid).first()
    if settlement is not None:
        if settlement.status == SettlementStatus.REVERSED:
            return {"result": "already_reversed", "setl_id": settlement.setl_id}
        output = _reverse(env, settlement)
        output["result"] = "reversed"
        return output
    original = EnvelopeMessage.objects.filter(client_id=client_id, fixmedins_code=env.fixmedins_code,
                                              msgid=omsgid).first()
    if original is not None and original.request_hash != TOMBSTONE_HASH:
        if original.status != "done":
            _fail(InfCode.MSGID_IN_PROGRESS, "原交易正在处理中，请稍后重试冲正", env)
        return {"result": "original_failed"}  # it ran and was refused: nothing was posted
    if original is None:
        EnvelopeMessage.objects.create(client_id=client_id, fixmedins_code=env.fixmedins_code, msgid=omsgid,
                                       infno="2102", request_hash=TOMBSTONE_HASH, status="done", response="")
    return {"result": "original_absent"}


def message_status(env: Envelope) -> dict:
    """9101: what became of ``omsgid``? (our query; the national platform has
    equivalents per region). ``status``: done / processing / absent / reversed_before_run."""
    data = _node(env, "data")
    omsgid = str(data.get("omsgid") or "")
    row = EnvelopeMessage.objects.filter(client_id=env.client_id, fixmedins_code=env.fixmedins_code, msgid=omsgid).first()
    if row is None:
        return {"msg": {"status": "absent", "answer": None}}
    if row.request_hash == TOMBSTONE_HASH:
        return {"msg": {"status": "reversed_before_run", "answer": None}}
    if row.status != "done":
        return {"msg": {"status": "processing", "answer": None}}
    import json

    return {"msg": {"status": "done", "answer": json.loads(row.response)}}
