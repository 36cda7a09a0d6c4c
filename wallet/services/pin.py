"""Payment PIN: strength rules, Argon2id hashing, verification with lockout.

The PIN is per voucher: its state (hash, failure count, lock) lives in the
Voucher's columns, and its rules live here, next to them. Five consecutive wrong PINs lock it for
PIN_LOCK_SECONDS (24 h), until the person resets it with forgot-PIN (liveness,
wallet/services/security.py) or until an operator unlocks it. The refusal says
when the lock ends, offers forgot-PIN and gives the support hotline."""

from __future__ import annotations

import datetime as dt

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.enums import AuditOutcome
from accounts.services import audit_record
from common.errors import ApplicationError
from common.fields import is_ascii_digits
from settlement.enums import OutboxKind
from settlement.services.outbox import outbox_enqueue

from wallet.models import Voucher

_hasher = PasswordHasher(type=Type.ID)  # argon2-cffi defaults: RFC 9106 low-memory profile
SUPPORT_HOTLINE = "12393"  # 全国医疗保障服务热线


def pin_check_strength(pin: str, *, id_number: str) -> None:
    """Refuse PINs that are easy to guess for anyone who knows the ID."""
    if not is_ascii_digits(pin, 6):  # not r"^\d{6}$": that takes "１２３４５６" and "258036\n"
        raise ApplicationError("PIN_FORMAT", "支付密码须为6位数字")
    if len(set(pin)) == 1:
        raise ApplicationError("PIN_WEAK_REPEATED", "支付密码不能是相同的数字")
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:])}
    if steps in ({1}, {-1}):
        raise ApplicationError("PIN_WEAK_SEQUENCE", "支付密码不能是连续递增或递减的数字")
    yymmdd, mmdd = id_number[8:14], id_number[10:14]
    if pin == yymmdd or mmdd in pin:
        raise ApplicationError("PIN_WEAK_BIRTHDAY", "支付密码不能包含您的出生日期")
    if pin == id_number[-6:]:
        raise ApplicationError("PIN_WEAK_ID_SUFFIX", "支付密码不能是身份证号码后六位")


def pin_hash(pin: str) -> str:
    return _hasher.hash(pin)


def pin_verify(*, voucher_id: int, pin: str, actor: str, channel: str = "", ip: str | None = None,
               purpose: str = "verify") -> None:
    """Check ``pin`` against the voucher's hash, counting failures under a row
    lock. Raises PIN_LOCKED / PIN_INCORRECT (with ``tries_left``)."""
    failure: ApplicationError | None = None
    with transaction.atomic():
        voucher = Voucher.objects.select_for_update().select_related("person").get(pk=voucher_id)
        now = timezone.now()
        if voucher.pin_locked_until and voucher.pin_locked_until > now:
            failure = pin_locked_error(voucher.pin_locked_until)
        elif voucher.pin_locked_until:  # the lock has expired: start counting afresh
            voucher.pin_locked_until = None
            voucher.pin_failures = 0
        if failure is None:
            ok = _matches(voucher.pin_hash, pin)
            if ok:
                voucher.pin_failures = 0
                if _hasher.check_needs_rehash(voucher.pin_hash):
                    voucher.pin_hash = pin_hash(pin)
            else:
                voucher.pin_failures += 1
                tries_left = max(0, settings.PIN_MAX_FAILURES - voucher.pin_failures)
                if tries_left == 0:
                    voucher.pin_locked_until = now + dt.timedelta(seconds=settings.PIN_LOCK_SECONDS)
                    outbox_enqueue(kind=OutboxKind.PIN_LOCKED, person_key=voucher.person.psn_no,
                                   payload={"locked_until": voucher.pin_locked_until.isoformat()})
                    failure = pin_locked_error(voucher.pin_locked_until, tries_left=0)
                else:
                    failure = ApplicationError("PIN_INCORRECT", f"支付密码错误，还可尝试{tries_left}次",
                                               detail={"tries_left": tries_left})
            voucher.save(update_fields=["pin_failures", "pin_locked_until", "pin_hash", "updated_at"])
        audit_record(action=f"pin.{purpose}", outcome=AuditOutcome.FAILURE if failure else AuditOutcome.SUCCESS,
                     actor=actor, person=voucher.person, channel=channel, ip=ip,
                     code=failure.code if failure else "",
                     detail={"failures": voucher.pin_failures})
    if failure:
        raise failure


def pin_lock_advice(locked_until: dt.datetime) -> str:
    """When the lock ends and the ways out: forgot-PIN (the person's own
    liveness check, then a new PIN: it unlocks at once) or the hotline (an
    operator unlocks after an in-person check)."""
    until = timezone.localtime(locked_until)
    return (f"将于{until.month}月{until.day}日 {until:%H:%M} 自动解锁；"
            f"也可点击“忘记支付密码”刷脸后设置新密码并立即解锁；如需帮助请拨打医保服务热线{SUPPORT_HOTLINE}")


def pin_locked_error(locked_until: dt.datetime, *, tries_left: int | None = None) -> ApplicationError:
    """The one PIN_LOCKED refusal, wherever the lock is met."""
    detail = {"locked_until": timezone.localtime(locked_until).isoformat(), "support_hotline": SUPPORT_HOTLINE,
              "forgot_pin": True}
    if tries_left is not None:
        detail["tries_left"] = tries_left
    return ApplicationError("PIN_LOCKED", f"支付密码错误次数过多，已锁定，{pin_lock_advice(locked_until)}",
                            status=423, detail=detail)


def _matches(stored: str, pin: str) -> bool:
    if not stored or not is_ascii_digits(pin, 6):
        return False
    try:
        return _hasher.verify(stored, pin)
    except (VerificationError, InvalidHashError):
        return False


def pin_replace(*, voucher_id: int, new_pin: str, old_pin: str | None = None) -> tuple[Voucher, bool]:
    """Inside the caller's transaction: store ``new_pin`` (already checked by
    ``pin_check_strength``) as the voucher's one PIN, for every channel, and
    clear the failure count and any lock. With ``old_pin`` (a change) the
    stored PIN must still be it under the row lock: a concurrent change
    refuses this one (PIN_CHANGED_CONCURRENTLY). Returns (voucher, was_locked)."""
    voucher = Voucher.objects.select_for_update().select_related("person").get(pk=voucher_id)
    if old_pin is not None and not _matches(voucher.pin_hash, old_pin):
        raise ApplicationError("PIN_CHANGED_CONCURRENTLY", "支付密码刚刚已被修改，请使用新的支付密码重试", status=409)
    was_locked = pin_is_locked(voucher)
    voucher.pin_hash = pin_hash(new_pin)
    voucher.pin_failures, voucher.pin_locked_until = 0, None
    voucher.save(update_fields=["pin_hash", "pin_failures", "pin_locked_until", "updated_at"])
    return voucher, was_locked


def pin_tries_left(voucher) -> int:
    if voucher.pin_locked_until and voucher.pin_locked_until > timezone.now():
        return 0
    if voucher.pin_locked_until:
        return settings.PIN_MAX_FAILURES
    return max(0, settings.PIN_MAX_FAILURES - voucher.pin_failures)


def pin_is_locked(voucher) -> bool:
    return bool(voucher.pin_locked_until and voucher.pin_locked_until > timezone.now())


@transaction.atomic
def pin_unlock(*, psn_no: str, operator: str, reason: str, actor: str | None = None) -> bool | None:
    """Operator: clear the lock and the failure count of the person's voucher
    (audited; the core learns it through the outbox if it was locked).
    Returns whether it was locked, or None when the person has no voucher."""
    voucher = Voucher.objects.select_for_update().select_related("person").filter(person__psn_no=psn_no).first()
    if voucher is None:
        return None
    was_locked = voucher.pin_locked_until is not None
    voucher.pin_locked_until = None
    voucher.pin_failures = 0
    voucher.save(update_fields=["pin_locked_until", "pin_failures", "updated_at"])
    audit_record(action="pin.unlock", outcome=AuditOutcome.SUCCESS, actor=actor or f"operator:{operator}",
                 person=voucher.person, detail={"reason": reason, "was_locked": was_locked})
    if was_locked:
        outbox_enqueue(kind=OutboxKind.PIN_UNLOCKED, person_key=psn_no, payload={"reason": reason})
    return was_locked
