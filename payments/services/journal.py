"""The payment journal's rows and their moves, shared by the state machines
(settle, resolve, confirmation, reversal).

Every move is a compare-and-swap on the status (``payment_move``): the in-memory row
takes the new values when it won; when another request moved it first, only
its state columns are read again (its voucher, person, institution and
journal row stay as loaded). The audit record, the cached balance and the
push to the phone go with the move, in its transaction.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.enums import AuditOutcome
from accounts.services import audit_record
from common.envelope import InfCode, json_ready
from common.money import fen_to_yuan, yuan_to_fen

from payments.enums import PAYMENT_TRANSITIONS, PaymentStatus
from wallet.hooks import hook
from payments.models import Payment
from wallet.services.balance import balance_remember
from terminal.services.forward import TerminalCall
from wallet.services.push import voucher_push

# The columns a move changes (never a relation), read again when a move lost.
STATE_FIELDS = [f.attname for f in Payment._meta.concrete_fields if not f.is_relation]
IN_FLIGHT = (PaymentStatus.SUBMITTED, PaymentStatus.UNKNOWN)


def confirmed_core_msgid(fixmedins_code: str, msgid: str) -> str:
    """The core msgid of the settle sent after the payer confirmed: "C" and
    29 base32 characters of SHA-256(fixmedins_code, msgid) — 30 characters
    (the national msgid length, which the 3202 detail rows carry) of the
    core's msgid alphabet for any terminal msgid of up to 40, distinct per
    (institution, msgid) (145 bits; the msgid itself is never truncated)."""
    digest = hashlib.sha256(f"{fixmedins_code}\x1f{msgid}".encode()).digest()
    return "C" + base64.b32encode(digest).decode("ascii")[:29]


def without_mulaid_core_msgid(fixmedins_code: str, msgid: str) -> str:
    """The core msgid of a settle re-sent without mutual aid after the core
    answered 4010 (it no longer held the authorisation; its answer to the
    first msgid is kept): "N" and 29 base32 characters, as confirmed_core_msgid."""
    digest = hashlib.sha256(f"{fixmedins_code}\x1f{msgid}\x1fwithout-mulaid".encode()).digest()
    return "N" + base64.b32encode(digest).decode("ascii")[:29]


def payment_open(call: TerminalCall, voucher: Voucher, medfee_fen: int) -> Payment:
    """Write the journal row, already ``submitted`` under the terminal's
    msgid, in the gateway's opening transaction (committed with the msgid's
    row, before anything is sent): from there on an outcome can be unknown,
    never unrecorded. One per terminal msgid: the gateway's journal row
    (call.message) is its key."""
    with transaction.atomic(savepoint=False):
        payment = Payment.objects.create(
            public_id=secrets.token_hex(16), message=call.message, institution=call.institution,
            core_msgid=call.env.msgid, voucher=voucher, status=PaymentStatus.SUBMITTED,
            request=json_ready(call.env.input), medfee_fen=medfee_fen,
        )
        audit_record(action="payment.open", outcome=AuditOutcome.SUCCESS, actor=call.institution.fixmedins_code,
                     person=voucher.person, detail={"msgid": call.env.msgid, "medfee_fen": medfee_fen})
    return payment


def payment_move(payment: Payment, from_statuses, **fields) -> bool:
    """The payment's one compare-and-swap: from one of ``from_statuses`` to
    ``fields`` (a new ``status`` must be a declared transition of each,
    payments/enums.py ``PAYMENT_TRANSITIONS``). False when the row was no
    longer in any of them (it is reloaded)."""
    from_statuses = list(from_statuses)
    target = fields.get("status")
    if target is not None:
        undeclared = [s for s in from_statuses if s != target and target not in PAYMENT_TRANSITIONS[s]]
        if undeclared:
            raise ValueError(f"undeclared payment transition {undeclared} -> {target}")
    moved = Payment.objects.filter(pk=payment.pk, status__in=list(from_statuses)).update(**fields)
    if moved:
        for name, value in fields.items():
            setattr(payment, name, value)
    else:
        payment.refresh_from_db(fields=STATE_FIELDS)
    return bool(moved)


def amounts(setlinfo: dict) -> dict:
    """The core's setlinfo amounts (exact Decimal from the JSON number's text,
    settlement.client) as the journal's integer fen."""
    return {"medfee_fen": yuan_to_fen(setlinfo["medfee_sumamt"], "medfee_sumamt"),
            "fund_fen": yuan_to_fen(setlinfo["fund_pay_sumamt"], "fund_pay_sumamt"),
            "acct_fen": yuan_to_fen(setlinfo["acct_pay"], "acct_pay"),
            "mulaid_fen": yuan_to_fen(setlinfo.get("acct_mulaid_pay", 0), "acct_mulaid_pay"),
            "cash_fen": yuan_to_fen(setlinfo["psn_cash_pay"], "psn_cash_pay")}


def payment_submitting(payment: Payment, from_status: str, core_msgid: str) -> bool:
    return payment_move(payment, [from_status], status=PaymentStatus.SUBMITTED, core_msgid=core_msgid)


def payment_not_sent(payment: Payment, back_to: str) -> None:
    """The settle never reached the core: back to where it was; the retry sends it again."""
    payment_move(payment, [PaymentStatus.SUBMITTED], status=back_to)


def payment_unknown(payment: Payment) -> None:
    payment_move(payment, [PaymentStatus.SUBMITTED], status=PaymentStatus.UNKNOWN)


def payment_awaiting_confirmation(payment: Payment, output: dict) -> None:
    """The core refused the one-call settle because the account part is over
    the threshold (nothing was posted): ask the payer."""
    deadline = timezone.now() + dt.timedelta(seconds=settings.PAYMENT_CONFIRM_TTL_SECONDS)
    with transaction.atomic():
        if payment_move(payment, IN_FLIGHT, status=PaymentStatus.AWAITING_CONFIRMATION, confirmation_required=True,
                 confirm_deadline=deadline, core_output=output, **amounts(output["setlinfo"])):
            asked = hook("mulaid_confirmation")
            payer_asked = bool(asked and payment.mulaid_fen and asked(payment.public_id, payment.mulaid_fen))
            if payment_needs_own_confirmation(payment) or not payer_asked:
                voucher_push(payment.voucher_id, "payment.confirm", confirm_message(payment))


def payment_needs_own_confirmation(payment: Payment) -> bool:
    """The relative's (the voucher holder's) own PIN is asked when their own
    account part is over the threshold; a mutual-aid part over the payer's
    confirm_above is the payer's to confirm (family)."""
    return payment.acct_fen > settings.PAYMENT_CONFIRM_THRESHOLD_FEN


def payment_settled(payment: Payment, output: dict, *, mulaid_sent: bool = True) -> None:
    """``mulaid_sent`` False: this settle carried no mutual-aid authorisation
    (the pay path knows; a resolver does not), so family has nothing to record."""
    setlinfo = output["setlinfo"]
    split = amounts(setlinfo)
    with transaction.atomic(savepoint=False):
        if not payment_move(payment, IN_FLIGHT, status=PaymentStatus.SETTLED, core_output=output,
                     setl_id=setlinfo["setl_id"], mdtrt_id=setlinfo.get("mdtrt_id", ""), settled_at=timezone.now(),
                     infcode=0, **split):
            return
        audit_record(action="payment.settled", outcome=AuditOutcome.SUCCESS, actor=payment.institution.fixmedins_code,
                     person=payment.voucher.person, detail={"msgid": payment.msgid, "setl_id": setlinfo["setl_id"]})
        balc_fen = yuan_to_fen(setlinfo["balc"], "balc")
        balance_remember(payment.voucher.person, balc_fen)
        settled = hook("mulaid_settled") if mulaid_sent else None
        if settled:  # the mutual-aid ledger and the payer's notice (family), in this transaction
            settled(payment.public_id, setlinfo, payment.institution.name)
        # The phone gets the app API's yuan strings (fen_to_yuan), from the journal's fen.
        voucher_push(payment.voucher_id, "payment.completed", {
            "id": payment.public_id, "institution": payment.institution.name,
            "medfee_sumamt": fen_to_yuan(split["medfee_fen"]), "acct_pay": fen_to_yuan(split["acct_fen"]),
            "psn_cash_pay": fen_to_yuan(split["cash_fen"]), "fund_pay_sumamt": fen_to_yuan(split["fund_fen"]),
            "balc": fen_to_yuan(balc_fen)})


def payment_failed(payment: Payment, infcode: int, err_msg: str, *, from_statuses=IN_FLIGHT) -> bool:
    return payment_move(payment, from_statuses, status=PaymentStatus.FAILED, infcode=infcode, err_msg=err_msg[:200])


def payment_expired(payment: Payment) -> bool:
    return payment_move(payment, [PaymentStatus.AWAITING_CONFIRMATION], status=PaymentStatus.EXPIRED,
                 err_msg="参保人未在规定时间内确认")


def payment_reversed(payment: Payment, reversal_msgid: str, output: dict | None) -> None:
    with transaction.atomic():
        if not payment_move(payment, [PaymentStatus.SETTLED], status=PaymentStatus.REVERSED, reversal_msgid=reversal_msgid,
                     reversed_at=timezone.now()):
            return
        audit_record(action="payment.reversed", outcome=AuditOutcome.SUCCESS, actor=payment.institution.fixmedins_code,
                     person=payment.voucher.person,
                     detail={"msgid": payment.msgid, "setl_id": payment.setl_id, "reversal_msgid": reversal_msgid})
        reversed_ = hook("mulaid_reversed")
        if reversed_ and payment.mulaid_fen:
            reversed_(payment.public_id)
        if output and output.get("setlinfo", {}).get("balc") is not None:
            balance_remember(payment.voucher.person, yuan_to_fen(output["setlinfo"]["balc"], "balc"))
        voucher_push(payment.voucher_id, "payment.reversed", {
            "id": payment.public_id, "institution": payment.institution.name,
            "medfee_sumamt": fen_to_yuan(payment.medfee_fen), "acct_pay": fen_to_yuan(payment.acct_fen)})


def payments_refuse_pin_locked(voucher_id: int, *, current: Payment | None = None) -> None:
    """Every payment of this voucher still waiting for the PIN ends as
    refused (nothing was posted: the core answered 4008), so each terminal's
    next retry of its msgid gets 1011 PIN_LOCKED. ``current``, a row of this
    voucher the caller holds, takes its new state."""
    err_msg = "参保人支付密码已锁定，本次支付已取消，请改用其他方式支付"
    with transaction.atomic():
        waiting = list(Payment.objects.select_related("voucher__person", "institution", "message").filter(
            voucher_id=voucher_id, status=PaymentStatus.AWAITING_CONFIRMATION))
        for payment in waiting:
            if current is not None and payment.pk == current.pk:
                payment = current
            if payment_failed(payment, InfCode.PIN_LOCKED, err_msg, from_statuses=[PaymentStatus.AWAITING_CONFIRMATION]):
                audit_record(action="payment.refused", outcome=AuditOutcome.FAILURE,
                             actor=payment.institution.fixmedins_code, person=payment.voucher.person,
                             code="PIN_LOCKED", detail={"msgid": payment.msgid})
    if current is not None and current.status == PaymentStatus.AWAITING_CONFIRMATION:
        current.refresh_from_db(fields=STATE_FIELDS)


def confirm_message(payment: Payment) -> dict:
    """The ``payment.confirm`` push: the split the payer is asked to confirm."""
    return {"id": payment.public_id, "institution": payment.institution.name,
            "medfee_sumamt": fen_to_yuan(payment.medfee_fen), "acct_pay": fen_to_yuan(payment.acct_fen),
            "psn_cash_pay": fen_to_yuan(payment.cash_fen), "fund_pay_sumamt": fen_to_yuan(payment.fund_fen),
            "expires_at": timezone.localtime(payment.confirm_deadline).isoformat() if payment.confirm_deadline else None}


def payments_cancel_pending(voucher_id: int, *, reason_code: str, err_msg: str) -> int:
    """Inside the caller's transaction: every payment of this voucher still
    waiting for the payer's PIN ends as refused (nothing was posted), so the
    terminal's retry of its msgid gets 1010 with ``err_msg``. Returns how many."""
    cancelled = 0
    for payment in (Payment.objects.select_related("voucher__person", "institution")
                    .filter(voucher_id=voucher_id, status=PaymentStatus.AWAITING_CONFIRMATION)):
        if payment_failed(payment, InfCode.CONFIRMATION_REFUSED, err_msg,
                          from_statuses=[PaymentStatus.AWAITING_CONFIRMATION]):
            cancelled += 1
            audit_record(action="payment.refused", outcome=AuditOutcome.FAILURE,
                         actor=payment.institution.fixmedins_code, person=payment.voucher.person, code=reason_code,
                         detail={"msgid": payment.msgid})
    return cancelled
