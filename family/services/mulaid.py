"""Family mutual aid (家庭共济): an employee's authorisation for a bound
relative to use the employee's personal account, its caps, the set-aside
amount (共济额度, core 9403), revocation, ending by itself, the pay path's
hooks (wallet/hooks.py) and the resident contribution paid for a relative
(core 9404 / 9405).

Rules, states and the money path: docs/subsystems/family.md ("Mutual aid").

Ordering with payments. The pay path asks ``mulaid_ticket`` after the
payment is ``submitted`` and before the 2102 is sent; it reads the
authorisation under its row lock and writes the use in that transaction. A
revocation (or an ending) changes the row under the same lock, bumps the
version and enqueues ``mulaid.revoked`` in its transaction. So a payment
either recorded its use before the revocation committed (then the
revocation waits for that payment's outcome before it answers, and the core
refuses it if the revocation reached the core first: the version differs),
or it sees the revocation and sends no authorisation at all (the core then
pays nothing from the payer's account). Never paid after revocation."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import secrets
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from accounts.enums import AuditOutcome
from accounts.selectors import person_id_for_psn_no
from accounts.services import audit_record
from accounts.services.activation import login_actor
from common.errors import ApplicationError
from common.fields import FieldError, amount_fen
from common.money import fen_to_amount, fen_to_yuan, yuan_to_fen
from settlement.client import core_client
from settlement.errors import CoreError, CoreRefused
from settlement.selectors import policy_params_current
from settlement.services.delivery import outbox_event_sent
from settlement.services.outbox import outbox_enqueue
from payments.enums import PaymentStatus
from wallet.hooks import MulaidTicket
from payments.selectors import payments_by_public_id
from wallet.selectors import voucher_get, voucher_usable_by
from wallet.services.balance import balance_get
from payments.services.confirmation import payment_payer_confirmed, payment_payer_declined
from payments.services.journal import payment_expired
from wallet.services.pin import pin_verify
from wallet.services.push import voucher_push

from family.enums import (
    EVENT_MULAID_AUTHORIZED,
    EVENT_MULAID_REVOKED,
    ContributionStatus,
    MutualAidMode,
    MutualAidStatus,
    MutualAidUseStatus,
    Relation,
    RelationCheck,
)
from family.models import Binding, Contribution, MutualAid, MutualAidUse
from family.services.bindings import binding_active_of_binder, binding_of_binder, relation_check

logger = logging.getLogger(__name__)

EMPLOYEE = "310"
RESIDENT = "390"
# The 2024 national 近亲属 scope; a region's policy params may allow fewer.
NATIONAL_RELATIONS = frozenset(Relation.values)
IN_FLIGHT = (PaymentStatus.SUBMITTED, PaymentStatus.UNKNOWN)


def _err(code: str, message: str, status: int = 400, **detail) -> ApplicationError:
    return ApplicationError(code, message, status=status, detail=detail or None)


def _not_found() -> ApplicationError:
    return _err("MULAID_NOT_FOUND", "未找到该亲属的家庭共济授权", status=404)


# --- the region's rules ----------------------------------------------------------------

def region_rules(region: str, insutype: str = EMPLOYEE) -> tuple[frozenset[str], str]:
    """(relations allowed, in-province mode) of the PAYER's region, from the
    policy parameters pulled from the core (9303, ``mutual_aid``); the
    national scope and direct use where the region says nothing."""
    params = policy_params_current(region, insutype) or {}
    rules = params.get("mutual_aid") if isinstance(params, dict) else None
    if not isinstance(rules, dict):
        return NATIONAL_RELATIONS, MutualAidMode.DIRECT
    relations = rules.get("relations")
    mode = rules.get("in_province_mode")
    return (frozenset(r for r in relations if r in NATIONAL_RELATIONS) if isinstance(relations, list)
            else NATIONAL_RELATIONS,
            mode if mode in MutualAidMode.values else MutualAidMode.DIRECT)


def modes_allowed(payer, beneficiary) -> tuple[str, ...]:
    """Across provinces only the set-aside amount (2026 national model);
    within the province the region's mode."""
    if payer.insured_region[:2] != beneficiary.insured_region[:2]:
        return (MutualAidMode.SET_ASIDE,)
    return (region_rules(payer.insured_region)[1],)


# --- checks ------------------------------------------------------------------------------

def _payer_checked(login, binding: Binding):
    payer = binding.binder
    if not voucher_usable_by(login, voucher_get(payer)):
        raise _err("NOT_ACTIVATED", "请先在本渠道激活您本人的医保电子凭证", status=403)
    if payer.insutype != EMPLOYEE or payer.enrolment_status != "active":
        raise _err("MULAID_PAYER_NOT_EMPLOYEE", "只有参加职工基本医疗保险且参保状态正常的人员可以授权家庭共济", status=403)
    return payer


def _beneficiary_checked(binding: Binding):
    relative = binding.relative
    if relative.enrolment_status != "active":
        raise _err("PERSON_NOT_INSURED", "该亲属当前未正常参保，暂不能使用家庭共济", status=409)
    return relative


def _relation_checked(binding: Binding, payer) -> None:
    allowed, _ = region_rules(payer.insured_region)
    if binding.relation not in allowed:
        names = "、".join(Relation(r).label for r in Relation.values if r in allowed)
        raise _err("MULAID_RELATION_NOT_ALLOWED", f"您参保地的家庭共济范围为：{names}；{Relation(binding.relation).label}不在范围内",
                   status=409, allowed=sorted(allowed))
    if binding.relation_check == RelationCheck.PENDING:  # ask again now (network, outside transactions)
        check, basis = relation_check(payer.psn_no, binding.relative.psn_no, binding.relation)
        if check != RelationCheck.PENDING:
            Binding.objects.filter(pk=binding.pk, relation_check=RelationCheck.PENDING).update(
                relation_check=check, relation_basis=basis, relation_checked_at=timezone.now())
            binding.relation_check = check
    if binding.relation_check != RelationCheck.VERIFIED:
        raise _err("MULAID_RELATION_UNVERIFIED",
                   "户籍或婚姻登记信息尚未核验你们的亲属关系，暂不能授权家庭共济；请稍后重试或到医保经办机构办理", status=409,
                   relation_check=binding.relation_check)


def _amount(value, name: str, label: str, *, nullable: bool = True) -> int | None:
    if value is None and nullable:
        return None
    try:
        fen = amount_fen(value, label, allow_negative=True)
    except FieldError as error:
        raise _err("MULAID_CAP_INVALID", error.message, field=name)
    if fen < 0:
        raise _err("MULAID_CAP_INVALID", f"{label}不能小于0", field=name)
    return fen


FIELDS = {"annual_cap": "年度共济限额", "bill_cap": "单笔共济限额", "confirm_above": "需确认金额", "set_aside": "共济额度"}


def _terms(payer, beneficiary, data: dict, current: MutualAid | None) -> dict:
    """The authorisation's terms after ``data`` (only the keys given change)."""
    terms = {} if current is None else {
        "annual_cap": current.annual_cap_fen, "bill_cap": current.bill_cap_fen,
        "confirm_above": current.confirm_above_fen, "set_aside": current.set_aside_fen, "mode": current.mode}
    for name, label in FIELDS.items():
        if name in data:
            terms[name] = _amount(data[name], name, label)
        terms.setdefault(name, None)
    allowed = modes_allowed(payer, beneficiary)
    mode = data.get("mode") or terms.get("mode") or allowed[0]
    if mode not in MutualAidMode.values:
        raise _err("VALIDATION_ERROR", "共济方式须为 direct 或 set_aside", fields={"mode": ["无效的选项"]})
    if mode not in allowed:
        raise _err("MULAID_MODE_NOT_ALLOWED", "跨省或按参保地规定，只能以划定共济额度的方式为该亲属共济" if allowed[0] == "set_aside"
                   else "您参保地规定家庭共济直接使用个人账户，不能划定共济额度", status=409, allowed=list(allowed))
    terms["mode"] = mode
    terms["set_aside"] = terms["set_aside"] or 0
    if mode == MutualAidMode.SET_ASIDE and terms["set_aside"] <= 0:
        raise _err("MULAID_CAP_INVALID", "请填写为该亲属划定的共济额度（大于0元）", field="set_aside")
    if mode == MutualAidMode.DIRECT:
        terms["set_aside"] = 0
    if terms["annual_cap"] is not None and terms["bill_cap"] is not None and terms["bill_cap"] > terms["annual_cap"]:
        raise _err("MULAID_CAP_INVALID", "单笔共济限额不能大于年度共济限额", field="bill_cap")
    balance = balance_get(payer)["balance_fen"]
    if balance is not None:
        # The set-aside amount already frozen for this relative counts as the payer's too.
        available = balance + (current.set_aside_fen if current is not None else 0)
        for name in ("annual_cap", "bill_cap", "set_aside"):
            if terms[name] is not None and terms[name] > available:
                raise _err("MULAID_CAP_INVALID", f"{FIELDS[name]}不能超过您的个人账户余额（{fen_to_yuan(available)}元）",
                           field=name, balance=fen_to_yuan(available))
    return terms


# --- the set-aside amount (9403) -------------------------------------------------------

def _set_aside(auth_id: str, payer, beneficiary, amount: int, version: int) -> int:
    """Ask the core to hold ``amount`` for this relative (synchronous,
    idempotent by msgid). Returns what the core holds."""
    msgid = "MA" + hashlib.sha256(f"{auth_id}\x1f{version}\x1f{amount}".encode()).hexdigest()[:28].upper()
    try:
        output = core_client().call("9403", {"data": {"auth_id": auth_id, "payer_psn_no": payer.psn_no,
                                                      "rel_psn_no": beneficiary.psn_no,
                                                      "amount": fen_to_amount(amount)}}, msgid=msgid)
    except CoreRefused as refused:
        raise _err("MULAID_CAP_INVALID", f"共济额度未能划定：{refused.err_msg}", field="set_aside",
                   infcode=refused.infcode)
    except CoreError:
        raise _err("CORE_UNAVAILABLE", "医保结算平台暂时无法访问，共济额度需要实时划定，请稍后重试", status=503)
    return yuan_to_fen((output.get("mulaid") or {}).get("set_aside", fen_to_amount(amount)), "set_aside")


# --- authorise, change, revoke ----------------------------------------------------------

def _event_authorized(auth: MutualAid) -> None:
    outbox_enqueue(kind=EVENT_MULAID_AUTHORIZED, person_key=auth.payer.psn_no, payload={
        "auth_id": auth.public_id, "version": auth.version, "payer_psn_no": auth.payer.psn_no,
        "rel_psn_no": auth.beneficiary.psn_no, "relation": auth.binding.relation, "mode": auth.mode,
        "annual_cap_fen": auth.annual_cap_fen, "bill_cap_fen": auth.bill_cap_fen})


def _audit(action: str, login, auth: MutualAid, ip, detail: dict | None = None) -> None:
    audit_record(action=action, outcome=AuditOutcome.SUCCESS, actor=login_actor(login) if login else "system",
                 person=auth.payer, channel=login.channel if login else "", ip=ip,
                 detail={"auth_id": auth.public_id, "version": auth.version, "binding_id": auth.binding.public_id,
                         "beneficiary_psn_no": auth.beneficiary.psn_no, **(detail or {})})


def _request_hash(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def mulaid_authorize(*, login, binding_id: str, data: dict, idempotency_key: str = "",
                     ip: str | None = None) -> MutualAid:
    """The payer (the binder) authorises the bound relative. A replay with the
    same Idempotency-Key and body returns the first authorisation."""
    binding = binding_active_of_binder(login, binding_id)
    digest = _request_hash({"binding": binding.public_id, **data})
    if idempotency_key:
        earlier = MutualAid.objects.filter(payer=binding.binder, idempotency_key=idempotency_key).first()
        if earlier is not None:
            if earlier.request_hash != digest:
                raise _err("IDEMPOTENCY_KEY_REUSED", "该请求标识已用于另一次授权，请刷新后重试", status=409)
            return earlier
    payer = _payer_checked(login, binding)
    beneficiary = _beneficiary_checked(binding)
    _relation_checked(binding, payer)
    if MutualAid.objects.filter(binding=binding, status=MutualAidStatus.ACTIVE).exists():
        raise _err("MULAID_ALREADY_AUTHORIZED", "已为该亲属授权家庭共济，如需调整请修改授权", status=409)
    terms = _terms(payer, beneficiary, data, None)
    public_id = f"ma{secrets.token_hex(11)}"
    held = 0
    if terms["mode"] == MutualAidMode.SET_ASIDE:
        held = _set_aside(public_id, payer, beneficiary, terms["set_aside"], 1)  # network: before the transaction
    try:
        with transaction.atomic():
            auth = MutualAid.objects.create(
                public_id=public_id, binding=binding, payer=payer, beneficiary=beneficiary, mode=terms["mode"],
                annual_cap_fen=terms["annual_cap"], bill_cap_fen=terms["bill_cap"],
                confirm_above_fen=terms["confirm_above"], set_aside_fen=held, version=1,
                idempotency_key=idempotency_key, request_hash=digest if idempotency_key else "")
            _event_authorized(auth)
            _audit("mulaid.authorize", login, auth, ip, {"mode": auth.mode, "annual_cap_fen": auth.annual_cap_fen,
                                                         "bill_cap_fen": auth.bill_cap_fen, "set_aside_fen": held})
    except IntegrityError:
        if held:
            _release_quietly(public_id, payer, beneficiary)
        raise _err("MULAID_ALREADY_AUTHORIZED", "已为该亲属授权家庭共济，如需调整请修改授权", status=409)
    return auth


def _release_quietly(auth_id: str, payer, beneficiary) -> None:
    try:
        _set_aside(auth_id, payer, beneficiary, 0, 0)
    except ApplicationError:
        logger.warning("set-aside of %s not released; the core releases it with mulaid.revoked", auth_id)


def _active_of(login, binding_id: str) -> MutualAid:
    binding = binding_of_binder(login, binding_id)
    auth = (MutualAid.objects.select_related("binding", "payer", "beneficiary")
            .filter(binding=binding, status=MutualAidStatus.ACTIVE).first())
    if auth is None:
        raise _not_found()
    return auth


def mulaid_of_binding(login, binding_id: str) -> MutualAid:
    """The binding's current authorisation (the active one, else the latest)."""
    binding = binding_of_binder(login, binding_id)
    auth = (MutualAid.objects.select_related("binding", "payer", "beneficiary").filter(binding=binding)
            .order_by(F("ended_at").desc(nulls_first=True), "-pk").first())
    if auth is None:
        raise _not_found()
    return auth


def _locked(pk: int) -> MutualAid:
    """Inside a transaction: the authorisation's row, locked (an UPDATE first,
    so SQLite's writer lock is taken too)."""
    MutualAid.objects.filter(pk=pk).update(version=F("version"))
    return MutualAid.objects.select_for_update().select_related("binding", "payer", "beneficiary").get(pk=pk)


def mulaid_update(*, login, binding_id: str, data: dict, ip: str | None = None) -> MutualAid:
    """Change caps, the confirmation amount, the mode or the set-aside amount:
    a new version (the core replaces the old one by the newer version)."""
    auth = _active_of(login, binding_id)
    payer = _payer_checked(login, auth.binding)
    _beneficiary_checked(auth.binding)
    terms = _terms(payer, auth.beneficiary, data, auth)
    held = auth.set_aside_fen
    if terms["set_aside"] != auth.set_aside_fen:
        held = _set_aside(auth.public_id, payer, auth.beneficiary, terms["set_aside"], auth.version + 1)
    with transaction.atomic():
        locked = _locked(auth.pk)
        if locked.status != MutualAidStatus.ACTIVE:
            raise _err("MULAID_REVOKED", "该家庭共济授权已撤销或已终止", status=409)
        locked.mode, locked.annual_cap_fen, locked.bill_cap_fen = terms["mode"], terms["annual_cap"], terms["bill_cap"]
        locked.confirm_above_fen, locked.set_aside_fen = terms["confirm_above"], held
        locked.version += 1
        locked.save()
        _event_authorized(locked)
        _audit("mulaid.update", login, locked, ip, {"changed": sorted(data)})
    return locked


def _stop(auth: MutualAid, status: str, reason: str, *, tell_core: bool = True) -> None:
    """Inside a transaction, the row locked: revoked / ended, a new version,
    the core told — unless the core ended it itself (``tell_core`` False:
    the version stays the core's)."""
    auth.status, auth.ended_reason, auth.ended_at = status, reason[:40], timezone.now()
    if not tell_core:
        auth.save()
        return
    auth.version += 1
    auth.save()
    outbox_enqueue(kind=EVENT_MULAID_REVOKED, person_key=auth.payer.psn_no,
                   payload={"auth_id": auth.public_id, "version": auth.version, "reason": reason[:40],
                            "payer_psn_no": auth.payer.psn_no, "rel_psn_no": auth.beneficiary.psn_no})


def mulaid_revoke(*, login, binding_id: str, ip: str | None = None, wait: bool = True) -> MutualAid:
    """The payer revokes. No settlement after this returns uses it: payments
    that recorded their use before the revocation committed are waited for
    (MULAID_REVOKE_WAIT_SECONDS) so that the answer comes after them."""
    auth = _active_of(login, binding_id)
    with transaction.atomic():
        locked = _locked(auth.pk)
        if locked.status != MutualAidStatus.ACTIVE:
            raise _err("MULAID_REVOKED", "该家庭共济授权已撤销或已终止", status=409)
        _stop(locked, MutualAidStatus.REVOKED, "revoked_by_payer")
        _audit("mulaid.revoke", login, locked, ip)
    if wait:
        uses_settle_wait(locked)
    return locked


def uses_settle_wait(auth: MutualAid, timeout: float | None = None) -> list[str]:
    """Wait until the payments that carried this authorisation to the core
    have an outcome; returns the ones still open when the time ran out."""
    deadline = time.monotonic() + (settings.MULAID_REVOKE_WAIT_SECONDS if timeout is None else timeout)
    while True:
        sending = list(MutualAidUse.objects.filter(authorisation=auth, status=MutualAidUseStatus.SENDING)
                       .values_list("payment_id", flat=True))
        payments = payments_by_public_id(sending)
        open_ = [pid for pid in sending if pid in payments and payments[pid].status in IN_FLIGHT]
        if not open_ or time.monotonic() >= deadline:
            return open_
        time.sleep(0.05)


def _end_all(rows, reason: str, *, tell_core: bool = True, detail: dict | None = None) -> int:
    ended = 0
    for pk in rows.filter(status=MutualAidStatus.ACTIVE).values_list("pk", flat=True):
        locked = _locked(pk)
        if locked.status == MutualAidStatus.ACTIVE:
            _stop(locked, MutualAidStatus.ENDED, reason, tell_core=tell_core)
            _audit("mulaid.end", None, locked, None, {"reason": reason, **(detail or {})})
            ended += 1
    return ended


def mulaid_binding_ended(binding: Binding) -> None:
    """bindings.binding_end_listeners: inside the ending transaction."""
    _end_all(MutualAid.objects.filter(binding=binding), "binding_ended")


def mulaid_registry_changed(psn_no: str, kind: str, data: dict) -> None:
    """settlement's registry_change_listeners (9302 pulled, accounts applied
    it): an enrolment that stops being active, a move of region or a change
    of insutype of either person ends every authorisation they are in."""
    if kind == "enrolment_status":
        if data.get("to") == "active":
            return
        reason = f"enrolment_{data.get('to', 'changed')}"
    elif kind == "moved":
        reason = "moved_region" if "insured_region" in data else "insutype_changed"
    elif kind == "mulaid_ended":
        # The core ended it itself (an enrolment change it saw first; the set-aside
        # amount already returned there): end ours the same, without telling the core back.
        auth_id = data.get("auth_id")
        if not isinstance(auth_id, str) or not auth_id:
            return
        _end_all(MutualAid.objects.filter(public_id=auth_id, payer__psn_no=psn_no), "ended_at_core",
                 tell_core=False, detail={"core_reason": str(data.get("reason") or "")[:200],
                                          "returned": str(data.get("returned") or "")})
        return
    else:
        return
    person_id = person_id_for_psn_no(psn_no)
    if person_id is None:
        return
    _end_all(MutualAid.objects.filter(Q(payer_id=person_id) | Q(beneficiary_id=person_id)), reason)


# --- the pay path (wallet/hooks.py) ---------------------------------------------------

def _ticket(auth: MutualAid) -> MulaidTicket:
    return MulaidTicket(auth_id=auth.public_id, version=auth.version, confirm_above_fen=auth.confirm_above_fen)


NOT_DELIVERED = "家庭共济授权尚未同步到医保结算平台，本次未使用共济支付（由本人个人账户和现金支付）"


def mulaid_ticket(person_id: int, payment_id: str | None, *, first_send: bool = False) -> MulaidTicket | None:
    """The relative's active authorisation (the oldest if several payers
    authorised them), checked under its row lock; with ``payment_id`` the use
    is recorded in the same transaction. Then (outside the lock) the core
    must hold this version: its ``mulaid.authorized`` event is relayed now
    if a worker has not yet (bounded, MULAID_DELIVER_WAIT_SECONDS); if it
    still cannot be, the ticket comes back ``withheld`` (the settle goes
    without mutual aid and says why) rather than letting the core refuse
    (4010) a payment over the wallet's own undelivered event. ``first_send``:
    the payment was never sent before, so it has no earlier use (without an
    authorisation: one read, no transaction — the pay path's common case)."""
    first = (MutualAid.objects.filter(beneficiary_id=person_id, status=MutualAidStatus.ACTIVE)
             .order_by("created_at", "pk").first())
    if payment_id is None:
        return _delivered(first, None) if first is not None else None
    if first is None and first_send:
        return None
    with transaction.atomic():
        use = MutualAidUse.objects.filter(payment_id=payment_id).first()
        if use is not None:  # sent before (not reached, or confirmed since): the same authorisation, same version
            auth = _locked(use.authorisation_id)
            if (use.status == MutualAidUseStatus.SENDING and auth.status == MutualAidStatus.ACTIVE
                    and auth.version == use.version):
                return _ticket(auth)  # delivered when it was first sent
            MutualAidUse.objects.filter(pk=use.pk, status=MutualAidUseStatus.SENDING).update(
                status=MutualAidUseStatus.NOT_USED)
            return None
        if first is None:
            return None
        auth = _locked(first.pk)
        if auth.status != MutualAidStatus.ACTIVE:
            return None  # revoked a moment ago
        MutualAidUse.objects.create(authorisation=auth, payment_id=payment_id, version=auth.version)
    return _delivered(auth, payment_id)


def _delivered(auth: MutualAid, payment_id: str | None) -> MulaidTicket:
    """The ticket, once the core has this version of the authorisation;
    withheld (and the use not_used) when it cannot get there in time."""
    if outbox_event_sent(person_key=auth.payer.psn_no, kind=EVENT_MULAID_AUTHORIZED,
                         match={"auth_id": auth.public_id, "version": auth.version},
                         budget_seconds=settings.MULAID_DELIVER_WAIT_SECONDS):
        return _ticket(auth)
    logger.warning("mutual aid %s v%s not delivered to the core: settling without it", auth.public_id, auth.version)
    if payment_id is not None:
        mulaid_not_used(payment_id)
    return dataclasses.replace(_ticket(auth), withheld=NOT_DELIVERED)


def mulaid_not_used(payment_id: str) -> None:
    """The payment goes (or went) to the core without this authorisation."""
    MutualAidUse.objects.filter(payment_id=payment_id, status=MutualAidUseStatus.SENDING).update(
        status=MutualAidUseStatus.NOT_USED)


def used_in_year(auth: MutualAid, year: int) -> int:
    return (MutualAidUse.objects.filter(authorisation=auth, status=MutualAidUseStatus.SETTLED,
                                        settled_at__year=year).aggregate(s=Sum("amount_fen"))["s"] or 0)


def remaining_annual(auth: MutualAid, year: int | None = None) -> int | None:
    if auth.annual_cap_fen is None:
        return None
    return max(0, auth.annual_cap_fen - used_in_year(auth, year or timezone.localdate().year))


def mulaid_settled(payment_id: str, setlinfo: dict, institution: str) -> None:
    """In the settling transaction: the ledger row, and the payer told at once."""
    use = MutualAidUse.objects.select_related("authorisation__payer", "authorisation__beneficiary").filter(
        payment_id=payment_id).first()
    if use is None:
        return
    amount = yuan_to_fen(setlinfo.get("acct_mulaid_pay", 0) or 0, "acct_mulaid_pay")
    now = timezone.now()
    if not MutualAidUse.objects.filter(pk=use.pk, status=MutualAidUseStatus.SENDING).update(
            status=MutualAidUseStatus.SETTLED, amount_fen=amount, setl_id=str(setlinfo.get("setl_id", ""))[:40],
            institution=institution[:100], settled_at=now):
        return  # settled without the authorisation (not delivered, or the core no longer held it)
    auth = use.authorisation
    payer_psn = setlinfo.get("mulaid_payer_psn_no")
    if amount and payer_psn and payer_psn != auth.payer.psn_no:
        logger.error("core paid mutual aid of %s from %s, authorisation says %s", payment_id, payer_psn,
                     auth.payer.psn_no)
    if amount <= 0:
        return
    remaining = remaining_annual(auth)
    _payer_push(auth, "mulaid.used", {
        "relative_name": auth.beneficiary.name, "institution": institution, "amount": fen_to_yuan(amount),
        "remaining_annual_cap": None if remaining is None else fen_to_yuan(remaining),
        "at": timezone.localtime(now).isoformat(), "setl_id": str(setlinfo.get("setl_id", ""))})


def _payer_push(auth: MutualAid, kind: str, body: dict) -> None:
    """To the payer's own code page and to a page showing the relative's code
    (codes/consumers.py shows it only where the login is the payer's)."""
    for person in (auth.payer, auth.beneficiary):
        voucher = voucher_get(person)
        if voucher is not None:
            voucher_push(voucher.pk, kind, {**body, "payer_person_id": auth.payer_id})


def mulaid_reversed(payment_id: str) -> None:
    MutualAidUse.objects.filter(payment_id=payment_id, status=MutualAidUseStatus.SETTLED).update(
        status=MutualAidUseStatus.REVERSED, reversed_at=timezone.now())


def mulaid_confirmation(payment_id: str, mulaid_fen: int) -> bool:
    """The core asked for confirmation: the payer's own PIN when the
    mutual-aid part is above the payer's confirm_above (asked on their phone)."""
    use = MutualAidUse.objects.select_related("authorisation__payer", "authorisation__beneficiary").filter(
        payment_id=payment_id).first()
    if use is None:
        return False
    auth = use.authorisation
    if auth.confirm_above_fen is None or mulaid_fen <= auth.confirm_above_fen:
        return False
    MutualAidUse.objects.filter(pk=use.pk).update(payer_confirm_required=True, payer_confirmed_at=None)
    payment = payments_by_public_id([payment_id]).get(payment_id)
    _payer_push(auth, "mulaid.confirm", {
        "id": payment_id, "relative_name": auth.beneficiary.name,
        "institution": payment.institution.name if payment else "", "amount": fen_to_yuan(mulaid_fen),
        "expires_at": timezone.localtime(payment.confirm_deadline).isoformat()
        if payment and payment.confirm_deadline else None})
    return True


def mulaid_payer_pending(payment_id: str) -> bool:
    return MutualAidUse.objects.filter(payment_id=payment_id, payer_confirm_required=True,
                                       payer_confirmed_at__isnull=True).exists()


# --- the payer's confirmation (own PIN, own phone) ------------------------------------

def _payer_use(login, payment_id) -> tuple[MutualAidUse, object]:
    person = login.person
    use = None
    if person is not None and isinstance(payment_id, str):
        use = (MutualAidUse.objects.select_related("authorisation__payer", "authorisation__beneficiary")
               .filter(payment_id=payment_id, authorisation__payer=person, payer_confirm_required=True).first())
    payment = payments_by_public_id([payment_id]).get(payment_id) if use is not None else None
    if use is None or payment is None:
        raise _err("PAYMENT_NOT_FOUND", "未找到该笔支付", status=404)
    return use, payment


def mulaid_payer_confirm(*, login, payment_id: str, pin, ip: str | None = None):
    use, payment = _payer_use(login, payment_id)
    voucher = voucher_get(use.authorisation.payer)
    if not voucher_usable_by(login, voucher):  # the payer's own phone, their own voucher on it
        raise _err("NOT_ACTIVATED", "请在您本人已激活医保电子凭证的手机上确认", status=403)
    if use.payer_confirmed_at is not None or payment.status in (PaymentStatus.CONFIRMED, PaymentStatus.SUBMITTED,
                                                                 PaymentStatus.SETTLED):
        return payment  # a double tap
    if payment.status != PaymentStatus.AWAITING_CONFIRMATION:
        raise _err("PAYMENT_NOT_PENDING", "该笔支付已不需要确认", status=409)
    if payment.confirm_deadline and payment.confirm_deadline <= timezone.now():
        payment_expired(payment)
        raise _err("PAYMENT_EXPIRED", "确认已超时，请让收银员重新发起", status=409)
    if not isinstance(pin, str):
        raise _err("PIN_FORMAT", "支付密码须为6位数字")
    actor = f"{login.channel}:{login.openid}"
    pin_verify(voucher_id=voucher.pk, pin=pin, actor=actor, channel=login.channel, ip=ip, purpose="mulaid")
    MutualAidUse.objects.filter(pk=use.pk).update(payer_confirmed_at=timezone.now())
    return payment_payer_confirmed(payment, actor=actor, channel=login.channel, ip=ip)


def mulaid_payer_decline(*, login, payment_id: str, ip: str | None = None):
    use, payment = _payer_use(login, payment_id)
    payment_payer_declined(payment, actor=f"{login.channel}:{login.openid}", channel=login.channel, ip=ip)
    if payment.status != PaymentStatus.DECLINED:
        raise _err("PAYMENT_NOT_PENDING", "该笔支付已不需要确认", status=409)
    return payment


# --- the resident contribution paid for a relative (9404 / 9405) -----------------------

def _contribution_msgid(prefix: str, public_id: str) -> str:
    return prefix + hashlib.sha256(public_id.encode()).hexdigest()[:28].upper()


def contribution_pay(*, login, binding_id: str, year, amount, idempotency_key: str,
                     ip: str | None = None) -> Contribution:
    """Pay the relative's annual resident contribution from the payer's
    personal account. Idempotent on Idempotency-Key (required): a retry
    returns the first, and completes one the core had not answered."""
    if not idempotency_key:
        raise _err("VALIDATION_ERROR", "缴费请求须带 Idempotency-Key 请求标识", fields={"Idempotency-Key": ["必填"]})
    binding = binding_active_of_binder(login, binding_id)
    payer = binding.binder
    try:
        fen = amount_fen(amount, "缴费金额")
    except FieldError as error:
        raise _err("VALIDATION_ERROR", error.message, fields={"amount": [error.message]})
    this_year = timezone.localdate().year
    if isinstance(year, bool) or not isinstance(year, int) or year not in (this_year, this_year + 1):
        raise _err("VALIDATION_ERROR", f"缴费年度须为{this_year}或{this_year + 1}", fields={"year": ["无效的年度"]})
    digest = _request_hash({"binding": binding.public_id, "year": year, "amount": fen})
    earlier = Contribution.objects.filter(payer=payer, idempotency_key=idempotency_key).first()
    if earlier is not None:
        if earlier.request_hash != digest:
            raise _err("IDEMPOTENCY_KEY_REUSED", "该请求标识已用于另一笔缴费，请刷新后重试", status=409)
        return _contribution_send(earlier) if earlier.status == ContributionStatus.PENDING else earlier
    _payer_checked(login, binding)
    if binding.relative.insutype != RESIDENT:
        raise _err("MULAID_CONTRIBUTION_NOT_RESIDENT", "该亲属不是城乡居民医保参保人，无需代缴居民医保费", status=409)
    if fen <= 0:
        raise _err("VALIDATION_ERROR", "缴费金额须大于0元", fields={"amount": ["须大于0"]})
    public_id = f"ct{secrets.token_hex(11)}"
    try:
        with transaction.atomic():
            row = Contribution.objects.create(
                public_id=public_id, binding=binding, payer=payer, beneficiary=binding.relative, year=year,
                amount_fen=fen, msgid=_contribution_msgid("CT", public_id), idempotency_key=idempotency_key,
                request_hash=digest)
            audit_record(action="mulaid.contribution", outcome=AuditOutcome.SUCCESS, actor=login_actor(login),
                         person=payer, channel=login.channel, ip=ip,
                         detail={"contribution_id": public_id, "year": year, "amount_fen": fen,
                                 "beneficiary_psn_no": binding.relative.psn_no})
    except IntegrityError:
        raise _err("IDEMPOTENCY_IN_PROGRESS", "该缴费请求正在处理，请稍后刷新", status=409)
    return _contribution_send(row)


def _contribution_send(row: Contribution) -> Contribution:
    try:
        output = core_client().call("9404", {"data": {"payer_psn_no": row.payer.psn_no, "psn_no": row.beneficiary.psn_no,
                                                      "year": row.year, "amount": fen_to_amount(row.amount_fen)}},
                                    msgid=row.msgid)
    except CoreRefused as refused:
        Contribution.objects.filter(pk=row.pk, status=ContributionStatus.PENDING).update(
            status=ContributionStatus.FAILED, err_msg=refused.err_msg[:200])
        row.refresh_from_db()
        raise _err("CONTRIBUTION_REFUSED", f"代缴未成功：{refused.err_msg}", status=409, infcode=refused.infcode,
                   contribution_id=row.public_id)
    except CoreError:  # not reached or no answer: stays pending; the same key retried completes it
        raise _err("CORE_UNAVAILABLE", "医保结算平台暂时无法访问，请稍后用相同请求重试", status=503,
                   contribution_id=row.public_id)
    clct = output.get("contribution") if isinstance(output, dict) else None
    Contribution.objects.filter(pk=row.pk, status=ContributionStatus.PENDING).update(
        status=ContributionStatus.PAID, paid_at=timezone.now(),
        clct_id=str((clct or {}).get("clct_id", ""))[:40])
    row.refresh_from_db()
    return row


def contribution_reverse(*, login, contribution_id: str, ip: str | None = None) -> Contribution:
    """Reverse a contribution the same day (9405). Reversing a reversed one answers it again."""
    person = login.person
    row = None
    if person is not None and isinstance(contribution_id, str):
        row = Contribution.objects.select_related("payer", "beneficiary").filter(
            public_id=contribution_id, payer=person).first()
    if row is None:
        raise _err("FAMILY_NOT_FOUND", "未找到该笔代缴记录", status=404)
    if row.status == ContributionStatus.REVERSED:
        return row
    if row.status != ContributionStatus.PAID:
        raise _err("CONTRIBUTION_NOT_REVERSIBLE", "该笔代缴未成功，无需撤销", status=409)
    if timezone.localdate(row.paid_at) != timezone.localdate():
        raise _err("CONTRIBUTION_NOT_REVERSIBLE", "代缴只能在缴费当日撤销", status=409)
    msgid = _contribution_msgid("CR", row.public_id)
    try:
        core_client().call("9405", {"data": {"clct_id": row.clct_id, "payer_psn_no": row.payer.psn_no,
                                             "psn_no": row.beneficiary.psn_no, "orig_msgid": row.msgid}}, msgid=msgid)
    except CoreRefused as refused:
        if refused.infcode != 4005:  # ALREADY_REVERSED: an earlier try reversed it and its answer was lost
            raise _err("CONTRIBUTION_NOT_REVERSIBLE", f"撤销未成功：{refused.err_msg}", status=409,
                       infcode=refused.infcode)
    except CoreError:
        raise _err("CORE_UNAVAILABLE", "医保结算平台暂时无法访问，请稍后重试", status=503)
    with transaction.atomic():
        Contribution.objects.filter(pk=row.pk, status=ContributionStatus.PAID).update(
            status=ContributionStatus.REVERSED, reverse_msgid=msgid, reversed_at=timezone.now())
        audit_record(action="mulaid.contribution_reverse", outcome=AuditOutcome.SUCCESS, actor=login_actor(login),
                     person=row.payer, channel=login.channel, ip=ip, detail={"contribution_id": row.public_id})
    row.refresh_from_db()
    return row

