"""Family mutual aid at the core (家庭共济, issue #13): the core's own state of
bindings and authorisations (from the wallet's 9201 events), the set-aside
amount (9403 共济额度), a resident contribution paid from the payer's account
(9404 / 9405), and the mutual-aid part of a settlement (2101 / 2102, called
from services/settle.py).

State. ``MutualAidAuth`` is the core's copy of an authorisation: a
``mulaid.authorized`` event replaces it only with a newer ``version``; a
``mulaid.revoked`` with a newer version revokes it; the core ends it by
itself when either person's enrolment changes (registry.person_status_set /
person_move) or the binding ends. Whenever an authorisation stops being
active, the set-aside amount for that relative returns in full to the
payer's personal account.

Money. The payer's money used for a relative is either the payer's
personal account (``direct``: what is available, balance − pending holds)
or the set-aside amount (``set_aside``): a pending hold on the payer's
personal account (purpose ``mulaid_set_aside``, reference
``"<payer psn_no>:<relative psn_no>"``, no deadline) that the payer cannot
spend; a bill that uses it posts the hold for the amount used and the rest
is held again by the next hold of the chain. (Before the holds, migration
0011, it was a ledger account of kind ``mulaid_reserve``; money a reversal
of such an older settlement puts back there is folded into the hold.) Across provinces it is always the
set-aside amount; within the payer's province, what the payer's region's
policy says (``mutual_aid.in_province_mode``), or the set-aside amount if
the authorisation itself says so.

Settlement. The wallet names the authorisation it relies on in
``druginfo.mulaid_auth_id`` / ``mulaid_auth_version``. The core refuses
(4010 MULAID_REVOKED) unless its own state has that authorisation active
at that version, and (4013 MULAID_NOT_ALLOWED) unless the relative is the
bill's person, the payer is an active employee (310), the relation is one
the payer's region allows (``mutual_aid.relations``) and the registry
verifies it (services/relations.py). Locks, in the one global order
(core_platform/locks.py): the relative's personal account and the payer's
personal account by owner, then the authorisation row, then the relative's
accumulator, then (set-aside) the hold; the payer's debit is a line of the
settlement's own posting (set-aside: the posting of its hold). The authorisation's annual use is the sum of its standing
settlements of the bill's calendar year (``Settlement.mulaid_year``), so a
reversal gives it back with the money.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import secrets

from django.db.models import Sum
from django.utils import timezone

from common.envelope import Envelope, EnvelopeError, InfCode
from common.fields import FieldError, amount_fen, is_ascii_digits
from common.money import fen_to_amount

from .. import engine
from ..engine.params import MUTUAL_AID_MODES, RELATIONS
from ..enums import (EnrolmentStatus, HoldPurpose, HoldStatus, Insutype, LedgerAccountKind, MutualAidStatus,
                     PostingKind, SettlementStatus)
from ..locks import ledger_accounts_lock
from ..models import (
    Entry,
    FamilyBinding,
    Hold,
    InsuredPerson,
    LedgerAccount,
    MutualAidAuth,
    RegistryChange,
    ResidentContribution,
    Settlement,
)
from ..selectors import policy_current
from .audit import audit_record
from .ledger import (HoldPost, available_fen, fund_owner, hold_create, hold_void, ledger_account_get_or_create,
                     posting_create)
from .relations import RELATION_NAMES, relation_check, relation_find

EVENT_KINDS = ("family.binding_added", "family.binding_ended", "mulaid.authorized", "mulaid.revoked")
_AUTH_ID = re.compile(r"[0-9A-Za-z_.:-]{1,64}", re.ASCII)
_PSN_NO = re.compile(r"[0-9]{20}", re.ASCII)
MAX_CONTRIBUTION_FEN = 1_000_000  # 10 000 yuan: far above any resident contribution


def reserve_owner(payer_psn_no: str, rel_psn_no: str) -> str:
    return f"{payer_psn_no}:{rel_psn_no}"


def _lock_accounts(*accounts: LedgerAccount) -> dict[int, LedgerAccount]:
    """Lock in the global order (own-money accounts by owner first)."""
    return ledger_accounts_lock(a.pk for a in accounts)


# --- the core's state, from wallet events (9201) ------------------------------------------


def _str(payload: dict, name: str, pattern: re.Pattern | None = None, *, required: bool = True) -> str:
    value = payload.get(name)
    if value in (None, "") and not required:
        return ""
    if not isinstance(value, str) or not value or (pattern is not None and not pattern.fullmatch(value)):
        raise ValueError(f"{name} is missing or malformed: {value!r}")
    return value


def _int(payload: dict, name: str, *, nullable: bool = False) -> int | None:
    value = payload.get(name)
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
        raise ValueError(f"{name} must be a non-negative integer{' or null' if nullable else ''}: {value!r}")
    return value


def event_apply(person_key: str, kind: str, payload: dict) -> None:
    """Apply one family / mutual-aid wallet event (called by sync._apply
    inside the event's transaction, after the person's VoucherState row is
    locked). Raises ValueError for a malformed payload (the event is then
    answered ``error`` and nothing is applied)."""
    if not isinstance(payload, dict):
        raise ValueError("payload must be an object")
    if kind == "family.binding_added":
        binding_id = _str(payload, "binding_id", _AUTH_ID)
        relation = _str(payload, "relation")
        if relation not in RELATIONS:
            raise ValueError(f"unknown relation {relation!r}")
        fields = {"binder_psn_no": _str(payload, "binder_psn_no", _PSN_NO),
                  "rel_psn_no": _str(payload, "rel_psn_no", _PSN_NO), "relation": relation,
                  "relation_check": str(payload.get("relation_check") or "")[:10]}
        binding = FamilyBinding.objects.filter(binding_id=binding_id).first()
        if binding is None:
            FamilyBinding.objects.create(binding_id=binding_id, **fields)
        elif binding.status == "active":
            FamilyBinding.objects.filter(pk=binding.pk).update(**fields, updated_at=timezone.now())
    elif kind == "family.binding_ended":
        binding = FamilyBinding.objects.filter(binding_id=_str(payload, "binding_id", _AUTH_ID)).first()
        if binding is None or binding.status == "ended":
            return
        FamilyBinding.objects.filter(pk=binding.pk).update(status="ended", ended_at=timezone.now(),
                                                           updated_at=timezone.now())
        for auth in MutualAidAuth.objects.filter(payer_psn_no=binding.binder_psn_no, rel_psn_no=binding.rel_psn_no,
                                                 status=MutualAidStatus.ACTIVE):
            auth_end(auth.auth_id, MutualAidStatus.ENDED, "亲情账户绑定已解除")
    elif kind == "mulaid.authorized":
        _authorized(payload)
    elif kind == "mulaid.revoked":
        auth_id, version = _str(payload, "auth_id", _AUTH_ID), _int(payload, "version")
        # The wallet sends an ending by itself (binding ended, an enrolment change it saw) as
        # mulaid.revoked too, with its reason: ended, as the wallet holds it; else revoked by the payer.
        reason = str(payload.get("reason") or "")[:40]
        status, text = ((MutualAidStatus.REVOKED, "共济人已撤销授权") if reason in ("", "revoked_by_payer")
                        else (MutualAidStatus.ENDED, f"家庭共济授权已终止（{reason}）"))
        auth = MutualAidAuth.objects.filter(auth_id=auth_id).first()
        if auth is None:  # revoked before the core ever saw it: remember, so an older grant never applies
            MutualAidAuth.objects.create(auth_id=auth_id, version=version, status=status,
                                         payer_psn_no=str(payload.get("payer_psn_no") or "")[:30],
                                         rel_psn_no=str(payload.get("rel_psn_no") or "")[:30],
                                         ended_reason=text)
            return
        if version <= auth.version:
            return
        auth_end(auth_id, status, text, version=version)
    else:
        raise ValueError(f"unknown event kind {kind}")


def _authorized(payload: dict) -> None:
    auth_id, version = _str(payload, "auth_id", _AUTH_ID), _int(payload, "version")
    fields = {
        "payer_psn_no": _str(payload, "payer_psn_no", _PSN_NO), "rel_psn_no": _str(payload, "rel_psn_no", _PSN_NO),
        "relation": _str(payload, "relation"), "mode": _str(payload, "mode", required=False) or "direct",
        "annual_cap_fen": _int(payload, "annual_cap_fen", nullable=True),
        "bill_cap_fen": _int(payload, "bill_cap_fen", nullable=True),
    }
    if fields["relation"] not in RELATIONS:
        raise ValueError(f"unknown relation {fields['relation']!r}")
    if fields["mode"] not in MUTUAL_AID_MODES:
        raise ValueError(f"unknown mode {fields['mode']!r}")
    if fields["payer_psn_no"] == fields["rel_psn_no"]:
        raise ValueError("payer and relative are the same person")
    auth = MutualAidAuth.objects.filter(auth_id=auth_id).first()
    if auth is None:
        MutualAidAuth.objects.create(auth_id=auth_id, version=version, status=MutualAidStatus.ACTIVE, **fields)
        return
    if version <= auth.version:
        return  # an older (or the same) change: the newer one stands
    if auth.payer_psn_no and (auth.payer_psn_no, auth.rel_psn_no) != (fields["payer_psn_no"], fields["rel_psn_no"]):
        raise ValueError("an authorisation cannot change its payer or relative")
    MutualAidAuth.objects.filter(pk=auth.pk).update(version=version, status=MutualAidStatus.ACTIVE, ended_reason="",
                                                    updated_at=timezone.now(), **fields)


def auth_end(auth_id: str, status: str, reason: str, *, version: int | None = None) -> int:
    """Revoke or end an authorisation and release the payer's set-aside
    amount for that relative in full (its hold voided); returns the fen
    released. Locks the payer's accounts first, then the authorisation (the
    global order)."""
    auth = MutualAidAuth.objects.get(auth_id=auth_id)
    personal = ledger_account_get_or_create(LedgerAccountKind.PERSONAL, auth.payer_psn_no)
    reserve = _legacy_reserve(auth.payer_psn_no, auth.rel_psn_no)
    _lock_accounts(personal, *([reserve] if reserve else []))
    auth = MutualAidAuth.objects.select_for_update().get(pk=auth.pk)
    changes = {"status": status, "ended_reason": reason[:200], "updated_at": timezone.now()}
    if version is not None:
        changes["version"] = max(version, auth.version)
    MutualAidAuth.objects.filter(pk=auth.pk).update(**changes)
    returned = _set_aside_release(auth.payer_psn_no, auth.rel_psn_no, reason)
    returned += _reserve_return(auth.payer_psn_no, auth.rel_psn_no, reason)
    audit_record("mulaid.end", auth.payer_psn_no, {"auth_id": auth_id, "status": status, "reason": reason,
                                                    "returned_fen": returned})
    return returned


def set_aside_hold(payer_psn_no: str, rel_psn_no: str) -> Hold | None:
    """The payer's pending set-aside hold for this relative (at most one)."""
    return Hold.objects.filter(purpose=HoldPurpose.MULAID_SET_ASIDE, reference=reserve_owner(payer_psn_no, rel_psn_no),
                               status=HoldStatus.PENDING).first()


def _set_aside_release(payer_psn_no: str, rel_psn_no: str, reason: str) -> int:
    """Void the set-aside hold (the caller holds the payer's account lock)."""
    hold = set_aside_hold(payer_psn_no, rel_psn_no)
    if hold is None or not hold_void(hold, reason=f"共济额度退回：{reason}"):
        return 0
    return hold.amount_fen


def _set_aside_to(personal: LedgerAccount, payer_psn_no: str, rel_psn_no: str, target: int, auth_id: str,
                  reason: str) -> None:
    """The set-aside amount becomes ``target``: the current hold voided and
    a new one placed (the payer's account locked by the caller; what is
    available was checked, hold_create checks it again)."""
    current = set_aside_hold(payer_psn_no, rel_psn_no)
    if current is not None and current.amount_fen == target:
        return
    if current is not None:
        hold_void(current, reason=reason)
    if target > 0:
        hold_create(personal, target, purpose=HoldPurpose.MULAID_SET_ASIDE,
                    reference=reserve_owner(payer_psn_no, rel_psn_no), deadline=None,
                    detail={"auth_id": auth_id}, parent=current)


def _legacy_reserve(payer_psn_no: str, rel_psn_no: str) -> LedgerAccount | None:
    return LedgerAccount.objects.filter(kind=LedgerAccountKind.MULAID_RESERVE,
                                        owner=reserve_owner(payer_psn_no, rel_psn_no)).first()


def _reserve_return(payer_psn_no: str, rel_psn_no: str, reason: str) -> int:
    """Money in a (pre-hold) ``mulaid_reserve`` account back to the payer's
    personal account: only a reversal of a settlement posted before
    migration 0011 puts any there."""
    reserve = _legacy_reserve(payer_psn_no, rel_psn_no)
    if reserve is None:
        return 0
    reserve.refresh_from_db(fields=["balance_fen"])
    if reserve.balance_fen <= 0:
        return 0
    amount = reserve.balance_fen
    personal = ledger_account_get_or_create(LedgerAccountKind.PERSONAL, payer_psn_no)
    posting_create(PostingKind.MULAID_RESERVE, f"MRR{secrets.token_hex(16).upper()}",
                   [(reserve, -amount), (personal, amount)], memo=f"共济额度退回：{reason}"[:200])
    return amount


def enrolment_changed(psn_no: str, reason: str) -> list[str]:
    """Either person's enrolment changed (suspended, terminated, moved
    region, insutype changed): every active authorisation with ``psn_no`` as
    payer or relative ends, its set-aside amount returns to the payer, and
    the payer's change is recorded for the wallet's pull (9302, kind
    ``mulaid_ended``). Called inside the registry change's transaction."""
    ended = []
    auths = MutualAidAuth.objects.filter(status=MutualAidStatus.ACTIVE)
    for auth in list(auths.filter(payer_psn_no=psn_no)) + list(auths.filter(rel_psn_no=psn_no)):
        text = f"{'共济人' if auth.payer_psn_no == psn_no else '被共济人'}参保状态变更：{reason}"
        returned = auth_end(auth.auth_id, MutualAidStatus.ENDED, text)
        RegistryChange.objects.create(psn_no=auth.payer_psn_no, kind="mulaid_ended", data={
            "auth_id": auth.auth_id, "version": auth.version, "rel_psn_no": auth.rel_psn_no, "reason": text,
            "returned": str(fen_to_amount(returned))})
        ended.append(auth.auth_id)
    return ended


# --- 9403 set-aside amount (共济额度) --------------------------------------------------------


def _data(env: Envelope) -> dict:
    data = env.input.get("data")
    if not isinstance(data, dict):
        raise EnvelopeError(InfCode.INPUT_INVALID, "缺少 input.data", msgid=env.msgid)
    return data


def _field(env: Envelope, data: dict, name: str, pattern: re.Pattern, what: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise EnvelopeError(InfCode.INPUT_INVALID, f"{name} 须为{what}", msgid=env.msgid)
    return value


def _insured(env: Envelope, psn_no: str) -> InsuredPerson:
    person = InsuredPerson.objects.filter(psn_no=psn_no).first()
    if person is None:
        raise EnvelopeError(InfCode.PERSON_NOT_FOUND, f"未查询到人员 {psn_no} 的参保信息", msgid=env.msgid)
    return person


def _payer_ok(env: Envelope, payer: InsuredPerson) -> None:
    if payer.insutype != Insutype.EMPLOYEE or payer.enrolment_status != EnrolmentStatus.ACTIVE:
        raise EnvelopeError(InfCode.MULAID_NOT_ALLOWED, "共济人须为正常参保的职工医保参保人（有个人账户）",
                            msgid=env.msgid)


def set_aside(env: Envelope) -> dict:
    """9403: set the payer's set-aside amount for one relative to ``amount``
    (yuan): the set-aside hold on the payer's personal account is replaced
    by one of ``amount`` (0: released). More than what is available plus
    the current amount is refused (个人账户余额不足); an authorisation the core knows as revoked or
    ended is refused (4010); one it has not received yet is accepted (the
    event follows through the outbox)."""
    data = _data(env)
    auth_id = _field(env, data, "auth_id", _AUTH_ID, "1-64位字母、数字或 _.:-")
    payer_no = _field(env, data, "payer_psn_no", _PSN_NO, "20位数字")
    rel_no = _field(env, data, "rel_psn_no", _PSN_NO, "20位数字")
    try:
        target = amount_fen(data.get("amount"), "amount")
    except FieldError as error:
        raise EnvelopeError(InfCode.INPUT_INVALID, error.message, msgid=env.msgid)
    if payer_no == rel_no:
        raise EnvelopeError(InfCode.INPUT_INVALID, "共济人与被共济人不能是同一人", msgid=env.msgid)
    payer = _insured(env, payer_no)
    _insured(env, rel_no)
    personal = ledger_account_get_or_create(LedgerAccountKind.PERSONAL, payer_no)
    personal = _lock_accounts(personal)[personal.pk]
    auth = MutualAidAuth.objects.select_for_update().filter(auth_id=auth_id).first()
    if auth is not None and (auth.payer_psn_no, auth.rel_psn_no) != (payer_no, rel_no):
        raise EnvelopeError(InfCode.INPUT_INVALID, "该授权的共济人或被共济人与请求不符", msgid=env.msgid)
    if auth is not None and auth.status != MutualAidStatus.ACTIVE and target > 0:
        raise EnvelopeError(InfCode.MULAID_REVOKED, "家庭共济授权已撤销或已终止，不能设置共济额度", msgid=env.msgid)
    if target > 0:
        _payer_ok(env, payer)
    available = available_fen(personal, locked=True)
    hold = set_aside_hold(payer_no, rel_no)
    current = hold.amount_fen if hold is not None else 0
    if target - current > available:
        raise EnvelopeError(InfCode.INPUT_INVALID,
                            f"共济额度不能超过个人账户余额与现有额度之和（最多 {fen_to_amount(current + available)} 元）",
                            msgid=env.msgid)
    _set_aside_to(personal, payer_no, rel_no, target, auth_id, f"共济额度设为 {fen_to_amount(target)} 元 {env.msgid}")
    audit_record("mulaid.set_aside", payer_no, {"auth_id": auth_id, "rel_psn_no": rel_no, "from_fen": current,
                                                "to_fen": target})
    return {"mulaid": {"auth_id": auth_id, "payer_psn_no": payer_no, "rel_psn_no": rel_no,
                       "set_aside": fen_to_amount(target),
                       "payer_balc": fen_to_amount(available - (target - current))}}


# --- 9404 / 9405 resident contribution paid by the payer (代缴城乡居民医保) --------------------


def _contribution_output(row: ResidentContribution, payer_balance_fen: int) -> dict:
    return {"contribution": {"clct_id": row.clct_id, "payer_psn_no": row.payer_psn_no, "psn_no": row.psn_no,
                             "year": str(row.year), "amount": fen_to_amount(row.amount_fen), "status": row.status,
                             "paid_on": row.paid_on.isoformat(), "payer_balc": fen_to_amount(payer_balance_fen)}}


def _year(env: Envelope, data: dict) -> int:
    value = data.get("year")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not is_ascii_digits(value, max_length=4) or len(value) != 4:
        raise EnvelopeError(InfCode.INPUT_INVALID, "year 须为4位年份", msgid=env.msgid)
    year, this = int(value), timezone.localdate().year
    if year not in (this, this + 1):
        raise EnvelopeError(InfCode.INPUT_INVALID, f"只能代缴 {this} 或 {this + 1} 年度的城乡居民医保", msgid=env.msgid)
    return year


def contribution_pay(env: Envelope) -> dict:
    """9404: the payer pays a relative's resident-insurance contribution for
    ``year`` from their personal account (to the relative's region's
    resident pooled fund). Idempotent by msgid (the envelope); one standing
    contribution per person and year."""
    data = _data(env)
    payer_no = _field(env, data, "payer_psn_no", _PSN_NO, "20位数字")
    psn_no = _field(env, data, "psn_no", _PSN_NO, "20位数字")
    year = _year(env, data)
    try:
        amount = amount_fen(data.get("amount"), "amount")
    except FieldError as error:
        raise EnvelopeError(InfCode.INPUT_INVALID, error.message, msgid=env.msgid)
    if not 0 < amount <= MAX_CONTRIBUTION_FEN:
        raise EnvelopeError(InfCode.INPUT_INVALID, f"缴费金额须大于0且不超过 {fen_to_amount(MAX_CONTRIBUTION_FEN)} 元",
                            msgid=env.msgid)
    if payer_no == psn_no:
        raise EnvelopeError(InfCode.INPUT_INVALID, "共济人与被代缴人不能是同一人", msgid=env.msgid)
    payer, person = _insured(env, payer_no), _insured(env, psn_no)
    _payer_ok(env, payer)
    if person.insutype != Insutype.RESIDENT or person.enrolment_status == EnrolmentStatus.TERMINATED:
        raise EnvelopeError(InfCode.MULAID_NOT_ALLOWED, "被代缴人须为城乡居民医保参保人（未终止参保）", msgid=env.msgid)
    allowed = _allowed_relations(payer, timezone.localdate())
    relation = relation_find(payer_no, psn_no)
    if relation is None or relation not in allowed:
        raise EnvelopeError(InfCode.MULAID_NOT_ALLOWED,
                            "登记信息未核实二人为共济人参保地允许的近亲属，不能代缴" if relation is None else
                            f"共济人参保地不允许为{RELATION_NAMES[relation]}代缴", msgid=env.msgid)
    if ResidentContribution.objects.filter(psn_no=psn_no, year=year, status="paid").exists():
        raise EnvelopeError(InfCode.INPUT_INVALID, f"该人员 {year} 年度城乡居民医保已代缴", msgid=env.msgid)
    now = timezone.localtime()
    clct_id = f"C{now:%Y%m%d%H%M%S}{secrets.token_hex(6).upper()}"
    personal = ledger_account_get_or_create(LedgerAccountKind.PERSONAL, payer_no)
    fund = ledger_account_get_or_create(LedgerAccountKind.POOLED_FUND, fund_owner(person.insured_region, person.insutype))
    posting = posting_create(PostingKind.RESIDENT_CONTRIBUTION, clct_id, [(personal, -amount), (fund, amount)],
                             memo=f"代缴 {psn_no} {year} 年度城乡居民医保 {env.msgid}")
    row = ResidentContribution.objects.create(clct_id=clct_id, msgid=env.msgid, payer_psn_no=payer_no, psn_no=psn_no,
                                              year=year, amount_fen=amount, paid_on=now.date(), posting=posting)
    personal.refresh_from_db(fields=["balance_fen", "held_fen"])
    return _contribution_output(row, available_fen(personal, locked=False))


def contribution_reverse(env: Envelope) -> dict:
    """9405: reverse a contribution the same day it was paid (a compensating
    posting); later days are refused (4014)."""
    data = _data(env)
    clct_id = _field(env, data, "clct_id", re.compile(r"C[0-9A-F]{26}", re.ASCII), "9404 返回的 clct_id")
    row = ResidentContribution.objects.filter(clct_id=clct_id).first()
    if row is None or (data.get("payer_psn_no") not in (None, "", row.payer_psn_no)):
        raise EnvelopeError(InfCode.SETTLEMENT_NOT_FOUND, "未找到该代缴记录", msgid=env.msgid)
    row = ResidentContribution.objects.select_for_update().get(pk=row.pk)
    if row.status != "paid":
        raise EnvelopeError(InfCode.ALREADY_REVERSED, "该代缴已撤销", msgid=env.msgid)
    if row.paid_on != timezone.localdate():
        raise EnvelopeError(InfCode.CONTRIBUTION_NOT_REVERSIBLE, "代缴城乡居民医保只能在缴费当日撤销", msgid=env.msgid)
    entries = list(row.posting.entries.select_related("account"))
    posting = posting_create(PostingKind.REVERSAL, f"R{row.clct_id}", [(e.account, -e.amount_fen) for e in entries],
                             memo=f"reverses {row.clct_id} {env.msgid}")
    ResidentContribution.objects.filter(pk=row.pk).update(status="reversed", reversal_posting=posting,
                                                          reversed_at=timezone.now())
    row.refresh_from_db()
    personal = ledger_account_get_or_create(LedgerAccountKind.PERSONAL, row.payer_psn_no)
    return _contribution_output(row, available_fen(personal, locked=False))


# --- settlement (2101 / 2102) ------------------------------------------------------------


@dataclasses.dataclass
class SettlementAid:
    """What services/settle.py needs of the mutual aid for one bill."""

    auth: MutualAidAuth
    payer: InsuredPerson
    mode: str  # direct / set_aside
    account: LedgerAccount  # the payer's personal account
    year: int
    used_fen: int  # this year's use of the authorisation before this bill
    aid: engine.MutualAid
    pay_limit_fen: int | None = None  # druginfo.mulaid_pay_limit: above it the payer confirms first (4008)
    hold: Hold | None = None  # set_aside: the set-aside hold the bill uses


def _allowed_relations(payer: InsuredPerson, on: dt.date) -> frozenset[str]:
    policy = policy_current(payer.insured_region, payer.insutype, on)
    if policy is None:
        return frozenset(RELATIONS)
    return engine.parse_params(policy.params).mutual_aid_relations


def _mode(payer: InsuredPerson, relative: InsuredPerson, auth: MutualAidAuth, on: dt.date) -> str:
    if payer.insured_region[:2] != relative.insured_region[:2] or auth.mode == "set_aside":
        return "set_aside"
    policy = policy_current(payer.insured_region, payer.insutype, on)
    return engine.parse_params(policy.params).mutual_aid_in_province_mode if policy else "direct"


def _refuse(env: Envelope, code: InfCode, message: str):
    raise EnvelopeError(code, message, msgid=env.msgid)


def settlement_prepare(env: Envelope, bill, *, lock: bool) -> SettlementAid | None:
    """The mutual aid of ``bill``: None without ``mulaid_auth_id`` in
    druginfo; else the checked authorisation and the payer's money (locked
    when ``lock``, before the relative's accumulator), or a refusal."""
    druginfo = env.input.get("druginfo") or {}
    auth_id, version = druginfo.get("mulaid_auth_id"), druginfo.get("mulaid_auth_version")
    if auth_id in (None, ""):
        return None
    limit = druginfo.get("mulaid_pay_limit")
    pay_limit = None
    if limit not in (None, ""):
        try:
            pay_limit = amount_fen(limit, "mulaid_pay_limit")
        except FieldError as error:
            _refuse(env, InfCode.INPUT_INVALID, error.message)
    if not isinstance(auth_id, str) or not _AUTH_ID.fullmatch(auth_id):
        _refuse(env, InfCode.INPUT_INVALID, "mulaid_auth_id 须为1-64位字母、数字或 _.:-")
    if isinstance(version, str) and is_ascii_digits(version, max_length=18):
        version = int(version)
    if isinstance(version, bool) or not isinstance(version, int) or version <= 0:
        _refuse(env, InfCode.INPUT_INVALID, "mulaid_auth_version 须为正整数")
    relative = bill.person
    auth = MutualAidAuth.objects.filter(auth_id=auth_id).first()
    if auth is None:
        _refuse(env, InfCode.MULAID_REVOKED, "结算中心未查到该家庭共济授权（可能尚未同步），本次不能使用共济支付")
    if auth.rel_psn_no != relative.psn_no:
        _refuse(env, InfCode.MULAID_NOT_ALLOWED, "该家庭共济授权不是本次结算人员的")
    payer = InsuredPerson.objects.filter(psn_no=auth.payer_psn_no).first()
    if payer is None:
        _refuse(env, InfCode.MULAID_NOT_ALLOWED, "未查询到共济人的参保信息")
    mode = _mode(payer, relative, auth, bill.bill_date)
    account = ledger_account_get_or_create(LedgerAccountKind.PERSONAL, payer.psn_no)
    if lock:
        own = ledger_account_get_or_create(LedgerAccountKind.PERSONAL, relative.psn_no)
        account = _lock_accounts(own, account)[account.pk]
        auth = MutualAidAuth.objects.select_for_update().get(pk=auth.pk)
    if auth.status != MutualAidStatus.ACTIVE or auth.version != version:
        _refuse(env, InfCode.MULAID_REVOKED, "家庭共济授权已撤销或已变更，本次不能使用共济支付")
    if payer.insutype != Insutype.EMPLOYEE or payer.enrolment_status != EnrolmentStatus.ACTIVE:
        _refuse(env, InfCode.MULAID_NOT_ALLOWED, "共济人不是正常参保的职工医保参保人，不能使用共济支付")
    if auth.relation not in _allowed_relations(payer, bill.bill_date):
        _refuse(env, InfCode.MULAID_NOT_ALLOWED,
                f"共济人参保地不允许{RELATION_NAMES.get(auth.relation, auth.relation)}使用家庭共济")
    if not relation_check(payer.psn_no, relative.psn_no, auth.relation)[0]:
        _refuse(env, InfCode.MULAID_NOT_ALLOWED, "亲属关系未经户籍或婚姻、亲子登记核实，不能使用家庭共济")
    year = bill.bill_date.year
    used = Settlement.objects.filter(mulaid_auth_id=auth.auth_id, mulaid_year=year,
                                     status=SettlementStatus.SETTLED).aggregate(s=Sum("mulaid_fen"))["s"] or 0
    annual_left = None if auth.annual_cap_fen is None else max(0, auth.annual_cap_fen - used)
    hold = None
    if mode == "set_aside":  # the set-aside hold (read under the payer's account lock at 2102)
        hold = set_aside_hold(payer.psn_no, relative.psn_no)
        available = hold.amount_fen if hold is not None else 0
    else:
        available = available_fen(account, locked=lock)
    return SettlementAid(auth=auth, payer=payer, mode=mode, account=account, year=year, used_fen=used,
                         aid=engine.MutualAid(available_fen=available, bill_cap_fen=auth.bill_cap_fen,
                                              annual_left_fen=annual_left), pay_limit_fen=pay_limit, hold=hold)


def confirmation_required(aid: SettlementAid | None, result) -> bool:
    """The wallet's one-call settle (2102 with ``mulaid_pay_limit``, the
    payer's ``confirm_above``): a mutual-aid part above it needs the payer's
    own confirmation first — 4008 like ``acct_pay_limit``, nothing posted."""
    return aid is not None and aid.pay_limit_fen is not None and result.acct_mulaid_pay > aid.pay_limit_fen


def posting_lines(aid: SettlementAid | None, result) -> list:
    """The payer's debit, a line of the settlement's own posting (direct
    mode; a set-aside amount is debited by posting its hold)."""
    if aid is None or not result.acct_mulaid_pay or aid.hold is not None:
        return []
    return [(aid.account, -result.acct_mulaid_pay)]


def posting_holds(aid: SettlementAid | None, result) -> list[HoldPost]:
    """A set-aside amount used: its hold posted for the amount used, in the
    settlement's own posting; the rest stays set aside (a new hold)."""
    if aid is None or not result.acct_mulaid_pay or aid.hold is None:
        return []
    return [HoldPost(aid.hold, result.acct_mulaid_pay, keep_rest=True)]


def settlement_fields(aid: SettlementAid | None, result) -> dict:
    if aid is None or not result.acct_mulaid_pay:
        return {}
    return {"mulaid_payer_psn_no": aid.payer.psn_no, "mulaid_auth_id": aid.auth.auth_id, "mulaid_year": aid.year}


def setlinfo_fields(aid: SettlementAid | None, result) -> dict:
    """Ours in setlinfo: who paid acct_mulaid_pay, and (when one is used)
    the payer's account or set-aside amount and the annual cap left after
    this bill ("" without a cap)."""
    if aid is None:
        return {"mulaid_payer_psn_no": ""}
    pay = result.acct_mulaid_pay
    left = aid.aid.annual_left_fen
    return {"mulaid_payer_psn_no": aid.payer.psn_no if pay else "", "mulaid_auth_id": aid.auth.auth_id,
            "mulaid_mode": aid.mode, "mulaid_payer_balc": fen_to_amount(aid.aid.available_fen - pay),
            "mulaid_annual_left": "" if left is None else fen_to_amount(left - pay)}


def explanation(aid: SettlementAid | None, result) -> list[str]:
    if aid is None or not result.acct_mulaid_pay:
        return []
    source = "共济额度" if aid.mode == "set_aside" else "个人账户"
    relation = RELATION_NAMES.get(aid.auth.relation, aid.auth.relation)
    return [f"共济支付{fen_to_amount(result.acct_mulaid_pay)}元来自共济人（{relation}关系）的{source}。"]


def after_reversal(settlement: Settlement) -> int:
    """A reversed settlement gave the payer back what it took from a
    set-aside amount: while the authorisation is active that money is set
    aside again (the hold raised by it); once it has ended it simply stays
    in the payer's account. Money a reversal of a pre-hold settlement put in
    the old ``mulaid_reserve`` account goes back to the personal account
    first. Returns the fen that went back to the payer's spendable balance."""
    if not settlement.mulaid_auth_id:
        return 0
    auth = MutualAidAuth.objects.select_for_update().filter(auth_id=settlement.mulaid_auth_id).first()
    if auth is None:
        return 0
    back = _reserve_return(auth.payer_psn_no, auth.rel_psn_no, "撤销结算退回的共济额度")
    if settlement.mulaid_fen and (settlement.setlinfo or {}).get("mulaid_mode") == "set_aside" and Entry.objects.filter(
            posting_id=settlement.posting_id, account__kind=LedgerAccountKind.PERSONAL,
            account__owner=auth.payer_psn_no).exists():
        back += settlement.mulaid_fen  # posted from the set-aside hold: now in the payer's personal account
    if not back or auth.status != MutualAidStatus.ACTIVE:
        return back
    personal = ledger_account_get_or_create(LedgerAccountKind.PERSONAL, auth.payer_psn_no)
    personal = _lock_accounts(personal)[personal.pk]
    current = set_aside_hold(auth.payer_psn_no, auth.rel_psn_no)
    target = (current.amount_fen if current is not None else 0) + back
    _set_aside_to(personal, auth.payer_psn_no, auth.rel_psn_no, target, auth.auth_id,
                  f"撤销结算 {settlement.setl_id}，共济额度恢复")
    return 0
