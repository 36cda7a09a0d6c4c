"""The terminal's side of paying: 2101 pre-settle and the 2102 state machine.

The wallet checks the ecToken (this institution's, unexpired, the chain that
authorised its code still holding: ectokens.py) and the PIN (not locked)
before anything reaches the core, and writes the journal row (``Payment``,
hanging off the msgid's gateway journal row) before the settle is sent.

2102 states (wallet/enums.py PaymentStatus); a new payment is written
``submitted`` (received and moved on, one commit with the msgid's journal row)::

    received ──send──> settled                       (account part within the threshold)
        │        └──> awaiting_confirmation          (core: 4008, nothing posted; the phone is asked)
        │                 ├─ PIN ──> confirmed ──send under core_msgid──> settled / failed (4003 split changed)
        │                 └─ declined / expired / PIN locked (final, nothing charged)
        └─ send times out ──> unknown ──resolve.py──> settled / failed

Confirmation protocol (*answer pending, the terminal asks again*): the first
2102 that needs confirmation is answered ``1009 CONFIRMATION_PENDING`` and
not stored; the terminal repeats the very same request every few seconds;
once the payer has confirmed, the repeat settles and its answer is final.
Declined or expired → ``1010 CONFIRMATION_REFUSED`` (final). The unconfirmed
settle is one call carrying the confirmation threshold (``acct_pay_limit``):
the core settles, or answers 4008 with the split and posts nothing. The
confirmed settle goes under its own core msgid (journal.confirmed_core_msgid)
with the confirmed split, which the core refuses (4003) if it no longer holds.

A timeout after sending is an unknown outcome: the terminal gets ``5002
OUTCOME_UNKNOWN`` (retry the same msgid) and resolve.py settles the question
on the retry or in a worker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from accounts.enums import AuditOutcome
from accounts.services import audit_record
from common.envelope import EnvelopeError, InfCode, answer, json_ready
from common.fields import FieldError, amount_fen
from common.money import fen_to_amount, yuan_to_fen
from settlement.errors import CoreProtocolError, CoreRefused, CoreTimeout, CoreUnavailable

from payments.enums import PaymentStatus
from wallet.hooks import MulaidTicket, hook
from payments.models import Payment
from payments.tasks import payment_resolve_task
from terminal.services.forward import (
    NotStored,
    TerminalCall,
    answer_final,
    core_call,
    core_refusal,
    core_send,
    core_unavailable,
    outcome_unknown,
    terminal_output,
)
from terminal.services.ectokens import ectoken_chain_check, ectoken_resolve
from wallet.services.pin import pin_is_locked
from payments.services.journal import (
    IN_FLIGHT,
    confirmed_core_msgid,
    payment_awaiting_confirmation,
    payment_expired,
    payment_failed,
    payment_move,
    payment_not_sent,
    payment_open,
    payment_settled,
    payment_submitting,
    payment_unknown,
    payments_refuse_pin_locked,
    without_mulaid_core_msgid,
)
from payments.services.resolve import payment_outcome_resolve

logger = logging.getLogger(__name__)

MULAID_NOT_HELD = "医保结算平台的家庭共济授权已撤销或已变更，本次未使用共济支付（由本人个人账户和现金支付）"


def _druginfo(call: TerminalCall) -> dict:
    druginfo = call.env.input.get("druginfo")
    if not isinstance(druginfo, dict):
        raise EnvelopeError(InfCode.INPUT_INVALID, "缺少 input.druginfo", msgid=call.env.msgid)
    return druginfo


def _token_for(call: TerminalCall, druginfo: dict) -> EcToken:
    """The ecToken the bill is paid with: its chain holding (voucher,
    authorization, binding: checked once, by ectoken_resolve), the PIN not
    locked, the psn_no (if sent) its own."""
    msgid = call.env.msgid
    if str(druginfo.get("mdtrt_cert_type", "")) != "01":
        raise EnvelopeError(InfCode.CERT_TYPE_UNSUPPORTED, "医保电子凭证结算须使用 mdtrt_cert_type=01（ecToken）", msgid=msgid)
    token = ectoken_resolve(str(druginfo.get("mdtrt_cert_no", "")), call.institution, msgid=msgid)
    voucher = token.voucher
    if pin_is_locked(voucher):
        raise EnvelopeError(InfCode.PIN_LOCKED, "参保人支付密码已锁定，暂不能使用医保电子凭证支付", msgid=msgid)
    if druginfo.get("psn_no") and str(druginfo["psn_no"]) != voucher.person.psn_no:
        raise EnvelopeError(InfCode.INPUT_INVALID, "psn_no 与电子凭证不符", msgid=msgid)
    return token


def _core_input(call: TerminalCall, psn_no: str, *, expected: Payment | None = None) -> dict:
    """The terminal's bill, addressed to the core by psn_no (the core never
    sees the ecToken). With ``expected``, the confirmed split rides along and
    the core refuses if it no longer holds."""
    druginfo = json_ready(dict(call.env.input.get("druginfo") or {}))
    druginfo.update({"psn_no": psn_no, "mdtrt_cert_type": "99", "mdtrt_cert_no": psn_no})
    # The wallet's own fields to the core are the wallet's alone: a terminal
    # cannot name a split, a confirmation limit or a mutual-aid authorisation.
    for name in ("fund_pay_sumamt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "acct_pay_limit",
                 "mulaid_pay_limit", "mulaid_auth_id", "mulaid_auth_version"):
        druginfo.pop(name, None)
    if expected is not None:
        druginfo.update({"fund_pay_sumamt": fen_to_amount(expected.fund_fen),
                         "acct_pay": fen_to_amount(expected.acct_fen),
                         "acct_mulaid_pay": fen_to_amount(expected.mulaid_fen),
                         "psn_cash_pay": fen_to_amount(expected.cash_fen)})
    return {"druginfo": druginfo, "drugdetail": json_ready(call.env.input.get("drugdetail"))}


def _with_mulaid(core_input: dict, ticket: MulaidTicket | None) -> dict:
    """Family mutual aid (家庭共济): the authorisation the settlement relies on
    rides along; the core checks it against its own state (version included)
    and without it pays nothing from another person's account. A withheld
    ticket (the core does not have that version yet) is not sent."""
    if ticket is not None and not ticket.withheld:
        core_input["druginfo"].update({"mulaid_auth_id": ticket.auth_id, "mulaid_auth_version": ticket.version})
    return core_input


def _explained(output: dict, ticket: MulaidTicket | None, reason: str = "") -> dict:
    """Why a bill that could have used mutual aid went without it (the
    record and the terminal both show the explanation)."""
    reason = reason or (ticket.withheld if ticket is not None else "")
    if reason:
        output["explanation"] = [*(output.get("explanation") or []), reason]
    return output


def _mulaid_ticket(person_id: int, payment_id: str | None, *, first_send: bool = False) -> MulaidTicket | None:
    ticket = hook("mulaid_ticket")
    return ticket(person_id, payment_id, first_send=first_send) if ticket else None


# --- 2101 --------------------------------------------------------------------------------

def payment_pre_settle(call: TerminalCall) -> dict:
    token = _token_for(call, _druginfo(call))
    person = token.voucher.person
    ticket = _mulaid_ticket(person.pk, None)
    output = _explained(core_call(call, "2101", _with_mulaid(_core_input(call, person.psn_no), ticket)), ticket)
    acct = yuan_to_fen(output["setlinfo"]["acct_pay"], "acct_pay")
    output = terminal_output(output, call.institution)
    output["confirm_required"] = "1" if acct > settings.PAYMENT_CONFIRM_THRESHOLD_FEN else "0"
    return answer(call.env.msgid, output)


# --- 2102 --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Opened:
    """What 2102's opening step gives the handler (``call.opened``)."""

    payment: Payment
    new: bool  # written ``submitted`` by this request's opening step: not sent yet


def payment_settle_open(call: TerminalCall) -> Opened:
    """2102's opening step, in the gateway's opening transaction (with the
    msgid's journal row): the bill checked, then the payment this msgid
    already has (a retry: the gateway checked the body against the journal
    row), or a new one — the ecToken resolved, the PIN not locked — written
    ``submitted`` under the terminal's msgid, so that once this commits an
    outcome can be unknown, never unrecorded."""
    druginfo = _druginfo(call)
    try:
        medfee_fen = amount_fen(druginfo.get("medfee_sumamt"), "medfee_sumamt")
    except FieldError as error:
        raise EnvelopeError(InfCode.INPUT_INVALID, error.message, msgid=call.env.msgid)
    payment = None
    if not call.fresh:
        payment = Payment.objects.select_related("voucher__person").filter(message=call.message).first()
    new = payment is None
    if new:
        payment = payment_open(call, _token_for(call, druginfo).voucher, medfee_fen)
    payment.institution, payment.message = call.institution, call.message  # loaded once, for this request
    return Opened(payment, new)


def payment_settle(call: TerminalCall) -> dict | bytes:
    """One 2102, its payment opened by ``payment_settle_open``: a new one is
    sent at once; one asked again moves on from where it is."""
    payment = call.opened.payment
    if call.opened.new:
        settled = _send(call, payment, back_to=PaymentStatus.RECEIVED, first_send=True)
        if settled is not None:
            return settled
    return _advance(call, payment)


def _advance(call: TerminalCall, payment: Payment) -> dict:
    """Move the payment as far as it goes now; the answer for this request."""
    env = call.env
    while True:
        status = payment.status
        if status in NOT_SENT:
            _chain_holds(call, payment)
        if status == PaymentStatus.AWAITING_CONFIRMATION:
            if payment.confirm_deadline and payment.confirm_deadline <= timezone.now():
                payment_expired(payment)
                continue
            if pin_is_locked(payment.voucher):
                # Locked while the phone was asked (on any path): the payer can
                # no longer confirm, so the terminal is told at once.
                payments_refuse_pin_locked(payment.voucher_id, current=payment)
                continue
            raise NotStored(answer(env.msgid, {"confirm_status": "pending", "acct_pay": fen_to_amount(payment.acct_fen),
                                               "expires_at": timezone.localtime(payment.confirm_deadline).isoformat()},
                                   infcode=InfCode.CONFIRMATION_PENDING,
                                   err_msg="请参保人在手机上输入支付密码确认，确认后请用相同 msgid 重新提交"))
        if status in (PaymentStatus.DECLINED, PaymentStatus.EXPIRED):
            message = "参保人已拒绝本次支付" if status == PaymentStatus.DECLINED else "参保人未在规定时间内确认，本次支付已取消"
            raise EnvelopeError(InfCode.CONFIRMATION_REFUSED, message, msgid=env.msgid)
        if status in (PaymentStatus.RECEIVED, PaymentStatus.CONFIRMED):
            settled = _submit(call, payment)
            if settled is not None:
                return settled
            continue
        if status in IN_FLIGHT:
            if payment_outcome_resolve(payment) in IN_FLIGHT:
                raise outcome_unknown(env)
            continue
        if status in (PaymentStatus.SETTLED, PaymentStatus.REVERSED):
            return answer(env.msgid, terminal_output(payment.core_output or {}, call.institution))
        if status == PaymentStatus.FAILED:
            raise core_refusal(env, payment.infcode, payment.err_msg or "结算失败")
        raise EnvelopeError(InfCode.INTERNAL, "交易状态异常", msgid=env.msgid)  # pragma: no cover


NOT_SENT = (PaymentStatus.AWAITING_CONFIRMATION, PaymentStatus.RECEIVED, PaymentStatus.CONFIRMED)


def _chain_holds(call: TerminalCall, payment: Payment) -> None:
    """A payment opened but not yet sent (waiting for the PIN, confirmed, or
    back from a core that could not be reached) goes on only while the chain
    that authorised its code holds: a binding ended, the showing channel
    revoked or the voucher frozen meanwhile ends it as refused, nothing sent
    (the terminal's retries get the refusal)."""
    try:
        ectoken_chain_check(str(_druginfo(call).get("mdtrt_cert_no", "")), call.institution, msgid=call.env.msgid)
    except EnvelopeError as refused:
        if payment_failed(payment, refused.infcode, refused.err_msg, from_statuses=NOT_SENT):
            audit_record(action="payment.refused", outcome=AuditOutcome.FAILURE, actor=call.institution.fixmedins_code,
                         person=payment.voucher.person, code=str(int(refused.infcode)), detail={"msgid": call.env.msgid})
            raise
        # moved by someone else a moment ago: the caller looks again


def _submit(call: TerminalCall, payment: Payment) -> dict | bytes | None:
    """Move a received or confirmed payment to ``submitted`` under its core
    msgid and send it; ``None`` when someone else moved it a moment ago (the
    caller looks again)."""
    code = call.institution.fixmedins_code
    back_to = payment.status
    if back_to == PaymentStatus.CONFIRMED:
        core_msgid = confirmed_core_msgid(code, call.env.msgid)
    elif payment.core_msgid == without_mulaid_core_msgid(code, call.env.msgid):
        core_msgid = payment.core_msgid  # went without mutual aid after a 4010: stays on that msgid
    else:
        core_msgid = call.env.msgid
    if not payment_submitting(payment, back_to, core_msgid):
        return None
    return _send(call, payment, back_to=back_to)


def _send(call: TerminalCall, payment: Payment, *, back_to: str, first_send: bool = False) -> dict | bytes | None:
    """Send the ``submitted`` payment's settle (``back_to``: where it goes if
    the settle never reached the core; ``first_send``: opened by this request,
    never sent before). The terminal's answer when it
    settled — stored with the settled row, in one commit —, ``None`` when the
    payment moved on otherwise (the caller looks again)."""
    env = call.env
    confirmed = back_to == PaymentStatus.CONFIRMED
    code = call.institution.fixmedins_code
    core_msgid = payment.core_msgid
    try:
        # Checked under the authorisation's row lock, recorded with this payment
        # (now ``submitted``): a revocation committed after this waits for the
        # outcome; one committed before it means no mutual aid (family/services/mulaid.py).
        ticket = _mulaid_ticket(payment.voucher.person_id, payment.public_id, first_send=first_send)
    except Exception:
        payment_not_sent(payment, back_to)
        raise
    reason = ""
    while True:
        core_input = _with_mulaid(_core_input(call, payment.voucher.person.psn_no,
                                              expected=payment if confirmed else None), ticket)
        if not confirmed:
            core_input["druginfo"]["acct_pay_limit"] = fen_to_amount(settings.PAYMENT_CONFIRM_THRESHOLD_FEN)
            if ticket is not None and not ticket.withheld and ticket.confirm_above_fen is not None:
                # The payer confirms a mutual-aid part above this (ours; 4008 like acct_pay_limit).
                core_input["druginfo"]["mulaid_pay_limit"] = fen_to_amount(ticket.confirm_above_fen)
        try:
            output = core_send(call.institution, "2102", core_input, env=env, msgid=core_msgid)
        except CoreUnavailable:
            payment_not_sent(payment, back_to)  # never reached the core: nothing happened there
            raise core_unavailable(env)
        except (CoreTimeout, CoreProtocolError) as exc:
            logger.warning("2102 outcome unknown for %s %s: %s", code, env.msgid, exc)
            payment_unknown(payment)
            _enqueue_resolve(payment.pk)
            raise outcome_unknown(env)
        except CoreRefused as refused:
            if (refused.infcode == InfCode.MULAID_REVOKED and not confirmed and ticket is not None
                    and not ticket.withheld):
                # The core no longer holds this authorisation (revoked or ended there first;
                # nothing was posted): the bill goes without mutual aid, under a msgid of its own
                # (the core keeps its answer to the first). Never paid after the revocation.
                _mulaid_not_used(payment.public_id)
                ticket, reason = None, MULAID_NOT_HELD
                core_msgid = without_mulaid_core_msgid(code, env.msgid)
                payment_move(payment, [PaymentStatus.SUBMITTED], core_msgid=core_msgid)
                continue
            if refused.infcode == InfCode.CONFIRMATION_REQUIRED:
                payment_awaiting_confirmation(payment, refused.answer["output"])
                return None
            payment_failed(payment, refused.infcode, refused.err_msg)
            raise core_refusal(env, refused.infcode, refused.err_msg)
        break
    output = _explained(output, ticket, reason)
    with transaction.atomic():  # one commit: the payment settled (audit, balance, mutual aid) and the msgid's answer
        payment_settled(payment, output, mulaid_sent=ticket is not None and not ticket.withheld)
        return answer_final(call, answer(env.msgid, terminal_output(output, call.institution)))


def _mulaid_not_used(payment_id: str) -> None:
    not_used = hook("mulaid_not_used")
    if not_used:
        not_used(payment_id)


def _enqueue_resolve(payment_id: int) -> None:
    """Hand the unknown outcome to a worker (the beat sweep catches it too if
    this enqueue is lost: the row is already ``unknown`` in the database)."""
    try:
        payment_resolve_task.apply_async((payment_id,), countdown=5)
    except (BrokerError, RedisError, OSError):  # broker down: the sweep will find the row
        logger.exception("could not enqueue resolve for payment %s", payment_id)
