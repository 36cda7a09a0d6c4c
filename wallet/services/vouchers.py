"""Vouchers and their channel authorizations.

A revoke or a voucher status change tells the voucher's open code pages at
once (channel-layer group ``voucher.<pk>``, message ``access.changed``, after
commit); each page re-checks its own login session and authorization and
closes if it may no longer show a code. The per-push check in the consumer is
the guarantee; this only makes the page close without waiting for the next
push."""

from __future__ import annotations

import pyotp
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.enums import AuditOutcome
from accounts.services import audit_record
from common import crypto
from common.envelope import InfCode
from common.errors import ApplicationError

from settlement.enums import OutboxKind
from settlement.services.outbox import outbox_enqueue

from wallet.enums import AuthorizationStatus, VoucherStatus
from wallet.models import ChannelAuthorization, Voucher
from wallet.hooks import hook
from wallet.services.push import voucher_push


def voucher_get_or_create(person) -> Voucher:
    """The person's voucher; created inactive, with its own code secret
    (encrypted at rest), the first time they start activation."""
    voucher = Voucher.objects.filter(person=person).first()
    if voucher is not None:
        return voucher
    try:
        with transaction.atomic():
            return Voucher.objects.create(person=person, status=VoucherStatus.INACTIVE,
                                          code_secret_encrypted=crypto.encrypt(pyotp.random_base32(32)))
    except IntegrityError:
        return Voucher.objects.get(person=person)


def voucher_authorize_channel(*, voucher_id: int, login, new_pin_hash: str | None) -> ChannelAuthorization:
    """Inside the caller's transaction: set the PIN if this is the first
    channel, activate the voucher, add the channel authorization."""
    voucher = Voucher.objects.select_for_update().get(pk=voucher_id)
    if voucher.status in (VoucherStatus.FROZEN, VoucherStatus.REVOKED):
        raise ApplicationError("VOUCHER_UNAVAILABLE", "您的医保电子凭证已被冻结或注销，请联系参保地医保经办机构", status=403)
    if new_pin_hash is not None:
        # Another channel set it a moment ago: this PIN was never checked against it. A PIN a binder set
        # (proxy voucher: no channel of the person's own yet) is taken over by the person's own activation.
        if voucher.pin_hash and voucher.authorizations.exists():
            raise ApplicationError("ACTIVATION_STEP_ORDER", "支付密码已在其他渠道设置，请重新开始激活并输入已设置的密码",
                                   status=409)
        voucher.pin_hash = new_pin_hash
        voucher.pin_failures, voucher.pin_locked_until = 0, None
    psn_no = voucher.person.psn_no
    if voucher.status == VoucherStatus.INACTIVE:
        voucher.status = VoucherStatus.ACTIVE
        voucher.activated_at = timezone.now()
        outbox_enqueue(kind=OutboxKind.VOUCHER_ACTIVATED, person_key=psn_no, payload={})
    voucher.save()
    try:
        with transaction.atomic():
            authorization = ChannelAuthorization.objects.create(voucher=voucher, login=login, channel=login.channel)
    except IntegrityError:
        raise ApplicationError("ALREADY_ACTIVATED", "您已在本渠道激活医保电子凭证，无需重复激活", status=409)
    outbox_enqueue(kind=OutboxKind.AUTHORIZATION_ADDED, person_key=psn_no, payload={"channel": login.channel})
    return authorization


def voucher_is_proxy(voucher: Voucher) -> bool:
    """A proxy voucher: its PIN was set by a binder (family binding) and the
    person has never activated it on a channel of their own. Their own
    activation then sets a new PIN (pin mode ``new``) instead of asking for
    the binder's."""
    return bool(voucher.pin_hash) and not voucher.authorizations.exists()


def voucher_proxy_pin_set(*, person, new_pin_hash: str) -> tuple[Voucher, bool]:
    """Inside the caller's transaction: a binder sets (or changes) the PIN of
    a bound relative who has no channel of their own (proxy activation). The
    voucher is created if needed and activated (the core learns it through
    the outbox). Returns (voucher, first) where ``first`` is True when this
    activated it. Refused once the relative activated on their own phone."""
    voucher = voucher_get_or_create(person)
    voucher = Voucher.objects.select_for_update().get(pk=voucher.pk)
    if voucher.status in (VoucherStatus.FROZEN, VoucherStatus.REVOKED):
        raise ApplicationError("VOUCHER_UNAVAILABLE", "该亲属的医保电子凭证已被冻结或注销，请联系参保地医保经办机构",
                               status=403)
    if voucher.authorizations.exists():
        raise ApplicationError("FAMILY_PIN_OWNED_BY_RELATIVE",
                               "该亲属已在本人手机激活医保电子凭证，支付密码由其本人设置和修改", status=409)
    first = voucher.status == VoucherStatus.INACTIVE
    voucher.pin_hash = new_pin_hash
    voucher.pin_failures, voucher.pin_locked_until = 0, None
    if first:
        voucher.status = VoucherStatus.ACTIVE
        voucher.activated_at = timezone.now()
        outbox_enqueue(kind=OutboxKind.VOUCHER_ACTIVATED, person_key=person.psn_no, payload={"proxy": True})
    voucher.save()
    return voucher, first


@transaction.atomic
def authorization_revoke(*, person, authorization_id: int, actor: str, channel: str = "",
                         ip: str | None = None) -> ChannelAuthorization:
    authorization = (ChannelAuthorization.objects.select_for_update()
                     .filter(pk=authorization_id, voucher__person=person).first())
    if authorization is None:
        raise ApplicationError("AUTHORIZATION_NOT_FOUND", "未找到该授权记录", status=404)
    if authorization.status == AuthorizationStatus.ACTIVE:
        ChannelAuthorization.objects.filter(pk=authorization.pk, status=AuthorizationStatus.ACTIVE).update(
            status=AuthorizationStatus.REVOKED, revoked_at=timezone.now())
        audit_record(action="authorization.revoke", outcome=AuditOutcome.SUCCESS, actor=actor, person=person,
                     channel=channel, ip=ip, detail={"authorization_id": authorization.pk,
                                                     "revoked_channel": authorization.channel})
        outbox_enqueue(kind=OutboxKind.AUTHORIZATION_REVOKED, person_key=person.psn_no,
                       payload={"channel": authorization.channel})
        voucher_push(authorization.voucher_id, "access.changed")
        authorization.refresh_from_db()
    return authorization


def payments_cancel_pending(voucher_id: int, *, reason_code: str, err_msg: str) -> int:
    """Inside the caller's transaction: every payment of this voucher still
    waiting for the payer's PIN ends as refused (payments' own rule,
    payments/services/journal.py ``payments_cancel_pending``, reached through
    wallet/hooks.py since payments sits above the wallet). Returns how many."""
    cancel = hook("payments_cancel_pending")
    return cancel(voucher_id, reason_code=reason_code, err_msg=err_msg) if cancel else 0


def ectokens_end(voucher_id: int) -> int:
    """Inside the caller's transaction: the voucher's ecTokens end (terminal's
    rule, terminal/services/ectokens.py ``ectokens_end``, through wallet/hooks.py)."""
    end = hook("ectokens_end")
    return end(voucher_id) if end else 0


_CANCELLED = {"freeze": ("VOUCHER_FROZEN", "参保人的医保电子凭证已冻结，本次支付已取消"),
              "revoke": ("VOUCHER_REVOKED", "参保人的医保电子凭证已注销，本次支付已取消")}


_TRANSITIONS = {
    "freeze": ({VoucherStatus.ACTIVE}, VoucherStatus.FROZEN, OutboxKind.VOUCHER_FROZEN),
    "unfreeze": ({VoucherStatus.FROZEN}, VoucherStatus.ACTIVE, OutboxKind.VOUCHER_UNFROZEN),
    "revoke": ({VoucherStatus.ACTIVE, VoucherStatus.FROZEN, VoucherStatus.INACTIVE}, VoucherStatus.REVOKED,
               OutboxKind.VOUCHER_REVOKED),
}


@transaction.atomic
def voucher_status_change(*, psn_no: str, action: str, actor: str, reason: str) -> Voucher:
    """Operator (staff, or the person's own freeze) freeze / unfreeze /
    revoke, as a compare-and-swap on the current status; a freeze or revoke
    cancels the payments waiting for the PIN and ends the voucher's ecTokens;
    the core learns it through the outbox."""
    allowed, target, kind = _TRANSITIONS[action]
    voucher = Voucher.objects.select_for_update().select_related("person").filter(person__psn_no=psn_no).first()
    if voucher is None:
        raise ApplicationError("VOUCHER_NOT_FOUND", "未找到该人员的医保电子凭证", status=404)
    if voucher.status not in allowed:
        raise ApplicationError("VOUCHER_STATUS_CONFLICT", f"凭证当前状态为{voucher.get_status_display()}，不能{action}",
                               status=409)
    Voucher.objects.filter(pk=voucher.pk, status=voucher.status).update(status=target, updated_at=timezone.now())
    audit_record(action=f"voucher.{action}", outcome=AuditOutcome.SUCCESS, actor=actor, person=voucher.person,
                 detail={"reason": reason, "from": voucher.status, "to": target})
    if action in _CANCELLED:  # nothing may be confirmed (or charged) on a frozen or revoked voucher
        code, err_msg = _CANCELLED[action]
        payments_cancel_pending(voucher.pk, reason_code=code, err_msg=err_msg)
        ectokens_end(voucher.pk)  # the tokens counters already hold: refused now, and not revived by an unfreeze
    outbox_enqueue(kind=kind, person_key=psn_no, payload={"reason": reason})
    voucher_push(voucher.pk, "access.changed")
    voucher.refresh_from_db()
    return voucher
