"""Settling at the core (the book of record): the transactions that compute a
bill's split and store it as a ``core_platform.models.Settlement``:

- 2001 benefit check (待遇检查), 2101 pre-settle (the split, nothing posted),
  2102 settle (split + double-entry posting + accumulators, one transaction),
  2103 reverse a settlement, 2601 reverse by original msgid, 9101 status of
  a msgid (our query for resolving unknown outcomes).

The split itself (``engine.BillSplit``) comes from the pure policy engine
(core_platform/engine); this module stores it.
Amounts in an answer are two-place ``Decimal`` yuan (rendered as JSON numbers,
数值型 16,2); inside, fen. 2101/2102 answer the national nodes setlinfo,
setldetail (one row per fund that paid) and detlcutinfo (one row per line
item), plus our ``explanation``; docs/subsystems/terminal-gateway.md lists
every field and which input fields are used.
Concurrent settlements against one personal account serialise on the
account's row lock (PostgreSQL) or BEGIN IMMEDIATE (SQLite): the split is
computed *under* the lock, from the locked balance and accumulators.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from decimal import Decimal

from django.utils import timezone

from common.envelope import Envelope, EnvelopeError, InfCode, json_ready, parse_inf_time
from common.fields import FieldError, amount_fen, decimal_value
from common.money import age_value, fen_to_amount

from .. import engine
from ..errors import AmountOutOfRange
from ..enums import EnrolmentStatus, HoldPurpose, LedgerAccountKind, PostingKind, SettlementStatus
from ..models import (
    AnnualAccumulator,
    EnvelopeMessage,
    Hold,
    Institution,
    InsuredPerson,
    LedgerAccount,
    PolicyParameters,
    Settlement,
)
from ..reference import Reference, reference
from ..selectors import person_age, person_id_number
from .ledger import (MAX_FEN, MAX_HOLD_SECONDS, HoldPost, available_fen, fund_owner, hold_create, holds_post,
                     ledger_account_get_or_create, ledger_account_ref, posting_create, supplement_fund_owner)
from .catalogue import region_catalogue_lines
from .filings import CrossProvinceNotOpen, filing_for_bill, filing_setlinfo
from . import mutual_aid
from .claims import TOMBSTONE_HASH, message_abandoned_void
from .registry import person_identities_on

SPLIT_FIELDS = ("fund_pay_sumamt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")


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
                 acct_pay_limit: int | None, *, mdtrt_cert_type: str = "", bill_date: dt.date | None = None,
                 info: dict | None = None, kinds: dict[str, str] | None = None):
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
        self.mdtrt_cert_type = mdtrt_cert_type  # as sent, echoed in setlinfo
        self.bill_date = bill_date or timezone.localdate()  # begntime's date: the age is taken on it
        self.info = info or {"druginfo": {}, "drugdetail": {}}  # the record fields kept with a settlement
        self.kinds = kinds or {}  # feedetl_sn → catalogue kind (drug / service / material)
        self.mulaid = None  # family mutual aid (mutual_aid.SettlementAid), set by _split
        self.regional = {}  # med_list_codg → the treatment region's own terms (就医地目录), set by bill_parse
        self.reference: Reference | None = None  # the reference data it was parsed with (core_platform/reference.py)


# The input fields real clients send that the split does not need: checked
# for form (a string — or a number for a code — of at most this length, no
# control characters) and kept with the settlement for records and
# reconciliation. Lengths are the national ones, a little generous where
# regions differ. docs/subsystems/terminal-gateway.md lists them.
DRUGINFO_TEXT = {"invono": 50, "dise_codg": 50, "dise_name": 500, "psn_setlway": 6, "mdtrt_id": 30,
                 "chrg_bchno": 50}
DRUGDETAIL_TEXT = {"rxno": 40, "rx_circ_flag": 3, "medins_list_codg": 150, "sin_dos_dscr": 200,
                   "used_frqu_dscr": 200, "medc_way_dscr": 200, "bilg_dr_codg": 30, "bilg_dr_name": 50,
                   "tcmdrug_used_way": 6}
_CODE = re.compile(r"[0-9A-Za-z]{1,6}", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _text(env: Envelope, node: dict, name: str, max_length: int, where: str = "") -> str:
    """An optional text field: a string (a code may come as a JSON integer),
    at most ``max_length`` characters, no control characters; "" if absent."""
    value = node.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        _fail(InfCode.INPUT_INVALID, f"{where}{name} 须为字符串", env)
    text = str(value)
    if len(text) > max_length:
        _fail(InfCode.INPUT_INVALID, f"{where}{name} 最长{max_length}个字符", env)
    if _CONTROL.search(text):
        _fail(InfCode.INPUT_INVALID, f"{where}{name} 不能包含控制字符", env)
    return text


def _code(env: Envelope, node: dict, name: str, default: str) -> str:
    """A short dictionary code that the answer echoes (med_type, mdtrt_cert_type)."""
    text = _text(env, node, name, 6) or default
    if text and not _CODE.fullmatch(text):
        _fail(InfCode.INPUT_INVALID, f"{name} 须为1-6位字母或数字代码", env)
    return text


def _datetime(env: Envelope, node: dict, name: str, where: str = "") -> dt.datetime | None:
    """An optional 日期时间型 field: "yyyy-MM-dd HH:mm:ss" (or yyyyMMddHHmmss)."""
    text = _text(env, node, name, 19, where)
    if not text:
        return None
    moment = parse_inf_time(text)
    if moment is None:
        _fail(InfCode.INPUT_INVALID, f"{where}{name} 须为 yyyy-MM-dd HH:mm:ss 格式的时间", env)
    return moment


def _record_fields(env: Envelope, druginfo: dict) -> dict:
    kept = {name: _text(env, druginfo, name, length) for name, length in DRUGINFO_TEXT.items()}
    if kept["psn_setlway"] not in ("", "01"):
        _fail(InfCode.INPUT_INVALID, "本平台仅支持按项目结算（psn_setlway 须为 01 或不填）", env)
    ext = druginfo.get("expContent")
    if ext is not None and not isinstance(ext, (str, dict)):
        _fail(InfCode.INPUT_INVALID, "expContent 须为字符串或对象", env)
    return {name: value for name, value in kept.items() if value}


def _item_record_fields(env: Envelope, row: dict, where: str) -> dict:
    kept = {name: _text(env, row, name, length, where) for name, length in DRUGDETAIL_TEXT.items()}
    occurred = _datetime(env, row, "fee_ocur_time", where)
    if occurred is not None:
        kept["fee_ocur_time"] = occurred.strftime("%Y-%m-%d %H:%M:%S")
    if row.get("prd_days") not in (None, ""):
        try:  # 数值型 4,2
            kept["prd_days"] = format(decimal_value(row["prd_days"], f"{where}prd_days", int_digits=2, decimals=2), "f")
        except FieldError as error:
            _fail(InfCode.INPUT_INVALID, error.message, env)
    return {name: value for name, value in kept.items() if value}


def _price_fen(env: Envelope, value, name: str) -> int | Decimal:
    """A unit price (数值型 16,6: up to six decimals) in fen: an int when it
    is whole fen, else the exact Decimal (0.083333 元 -> Decimal("8.3333")
    fen). The integer part may be as long as an amount's (14 digits), so a
    one-unit line can carry the largest amount."""
    try:
        yuan = decimal_value(value, name, int_digits=14, decimals=6)
    except FieldError as error:
        _fail(InfCode.INPUT_INVALID, error.message, env)
    fen = yuan.scaleb(2)
    return int(fen) if fen == fen.to_integral_value() else fen


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


def _institution(env: Envelope, ref: Reference) -> Institution:
    institution = ref.institution(env.fixmedins_code)
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
    ref = reference()  # institutions, catalogue and policies, kept per process while they do not change
    person = _person(env, druginfo)
    institution = _institution(env, ref)
    medfee = _yuan(druginfo.get("medfee_sumamt"), "medfee_sumamt", env)
    med_type = _code(env, druginfo, "med_type", "41")
    cert_type = _code(env, druginfo, "mdtrt_cert_type", "")
    begun = _datetime(env, druginfo, "begntime")
    if begun is not None and begun.date() > timezone.localdate() + dt.timedelta(days=1):
        # The bill's date picks the policy version and the policy year: a
        # date in the future would settle under rules not yet in force.
        _fail(InfCode.INPUT_INVALID, f"就诊开始时间 begntime {begun:%Y-%m-%d} 晚于当前日期，不能结算", env)
    record = {"druginfo": _record_fields(env, druginfo), "drugdetail": {}}
    codes = {str(d.get("med_list_codg", "")) for d in details if isinstance(d, dict)}
    catalogue = ref.catalogue_items(codes)
    regional = ref.regional_terms(institution.region, codes)  # 就医地目录: the treatment region's terms
    items, seen, names, kinds = [], set(), {}, {}
    for index, row in enumerate(details, 1):
        if not isinstance(row, dict):
            _fail(InfCode.INPUT_INVALID, f"第{index}条费用明细格式不正确", env)
        sn = _text(env, row, "feedetl_sn", 30, f"第{index}条 ") or str(index)
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
        pric = _price_fen(env, row.get("pric"), f"第{index}条 pric")
        amount = _yuan(row.get("det_item_fee_sumamt"), f"第{index}条 det_item_fee_sumamt", env)
        kept = _item_record_fields(env, row, f"第{index}条 ")
        if kept:
            record["drugdetail"][sn] = kept
        names[sn] = item.name
        kinds[sn] = item.kind
        terms = regional.get(code, item)
        items.append(engine.LineItem(
            feedetl_sn=sn, med_list_codg=code, list_class=terms.list_class,
            self_pay_ratio_permille=terms.self_pay_ratio_permille, price_cap_fen=terms.price_cap_fen,
            pric_fen=pric, cnt=cnt, amount_fen=amount, mulaid_excluded=item.mulaid_excluded,
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
    bill = Bill(person, institution, medfee, use_account, items,
                begun.strftime("%Y-%m-%d %H:%M:%S") if begun else "", med_type, expected, names, acct_pay_limit,
                mdtrt_cert_type=cert_type, bill_date=begun.date() if begun else None, info=record, kinds=kinds)
    bill.regional, bill.reference = regional, ref
    return bill


# --- computing the split ------------------------------------------------------------

def _params(env: Envelope, person: InsuredPerson, on: dt.date, ref: Reference):
    """The policy version in force on the bill's date ``on`` (begntime's
    date, else today): a new year's or a mid-year version applies from its
    effective_from."""
    policy = ref.policy(person.insured_region, person.insutype, on)
    if policy is None:
        if not PolicyParameters.objects.filter(region=person.insured_region, insutype=person.insutype).exists():
            _fail(InfCode.POLICY_MISSING, "参保地未配置该险种的待遇政策", env)
        _fail(InfCode.POLICY_MISSING, f"就诊日期 {on.isoformat()} 早于参保地该险种首个待遇政策的生效日期", env)
    return engine.parse_params(policy.params)


# med_type (医疗类别): 21 普通住院, 22..29 other inpatient kinds, 52 生育住院
# are inpatient; everything else (11 普通门诊, 14 门诊慢特病, 41 药店购药, ...)
# is outpatient for the policy's outpatient rules.
def _inpatient(med_type: str) -> bool:
    return med_type.startswith("2") or med_type == "52"


def _patient(person: InsuredPerson, on: dt.date, params):
    # The assistance identities matter only to a policy with medical assistance (maf).
    needed = any(s.fund == "maf" for s in params.supplements)
    return engine.Patient(psn_type=person.psn_type, cvlserv=person.cvlserv_flag,
                          identities=person_identities_on(person.psn_no, on) if needed else frozenset())


def _locked_or_created(rows, create):
    """The row of ``rows`` (locked if ``rows`` says so) — one statement when
    it exists, as it does after the person's first settlement of the year."""
    row = rows.first()
    if row is None:
        create()
        row = rows.get()
    return row


def _accumulator(psn_no: str, year: int, *, lock: bool) -> AnnualAccumulator:
    rows = AnnualAccumulator.objects.filter(psn_no=psn_no, year=year)
    return _locked_or_created(rows.select_for_update() if lock else rows,
                              lambda: AnnualAccumulator.objects.get_or_create(psn_no=psn_no, year=year))


def _account(psn_no: str, *, lock: bool) -> LedgerAccount:
    """The person's personal account (opened at enrolment), locked for 2102."""
    rows = LedgerAccount.objects.filter(kind=LedgerAccountKind.PERSONAL, owner=psn_no)
    return _locked_or_created(rows.select_for_update() if lock else rows,
                              lambda: ledger_account_get_or_create(LedgerAccountKind.PERSONAL, psn_no))


def _split(env: Envelope, bill: Bill, *, lock: bool, hold: Hold | None = None):
    """The split of ``bill`` under the policy in force on its date, against
    the counters of the policy year that date falls in. The person's account
    pays from what is available (balance − pending holds); posting a
    settlement hold (``hold``, services/holds.py), from exactly the held
    amount. Returns (split, account, accumulator, available)."""
    params = _params(env, bill.person, bill.bill_date, bill.reference)
    year = engine.policy_year(params, bill.bill_date)
    # Family mutual aid (services/mutual_aid.py): the authorisation checked and the relative's and payer's
    # accounts locked, by owner, before the accumulator.
    bill.mulaid = mutual_aid.settlement_prepare(env, bill, lock=lock)
    account = _account(bill.person.psn_no, lock=lock)  # account first, then accumulator: one order everywhere
    available = hold.amount_fen if hold is not None else available_fen(account, locked=lock)
    accumulator = _accumulator(bill.person.psn_no, year, lock=lock)
    try:  # cross-province: the filing the bill is settled under (services/filings.py), locked at 2102
        filing = filing_for_bill(bill.person, bill.institution, params, bill.bill_date, bill.med_type, lock=lock)
    except CrossProvinceNotOpen as refusal:
        _fail(InfCode.CROSS_PROVINCE_NOT_OPEN, refusal.message, env)
    try:
        result = engine.split(
            params, bill.institution.level,
            engine.Accumulators(**{name: getattr(accumulator, name) for name in engine.COUNTERS}),
            available, bill.use_account, bill.items,
            patient=_patient(bill.person, bill.bill_date, params),
            visit=engine.Visit(inpatient=_inpatient(bill.med_type),
                               outpatient_pooling=bill.institution.outpatient_pooling),
            mutual_aid=bill.mulaid.aid if bill.mulaid else None,
            filing=filing,
        )
    except engine.EngineError as error:
        code = {"POLICY_INVALID": InfCode.POLICY_MISSING, "ITEM_INVALID": InfCode.AMOUNTS_INCONSISTENT,
                "NOT_FILED": InfCode.NOT_FILED}.get(
            error.code, InfCode.INPUT_INVALID)
        _fail(code, str(error), env)
    return result, account, accumulator, available


# National dictionary values of this platform's settlements.
PSN_CERT_TYPE_ID_CARD = "01"  # 居民身份证
NATY_HAN = "01"  # 民族: the registry does not hold it yet
CLR_WAY_BY_ITEM = "1"  # 清算方式: 按项目
CLR_TYPE = {"pharmacy": "41", "hospital": "11"}  # 清算类别: 41 定点药店购药, 11 门诊
# The supplementary funds: the BillSplit field each pays in, and its
# fund_pay_type (which also names its pooled_fund ledger account,
# ledger.supplement_fund_owner). The basic fund is 310100 / 390100.
SUPPLEMENT_FUNDS = (("hifob", "hifob_pay", "330100"), ("hifmi", "hifmi_pay", "390200"),
                    ("cvlserv", "cvlserv_pay", "320100"), ("maf", "maf_pay", "610100"))
BASIC_FUND_PAY_TYPE = {"310": "310100", "390": "390100"}


def _now_text() -> str:
    return timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")


def _output(env: Envelope, bill: Bill, result, *, balance_fen: int, setl_id: str | None = None,
            mdtrt_id: str = "") -> dict:
    """The 2101/2102 answer: setlinfo (the national field list, in its
    order), setldetail (per fund), detlcutinfo (per line item) and our
    ``explanation``. ``setl_id`` only for 2102 (None leaves it out);
    ``balance_fen`` is the account balance to report (2101: the current one;
    2102: after the posting)."""
    person = bill.person
    money = result.to_setlinfo()
    money["balc"] = fen_to_amount(balance_fen)
    setlinfo = {}
    if setl_id is not None:
        setlinfo["setl_id"] = setl_id
    setlinfo.update({
        "mdtrt_id": mdtrt_id, "psn_no": person.psn_no, "psn_name": person.name,
        "psn_cert_type": PSN_CERT_TYPE_ID_CARD, "certno": person_id_number(person),  # the wallet masks it
        "gend": person.gender, "naty": NATY_HAN, "brdy": person.birth_date.isoformat(),
        "age": age_value(person_age(person.birth_date, bill.bill_date)),
        "insutype": person.insutype, "psn_type": person.psn_type, "cvlserv_flag": "1" if person.cvlserv_flag else "0",
        "setl_time": _now_text(), "mdtrt_cert_type": bill.mdtrt_cert_type, "med_type": bill.med_type,
    })
    setlinfo.update(money)
    setlinfo.update({
        "medins_setl_id": env.msgid, "clr_optins": person.insured_region, "clr_way": CLR_WAY_BY_ITEM,
        "clr_type": CLR_TYPE.get(bill.institution.kind, "41"),
        "insuplc_admdvs": person.insured_region,  # ours, kept for the wallet
        **mutual_aid.setlinfo_fields(bill.mulaid, result),  # ours: who paid acct_mulaid_pay
    })
    if result.filing is not None:  # ours: the cross-province filing used (services/filings.py)
        setlinfo.update(filing_setlinfo(result.filing, bill.institution))
    detlcutinfo = result.to_detlcutinfo()
    excluded = {item.feedetl_sn for item in bill.items if item.mulaid_excluded}
    for row in detlcutinfo:
        row["med_list_name"] = bill.names.get(row["feedetl_sn"], "")  # ours: the catalogue name
        row["med_chrgitm_type"] = MED_CHRGITM_TYPE.get(bill.kinds.get(row["feedetl_sn"], ""), "")
        row["mulaid_excluded"] = "1" if row["feedetl_sn"] in excluded else "0"  # ours: 不可共济项目
    return {"setlinfo": setlinfo, "setldetail": result.to_setldetail(person.insutype), "detlcutinfo": detlcutinfo,
            "explanation": list(result.explanation) + region_catalogue_lines(bill.institution, bill.regional)
            + mutual_aid.explanation(bill.mulaid, result)}


# 医疗收费项目类别 (med_chrgitm_type) by catalogue kind: 09 西药费 stands for
# every drug (the catalogue does not tell western from Chinese patent
# medicine yet), 14 卫生材料费, 02 诊察费... services get 99 其他.
MED_CHRGITM_TYPE = {"drug": "09", "material": "14", "service": "99"}


# --- handlers ------------------------------------------------------------------------

def benefit_check(env: Envelope) -> dict:
    """2001: may this person be settled here now? One ``trtinfo`` row per
    fund of the policy in force today: the basic fund, then each
    supplementary fund the region's policy has, flagged "1" if this person
    may get it (civil-servant subsidy: cvlserv_flag; medical assistance: an
    identity it lists, held today) and "0" with the reason if not."""
    data = _node(env, "data")
    ref = reference()
    person = _person(env, data)
    institution = _institution(env, ref)
    today = timezone.localdate()
    rows = [{"fund_pay_type": BASIC_FUND_PAY_TYPE.get(person.insutype, "390100"),
             "trt_enjymnt_flag": "1", "trt_chk_rslt": f"可在{institution.name}享受医保待遇"}]
    policy = ref.policy(person.insured_region, person.insutype, today)
    supplements = {s.get("fund"): s for s in (policy.params.get("supplements") or [])} if policy else {}
    identities = person_identities_on(person.psn_no, today) if "maf" in supplements else frozenset()
    for fund, _, fund_pay_type in SUPPLEMENT_FUNDS:
        if fund not in supplements:
            continue
        name = engine.FUND_PAY_TYPE_NAMES.get(fund_pay_type, fund_pay_type)
        if fund == "cvlserv" and not person.cvlserv_flag:
            flag, text = "0", f"非公务员，不享受{name}"
        elif fund == "maf" and not identities & set(supplements[fund].get("identities") or []):
            flag, text = "0", f"无医疗救助对象身份，不享受{name}"
        else:
            flag, text = "1", f"按参保地政策享受{name}"
        rows.append({"fund_pay_type": fund_pay_type, "trt_enjymnt_flag": flag, "trt_chk_rslt": text})
    return {"trtinfo": rows}


def pre_settle(env: Envelope) -> dict:
    """2101: the split, nothing posted."""
    bill = bill_parse(env)
    result, _, _, available = _split(env, bill, lock=False)
    return _output(env, bill, result, balance_fen=available)


def settle(env: Envelope) -> dict:
    """2102: post the settlement. Runs inside the envelope's transaction (the
    answer is stored in the same commit). With ``input.hold`` (ours, sent by
    a wallet that adopts holds; services/holds.py) an account part above
    ``acct_pay_limit`` is held for the payer's PIN instead of refused."""
    bill = bill_parse(env)
    hold_seconds = hold_request(env)
    result, account, accumulator, available = _split(env, bill, lock=True)
    own_over = bill.acct_pay_limit is not None and result.acct_pay > bill.acct_pay_limit
    if own_over and hold_seconds is not None:
        return _hold_place(env, bill, result, account, available, hold_seconds)
    if own_over or mutual_aid.confirmation_required(bill.mulaid, result):
        # The wallet's one-call settle: above its confirmation threshold (the
        # person's own account part, or the mutual-aid part above the payer's
        # mulaid_pay_limit) the PIN is asked first. Nothing is posted; the split says why.
        raise EnvelopeError(InfCode.CONFIRMATION_REQUIRED, "个人账户支付金额超过免密额度，需参保人确认" if own_over
                            else "家庭共济支付金额超过共济人设定的确认金额，需共济人确认",
                            msgid=env.msgid, output=_output(env, bill, result, balance_fen=available,
                                                            setl_id=""))
    return settlement_post(env, bill, result, account, accumulator, available)


def settlement_post(env: Envelope, bill: Bill, result, account: LedgerAccount, accumulator: AnnualAccumulator,
                    available: int, *, own_hold: Hold | None = None) -> dict:
    """Check the split against the one the payer confirmed (``bill.expected``),
    then post it: the posting, the accumulators, the ``Settlement`` row. The
    person's account part comes from ``own_hold`` when a settlement hold is
    posted (services/holds.py), a set-aside amount from its hold (the rest
    held again)."""
    if bill.expected is not None:
        actual = {"fund_pay_sumamt": result.fund_pay_sumamt, "acct_pay": result.acct_pay,
                  "acct_mulaid_pay": result.acct_mulaid_pay, "psn_cash_pay": result.psn_cash_pay}
        if actual != bill.expected:
            _fail(InfCode.SPLIT_CHANGED, "结算金额与预结算不一致（账户余额或年度累计已变化），请重新预结算", env)
    now = timezone.localtime()
    setl_id = f"S{now:%Y%m%d%H%M%S}{secrets.token_hex(6).upper()}"
    mdtrt_id = f"M{now:%Y%m%d%H%M%S}{secrets.token_hex(6).upper()}"
    person, institution = bill.person, bill.institution
    # Each fund pays from its own pooled_fund account (the basic fund:
    # "<admdvs>-<insutype>"; a supplementary fund: "<admdvs>-<fund_pay_type>").
    funds = [(fund_owner(person.insured_region, person.insutype), result.hifp_pay)]
    funds += [(supplement_fund_owner(person.insured_region, code), getattr(result, field))
              for _, field, code in SUPPLEMENT_FUNDS]
    if sum(amount for _, amount in funds) != result.fund_pay_sumamt:
        raise AssertionError("fund_pay_sumamt is not the sum of the funds")  # the engine's identity
    holds = [*([HoldPost(own_hold, result.acct_pay)] if own_hold is not None and result.acct_pay else []),
             *mutual_aid.posting_holds(bill.mulaid, result)]  # a set-aside amount used: its hold posted
    lines = [
        (ledger_account_ref(LedgerAccountKind.INSTITUTION_RECEIVABLE, institution.fixmedins_code),
         result.medfee_sumamt),
        *[(ledger_account_ref(LedgerAccountKind.POOLED_FUND, owner), -amount) for owner, amount in funds if amount],
        (account, 0 if own_hold is not None else -result.acct_pay),
        *mutual_aid.posting_lines(bill.mulaid, result),  # the payer's debit, in the same posting
        (ledger_account_ref(LedgerAccountKind.CASH, institution.fixmedins_code), -result.psn_cash_pay),
    ]
    lines = [(acc, amount) for acc, amount in lines if amount]
    if not lines and not holds:  # a zero bill: nothing moves
        _fail(InfCode.INPUT_INVALID, "结算金额为0，无需结算", env)
    deltas = result.deltas.as_dict()  # every counter, by engine.COUNTERS name
    _accumulate(accumulator, deltas, sign=1)
    # The account is locked (_split): what is available after this posting is known now
    # (a posted settlement hold was already counted out of it).
    after = available if own_hold is not None else available - result.acct_pay
    output = _output(env, bill, result, balance_fen=after, setl_id=setl_id, mdtrt_id=mdtrt_id)
    # Posted last: the shared accounts (the city's pooled fund, the pharmacy's
    # receivable and cash) stay locked only from here to the commit.
    memo = f"{institution.fixmedins_code} {env.msgid}"
    if holds:
        posting, _ = holds_post(holds, kind=PostingKind.SETTLEMENT, reference=setl_id, lines=lines, memo=memo)
    else:
        posting = posting_create(PostingKind.SETTLEMENT, setl_id, lines, memo=memo)
    Settlement.objects.create(
        setl_id=setl_id, mdtrt_id=mdtrt_id, psn_no=person.psn_no, fixmedins_code=institution.fixmedins_code,
        msgid=env.msgid, insutype=person.insutype, insured_region=person.insured_region,
        medfee_fen=result.medfee_sumamt, fund_fen=result.fund_pay_sumamt, acct_fen=result.acct_pay,
        mulaid_fen=result.acct_mulaid_pay, cash_fen=result.psn_cash_pay, accumulator_year=accumulator.year,
        **mutual_aid.settlement_fields(bill.mulaid, result),
        deltas=deltas,
        setlinfo=json_ready(output["setlinfo"]), setldetail=json_ready(output["setldetail"]),
        detlcutinfo=json_ready(output["detlcutinfo"]), explanation=output["explanation"],
        invono=bill.info["druginfo"].get("invono", ""), bill_info=bill.info, posting=posting,
    )
    return output


def hold_request(env: Envelope) -> int | None:
    """``input.hold`` (ours; a top-level node, which the wallet builds itself
    and never forwards from a terminal): ``{"expire_seconds": N}``, 1..86400.
    None when absent (today's behaviour: 4008, nothing posted)."""
    node = env.input.get("hold")
    if node is None:
        return None
    seconds = node.get("expire_seconds") if isinstance(node, dict) else None
    if isinstance(seconds, str) and seconds.isascii() and seconds.isdigit() and len(seconds) <= 6:
        seconds = int(seconds)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 < seconds <= MAX_HOLD_SECONDS:
        _fail(InfCode.INPUT_INVALID, f"hold.expire_seconds 须为1-{MAX_HOLD_SECONDS}的整数（秒）", env)
    return seconds


def _hold_place(env: Envelope, bill: Bill, result, account: LedgerAccount, available: int, seconds: int) -> dict:
    """Above acct_pay_limit with ``input.hold``: the account part is held on
    the person's account until the deadline, for the payer's PIN to post
    (9411) or a decline to void (9412); the answer is the split (no
    ``setl_id``) and ``output.hold``. The bill is kept with the hold as it
    will be settled: the split it was held with (checked again at posting:
    4003 if the counters moved meanwhile), no confirmation limits."""
    druginfo = {name: value for name, value in (env.input.get("druginfo") or {}).items()
                if name not in ("acct_pay_limit", "mulaid_pay_limit")}
    druginfo.update({"fund_pay_sumamt": fen_to_amount(result.fund_pay_sumamt),
                     "acct_pay": fen_to_amount(result.acct_pay),
                     "acct_mulaid_pay": fen_to_amount(result.acct_mulaid_pay),
                     "psn_cash_pay": fen_to_amount(result.psn_cash_pay)})
    kept = json_ready({"druginfo": druginfo, "drugdetail": env.input.get("drugdetail")})
    deadline = timezone.now() + dt.timedelta(seconds=seconds)
    hold = hold_create(account, result.acct_pay, purpose=HoldPurpose.SETTLEMENT,
                       reference=f"{env.fixmedins_code}:{env.msgid}", deadline=deadline,
                       fixmedins_code=env.fixmedins_code,
                       detail={"msgid": env.msgid, "client_id": env.client_id, "input": kept})
    output = _output(env, bill, result, balance_fen=available - result.acct_pay, setl_id="")
    output["hold"] = hold_output(hold)
    return output


def hold_output(hold: Hold, setl_id: str = "") -> dict:
    """``output.hold`` of 2102 (a hold placed) and 9410/9411/9412."""
    return {"hold_id": hold.hold_id, "status": hold.status, "amount": fen_to_amount(hold.amount_fen),
            "posted_amount": fen_to_amount(hold.posted_fen),
            "deadline": timezone.localtime(hold.deadline).strftime("%Y-%m-%d %H:%M:%S") if hold.deadline else "",
            "setl_id": setl_id, "medins_setl_id": str((hold.detail or {}).get("msgid", ""))}


def _accumulate(accumulator: AnnualAccumulator, deltas: dict, *, sign: int) -> None:
    """Move every counter (``engine.COUNTERS``) by ``sign`` × its delta; a
    name an older settlement record lacks counts 0."""
    for name in engine.COUNTERS:
        value = getattr(accumulator, name) + sign * int(deltas.get(name, 0))
        if value > MAX_FEN:
            raise AmountOutOfRange(accumulator.psn_no)
        setattr(accumulator, name, value)
    accumulator.save(update_fields=[*engine.COUNTERS, "updated_at"])


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
    mutual_aid.after_reversal(settlement)  # a set-aside amount whose authorisation ended goes back to the payer
    now = timezone.now()
    Settlement.objects.filter(pk=settlement.pk, status=SettlementStatus.SETTLED).update(
        status=SettlementStatus.REVERSED, reversal_posting=posting, reversal_msgid=env.msgid, reversed_at=now)
    account = LedgerAccount.objects.get(kind=LedgerAccountKind.PERSONAL, owner=settlement.psn_no)
    return _reversal_output(env, settlement, available_fen(account, locked=False), now)


# 2103's setlinfo money fields, and where each comes from in the original's setlinfo.
REVERSAL_MONEY = (
    ("medfee_sumamt", "medfee_sumamt"), ("fulamt_ownpay_amt", "fulamt_ownpay_amt"),
    ("overlmt_selfpay", "overlmt_selfpay"), ("preselfpay_amt", "preselfpay_amt"),
    ("inscp_scp_amt", "inscp_scp_amt"), ("act_pay_dedc", "act_pay_dedc"), ("hifp_pay", "hifp_pay"),
    ("pool_prop_selfpay", "pool_prop_selfpay"), ("cvlserv_pay", "cvlserv_pay"), ("hifes_pay", "hifes_pay"),
    ("hifmi_pay", "hifmi_pay"), ("hifob_pay", "hifob_pay"), ("maf_pay", "maf_pay"), ("oth_pay", "oth_pay"),
    ("fund_pay_sumamt", "fund_pay_sumamt"), ("psn_pay", "psn_part_amt"), ("acct_pay", "acct_pay"),
    ("cash_payamt", "psn_cash_pay"),
)


def _stored_fen(setlinfo: dict, name: str) -> int:
    """An amount of a stored setlinfo (written by json_ready as plain decimal
    text); a field an older record lacks is 0."""
    value = setlinfo.get(name)
    return amount_fen(value, name) if value not in (None, "") else 0


def _reversal_output(env: Envelope, settlement: Settlement, balance_fen: int, when: dt.datetime) -> dict:
    """The 2103 answer: the national setlinfo with the original settlement's
    amounts negated (the reversal is a new, negative record of the same
    settlement), the balance after it, and the per-fund rows negated.
    ``setl_id`` and ``mdtrt_id`` are the original's."""
    original = settlement.setlinfo or {}
    fen = {name: _stored_fen(original, source) for name, source in REVERSAL_MONEY}
    # The ledger's own figures win over the stored copy for the parts it posted.
    fen.update({"medfee_sumamt": settlement.medfee_fen, "fund_pay_sumamt": settlement.fund_fen,
                "acct_pay": settlement.acct_fen, "cash_payamt": settlement.cash_fen,
                "psn_pay": settlement.medfee_fen - settlement.fund_fen})
    setlinfo = {"mdtrt_id": settlement.mdtrt_id, "setl_id": settlement.setl_id,
                "clr_optins": settlement.insured_region, "setl_time": timezone.localtime(when).strftime(
                    "%Y-%m-%d %H:%M:%S")}
    for name, _ in REVERSAL_MONEY:
        setlinfo[name] = fen_to_amount(-fen[name])
    setlinfo.update({
        "balc": fen_to_amount(balance_fen), "acct_mulaid_pay": fen_to_amount(-settlement.mulaid_fen),
        "medins_setl_id": env.msgid,
        # ours, kept for the wallet: who, and what the ledger moved back
        "psn_no": settlement.psn_no, "psn_cash_pay": fen_to_amount(-settlement.cash_fen),
        "orig_setl_id": settlement.setl_id, "mulaid_payer_psn_no": settlement.mulaid_payer_psn_no,
    })
    details = []
    for row in settlement.setldetail or []:
        if not isinstance(row, dict) or "fund_pay_type" not in row:
            continue  # an older record kept per-item rows here
        details.append({**row, "inscp_scp_amt": fen_to_amount(-_stored_fen(row, "inscp_scp_amt")),
                        "crt_payb_lmt_amt": fen_to_amount(_stored_fen(row, "crt_payb_lmt_amt")),
                        "fund_payamt": fen_to_amount(-_stored_fen(row, "fund_payamt")),
                        "setl_proc_info": f"撤销结算 {settlement.setl_id}：{row.get('setl_proc_info', '')}"})
    if not details and settlement.fund_fen:
        fund_type = BASIC_FUND_PAY_TYPE.get(settlement.insutype, "390100")
        details.append({"fund_pay_type": fund_type, "fund_pay_type_name": engine.FUND_PAY_TYPE_NAMES[fund_type],
                        "inscp_scp_amt": fen_to_amount(-fen["inscp_scp_amt"]),
                        "crt_payb_lmt_amt": fen_to_amount(0), "fund_payamt": fen_to_amount(-settlement.fund_fen),
                        "setl_proc_info": f"撤销结算 {settlement.setl_id}"})
    return {"setlinfo": setlinfo, "setldetail": details}


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
    claim its msgid so it never will (a late original is refused); a claim
    abandoned by a dead process is voided the same way (claims.py)."""
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
            if message_abandoned_void(original):  # its process died: nothing ran, and now never will
                return {"result": "original_absent"}
            _fail(InfCode.MSGID_IN_PROGRESS, "原交易正在处理中，请稍后重试冲正", env)
        return {"result": "original_failed"}  # it ran and was refused: nothing was posted
    if original is None:
        EnvelopeMessage.objects.create(client_id=client_id, fixmedins_code=env.fixmedins_code, msgid=omsgid,
                                       infno="2102", request_hash=TOMBSTONE_HASH, status="done", response="")
    return {"result": "original_absent"}


def message_status(env: Envelope) -> dict:
    """9101: what became of ``omsgid``? (our query; the national platform has
    equivalents per region). ``status``: done / processing / absent / reversed_before_run.
    A claim abandoned by a dead process is voided here (claims.py,
    ``message_abandoned_void``): "processing" means its owner is alive."""
    data = _node(env, "data")
    omsgid = str(data.get("omsgid") or "")
    row = EnvelopeMessage.objects.filter(client_id=env.client_id, fixmedins_code=env.fixmedins_code, msgid=omsgid).first()
    if row is None:
        return {"msg": {"status": "absent", "answer": None}}
    if row.request_hash == TOMBSTONE_HASH:
        return {"msg": {"status": "reversed_before_run", "answer": None}}
    if row.status != "done":
        if message_abandoned_void(row):  # its process died: decided now, never left processing
            return {"msg": {"status": "reversed_before_run", "answer": None}}
        return {"msg": {"status": "processing", "answer": None}}
    from common.envelope import load_answer  # numbers as exact Decimal: the renderer refuses floats

    return {"msg": {"status": "done", "answer": load_answer(row.response)}}
