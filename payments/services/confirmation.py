"""The payer's side: confirm with the PIN, or decline, a payment the core
said needs confirmation (``awaiting_confirmation``; the phone was pushed
``payment.confirm``). Wrong PINs count toward the voucher's lockout; a lock
refuses every payment of the voucher still waiting, at once (the terminals'
next retries get 1011). The terminal learns the outcome on its next retry of
the msgid (settle.py)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.enums import AuditOutcome
from accounts.services import audit_record
from common.envelope import InfCode
from common.errors import ApplicationError

from payments.enums import PaymentStatus
from wallet.hooks import hook
from payments.models import Payment
from wallet.selectors import person_may_be_confirmed_by
from wallet.services.pin import pin_is_locked, pin_locked_error, pin_verify
from payments.services.journal import (
    payment_expired,
    payment_move,
    payment_needs_own_confirmation,
    payments_refuse_pin_locked,
)

NOT_PENDING = ("PAYMENT_NOT_PENDING", "该笔支付已不需要确认")


def payment_confirm(*, login, public_id: str, pin: str, ip: str | None = None) -> Payment:
    """The payer confirms with the PIN (wrong PINs count toward the lockout)."""
    payment = _payer_payment(login, public_id)
    actor = f"{login.channel}:{login.openid}"
    if payment.status != PaymentStatus.AWAITING_CONFIRMATION:
        if payment.status in (PaymentStatus.CONFIRMED, PaymentStatus.SUBMITTED, PaymentStatus.SETTLED):
            return payment  # a double tap: already confirmed
        if payment.infcode == InfCode.PIN_LOCKED and pin_is_locked(payment.voucher):
            raise pin_locked_error(payment.voucher.pin_locked_until)  # refused by the lock: say so, and when it ends
        raise ApplicationError(*NOT_PENDING, status=409)
    if payment.confirm_deadline and payment.confirm_deadline <= timezone.now():
        payment_expired(payment)
        raise ApplicationError("PAYMENT_EXPIRED", "确认已超时，请让收银员重新发起", status=409)
    try:
        pin_verify(voucher_id=payment.voucher_id, pin=pin, actor=actor, channel=login.channel, ip=ip, purpose="payment")
    except ApplicationError as error:
        if error.code == "PIN_LOCKED":  # nobody can confirm any more: refuse now, not at the deadline
            payments_refuse_pin_locked(payment.voucher_id)
        raise
    with transaction.atomic():
        # Mutual aid: while the payer's own confirmation is still asked, the
        # relative's PIN confirms their part only (confirmed_at) and the payment waits.
        done = {} if _payer_pending(payment) else {"status": PaymentStatus.CONFIRMED}
        if payment_move(payment, [PaymentStatus.AWAITING_CONFIRMATION], confirmed_at=timezone.now(), **done):
            audit_record(action="payment.confirm", outcome=AuditOutcome.SUCCESS, actor=actor,
                         person=payment.voucher.person, channel=login.channel, ip=ip,
                         detail={"msgid": payment.msgid, "acct_fen": payment.acct_fen, "payer_pending": not done})
    return payment


def _payer_pending(payment: Payment) -> bool:
    pending = hook("mulaid_payer_pending")
    return bool(pending and payment.mulaid_fen and pending(payment.public_id))


def payment_payer_confirmed(payment: Payment, *, actor: str, channel: str, ip: str | None = None) -> Payment:
    """Family mutual aid: the payer confirmed the mutual-aid part with their
    own PIN (family verified it and recorded it). The payment is confirmed
    when the relative's own part needs no PIN or was confirmed already."""
    with transaction.atomic():
        relative_done = not payment_needs_own_confirmation(payment) or payment.confirmed_at is not None
        if relative_done and payment_move(payment, [PaymentStatus.AWAITING_CONFIRMATION],
                                          status=PaymentStatus.CONFIRMED, confirmed_at=timezone.now()):
            audit_record(action="payment.confirm", outcome=AuditOutcome.SUCCESS, actor=actor,
                         person=payment.voucher.person, channel=channel, ip=ip,
                         detail={"msgid": payment.msgid, "mulaid_fen": payment.mulaid_fen, "by": "mulaid_payer"})
    return payment


def payment_payer_declined(payment: Payment, *, actor: str, channel: str, ip: str | None = None) -> Payment:
    """Family mutual aid: the payer declined the mutual-aid part: nothing is charged."""
    with transaction.atomic():
        if payment_move(payment, [PaymentStatus.AWAITING_CONFIRMATION], status=PaymentStatus.DECLINED,
                        err_msg="共济账户持有人拒绝支付"):
            audit_record(action="payment.decline", outcome=AuditOutcome.SUCCESS, actor=actor,
                         person=payment.voucher.person, channel=channel, ip=ip,
                         detail={"msgid": payment.msgid, "by": "mulaid_payer"})
    return payment


def payment_decline(*, login, public_id: str, ip: str | None = None) -> Payment:
    payment = _payer_payment(login, public_id)
    with transaction.atomic():
        if payment_move(payment, [PaymentStatus.AWAITING_CONFIRMATION], status=PaymentStatus.DECLINED, err_msg="参保人拒绝支付"):
            audit_record(action="payment.decline", outcome=AuditOutcome.SUCCESS, actor=f"{login.channel}:{login.openid}",
                         person=payment.voucher.person, channel=login.channel, ip=ip, detail={"msgid": payment.msgid})
    if payment.status != PaymentStatus.DECLINED:
        raise ApplicationError(*NOT_PENDING, status=409)
    return payment


def _payer_payment(login, public_id: str) -> Payment:
    """This payer's payment (voucher, person, institution and journal row
    loaded): the login's own, or a bound relative's whose code the login may
    show (family binding: the PIN asked is the relative's, the voucher's)."""
    if login.person is None:
        raise ApplicationError("PAYMENT_NOT_FOUND", "未找到该笔支付", status=404)
    payment = (Payment.objects.select_related("voucher__person", "institution", "message")
               .filter(public_id=str(public_id or "")).first())
    if payment is None or not person_may_be_confirmed_by(login, payment.voucher.person_id):
        raise ApplicationError("PAYMENT_NOT_FOUND", "未找到该笔支付", status=404)
    return payment
