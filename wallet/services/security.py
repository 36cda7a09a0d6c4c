"""The person's own security (issue #15, person side): change the payment
PIN, forgot-PIN with liveness, freeze the voucher (lost phone) and unfreeze
it with liveness, and the security page's overview.

Whose voucher is always the session's: ``login.person`` and its voucher,
under an active channel authorization of this very login. No endpoint takes
a psn_no, a voucher id or a person id, so one person's session can never act
on another's PIN (IDOR); a liveness result is accepted only for the
login's own person and the reference this login opened.

After any change or reset (``_after_pin_change``), in the same transaction:
the audit event, the outbox message for the core (``pin.changed`` /
``pin.reset``: the core's 9201 accepts both), the payments still waiting
for the PIN are cancelled (confirmations asked under the old PIN), and
after commit every open code page of the voucher gets ``pin.changed`` and a
fresh code, and every other login session of the person a
``security.notice`` naming the channel and the time. The notice is also in
the person's notifications (``security_notifications``, read from the audit
trail). See docs/subsystems/security.md."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.enums import AuditOutcome, Channel, LivenessPurpose
from accounts.services import audit_record
from accounts.services.activation import login_actor
from accounts.services.reset_tickets import reset_ticket_complete, reset_ticket_for_person
from accounts.services.security import (
    person_last_event,
    person_security_events,
    person_sessions_tell,
    security_proof_accept,
    security_proof_open,
    security_proof_spend,
)
from common import crypto, ratelimit
from common.errors import ApplicationError
from common.fields import is_ascii_digits
from common.redis import redis_client
from settlement.services.outbox import outbox_enqueue

from wallet.enums import AuthorizationStatus, VoucherStatus
from wallet.models import Voucher
from wallet.services.pin import (
    SUPPORT_HOTLINE,
    pin_check_strength,
    pin_is_locked,
    pin_replace,
    pin_tries_left,
    pin_verify,
)
from wallet.services.push import voucher_push
from wallet.services.vouchers import payments_cancel_pending, voucher_status_change

DAY = 86400
# Outbox kinds (plain strings, as family's: settlement's OutboxKind choices gain them with its next migration).
OUTBOX_PIN_CHANGED = "pin.changed"
OUTBOX_PIN_RESET = "pin.reset"
SELF_FREEZE_REASON = "本人挂失（手机丢失或凭证被他人使用）"

NOT_ACTIVATED = ("NOT_ACTIVATED", "您尚未激活医保电子凭证")


# --- whose voucher --------------------------------------------------------------------

def _own_voucher(login, *, allow_frozen: bool = False) -> Voucher:
    """The login's own person's voucher, under an active channel
    authorization of this login. Frozen: VOUCHER_FROZEN unless allowed."""
    person = login.person
    voucher = Voucher.objects.filter(person=person).first() if person is not None else None
    if voucher is None or voucher.status == VoucherStatus.INACTIVE:
        raise ApplicationError(*NOT_ACTIVATED, status=404)
    if voucher.status == VoucherStatus.REVOKED:
        raise ApplicationError("VOUCHER_UNAVAILABLE", "您的医保电子凭证已注销，请联系参保地医保经办机构", status=403)
    if not voucher.authorizations.filter(login=login, status=AuthorizationStatus.ACTIVE).exists():
        raise ApplicationError("CHANNEL_NOT_AUTHORIZED", "本渠道授权已解除，如需使用请重新激活", status=403)
    if voucher.status == VoucherStatus.FROZEN and not allow_frozen:
        raise ApplicationError("VOUCHER_FROZEN", "您的医保电子凭证已冻结，请先在“账户安全”中刷脸解冻", status=403)
    return voucher


def _limit(bucket: str, limit: int, message: str) -> None:
    """Per person per day, whichever channel. Only the person's own sessions
    reach these buckets (the person comes from the session), so nobody else
    can spend them."""
    wait = ratelimit.attempt(bucket, limit, DAY)
    if wait:
        raise ApplicationError("TOO_MANY_ATTEMPTS", message, status=429, detail={"retry_after": wait})


def _refused(action: str, login, person, ip, error: ApplicationError, detail: dict | None = None) -> None:
    with transaction.atomic():
        audit_record(action=action, outcome=AuditOutcome.FAILURE, actor=login_actor(login), person=person,
                     channel=login.channel, ip=ip, code=error.code, detail=detail or {})


def _new_pin_checks(person, new_pin, new_pin_confirm) -> None:
    if not isinstance(new_pin, str) or not is_ascii_digits(new_pin, 6):
        raise ApplicationError("PIN_FORMAT", "新支付密码须为6位数字")
    if new_pin_confirm != new_pin:
        raise ApplicationError("PIN_CONFIRM_MISMATCH", "两次输入的新支付密码不一致，请重新输入")
    pin_check_strength(new_pin, id_number=person.id_number)


# --- Idempotency-Key: a retry of a change or reset that succeeded gets the first answer ------------

IDEMPOTENCY_TTL_SECONDS = 86400


def _idem_key(action: str, person, key: str) -> str:
    return f"yibao:idem:{action}:{person.pk}:{crypto.keyed_hash(key)}"


def _idem_fingerprint(*parts) -> str:
    """A keyed MAC of the request (PINs included: never stored in the clear or as a bare hash)."""
    return crypto.keyed_hash("\x1f".join(str(p) for p in parts))


def _idem_replay(action: str, person, key: str, fingerprint: str) -> dict | None:
    """The first answer for ``key`` (same person, same body), or None. The
    same key with another body: IDEMPOTENCY_KEY_REUSED."""
    if not key:
        return None
    raw = redis_client().get(_idem_key(action, person, key))
    if raw is None:
        return None
    stored = json.loads(raw, parse_float=Decimal)  # never a binary float, even though no amount is kept
    if stored.get("fingerprint") != fingerprint:
        raise ApplicationError("IDEMPOTENCY_KEY_REUSED", "该请求标识已用于另一次操作，请重新提交", status=409)
    return stored["result"]


def _idem_remember(action: str, person, key: str, fingerprint: str, result: dict) -> dict:
    if key:
        redis_client().set(_idem_key(action, person, key),
                           json.dumps({"fingerprint": fingerprint, "result": result}, ensure_ascii=False),
                           ex=IDEMPOTENCY_TTL_SECONDS)
    return result


def _when(at: dt.datetime) -> str:
    local = timezone.localtime(at)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def _notice(kind: str, channel: str, at: dt.datetime) -> dict:
    channel_name = Channel(channel).label if channel in Channel.values else "医保服务"
    what = {"pin.changed": "修改了支付密码", "pin.reset": "刷脸重设了支付密码",
            "voucher.frozen": "冻结了医保电子凭证", "voucher.unfrozen": "解冻了医保电子凭证"}[kind]
    advice = ("如非本人操作，请立即在“账户安全”中冻结凭证并拨打医保服务热线" + SUPPORT_HOTLINE
              if kind != "voucher.frozen" else "冻结期间无法出示医保码和支付；找回手机后可刷脸解冻")
    return {"kind": kind, "channel": channel, "channel_name": channel_name, "at": timezone.localtime(at).isoformat(),
            "title": {"pin.changed": "支付密码已修改", "pin.reset": "支付密码已重设",
                      "voucher.frozen": "医保电子凭证已冻结", "voucher.unfrozen": "医保电子凭证已解冻"}[kind],
            "message": f"您已于{_when(at)}通过{channel_name}{what}。{advice}"}


def _tell(voucher: Voucher, *, session_id: int | None, notice: dict, code_pages: bool) -> None:
    """After commit: the person's other sessions get ``security.notice``; with
    ``code_pages`` every open code page of the voucher gets ``pin.changed``
    and a fresh code."""
    if code_pages:
        voucher_push(voucher.pk, "pin.changed", notice)
    person_sessions_tell(voucher.person, except_session_id=session_id, body=notice)


def _after_pin_change(voucher: Voucher, *, kind: str, login, session_id: int | None, ip, detail: dict) -> dict:
    """Inside the PIN's transaction: audit, outbox, pending confirmations
    cancelled, pages and sessions told after commit. Returns the notice."""
    now = timezone.now()
    cancelled = payments_cancel_pending(
        voucher.pk, reason_code="PIN_CHANGED",
        err_msg="参保人已修改支付密码，本次支付已取消，请重新扫码支付")
    audit_record(action="pin.change" if kind == "pin.changed" else "pin.reset", outcome=AuditOutcome.SUCCESS,
                 actor=login_actor(login), person=voucher.person, channel=login.channel, ip=ip,
                 detail={**detail, "payments_cancelled": cancelled})
    outbox_enqueue(kind=OUTBOX_PIN_CHANGED if kind == "pin.changed" else OUTBOX_PIN_RESET,
                   person_key=voucher.person.psn_no,
                   payload={"channel": login.channel, "at": now.isoformat(),
                            **({"unlocked": detail.get("unlocked", False)} if kind == "pin.reset" else {})})
    notice = _notice(kind, login.channel, now)
    _tell(voucher, session_id=session_id, notice=notice, code_pages=True)
    return {**notice, "payments_cancelled": cancelled}


# --- change ------------------------------------------------------------------------------

def pin_change(*, login, old_pin, new_pin, new_pin_confirm, session_id: int | None = None,
               ip: str | None = None, idempotency_key: str = "") -> dict:
    """Old PIN, then the new one twice. The new PIN obeys the activation's
    rules and differs from the old; a wrong old PIN counts toward the
    lockout (``pin_verify``). One PIN for every channel: it is the voucher's.
    With ``idempotency_key`` a retry of a change that succeeded (same body)
    gets the first answer instead of a wrong-old-PIN try."""
    voucher = _own_voucher(login)
    person = voucher.person
    fingerprint = _idem_fingerprint(login.pk, old_pin, new_pin, new_pin_confirm)
    replayed = _idem_replay("pin.change", person, idempotency_key, fingerprint)
    if replayed is not None:
        return replayed
    try:
        _limit(f"pin:change:psn:{person.psn_no}", settings.PIN_CHANGE_LIMIT_PER_DAY,
               "今日修改支付密码次数过多，请明天再试")
        if not isinstance(old_pin, str) or not is_ascii_digits(old_pin, 6):
            raise ApplicationError("PIN_FORMAT", "原支付密码须为6位数字")
        _new_pin_checks(person, new_pin, new_pin_confirm)
    except ApplicationError as error:
        _refused("pin.change", login, person, ip, error)
        raise
    # Counts a wrong old PIN toward the lockout; audited as pin.change.old_pin.
    pin_verify(voucher_id=voucher.pk, pin=old_pin, actor=login_actor(login), channel=login.channel, ip=ip,
               purpose="change.old_pin")
    if new_pin == old_pin:
        error = ApplicationError("PIN_SAME_AS_OLD", "新支付密码不能与原支付密码相同")
        _refused("pin.change", login, person, ip, error)
        raise error
    with transaction.atomic():
        voucher, _ = pin_replace(voucher_id=voucher.pk, new_pin=new_pin, old_pin=old_pin)
        if voucher.status != VoucherStatus.ACTIVE:  # frozen a moment ago
            raise ApplicationError("VOUCHER_FROZEN", "您的医保电子凭证已冻结，请先在“账户安全”中刷脸解冻", status=403)
        result = _after_pin_change(voucher, kind="pin.changed", login=login, session_id=session_id, ip=ip, detail={})
    return _idem_remember("pin.change", person, idempotency_key, fingerprint, result)


# --- forgot ------------------------------------------------------------------------------

def pin_forgot_start(*, login, ip: str | None = None):
    """Open a liveness check for the login's own person (works while the PIN
    is locked). Returns (liveness session, open staff reset ticket or None)."""
    voucher = _own_voucher(login)
    person = voucher.person
    try:
        _limit(f"pin:reset:psn:{person.psn_no}", settings.PIN_RESET_LIMIT_PER_DAY,
               "今日找回支付密码次数过多，请明天再试或拨打医保服务热线" + SUPPORT_HOTLINE)
        session = security_proof_open(login=login, purpose=LivenessPurpose.PIN_RESET)
    except ApplicationError as error:
        _refused("pin.reset.liveness_start", login, person, ip, error)
        raise
    with transaction.atomic():
        audit_record(action="pin.reset.liveness_start", outcome=AuditOutcome.SUCCESS, actor=login_actor(login),
                     person=person, channel=login.channel, ip=ip, detail={"actions": session.actions})
    return session, reset_ticket_for_person(person)


def pin_forgot_verify(*, login, reset_id, result, signature, ip: str | None = None,
                      now: dt.datetime | None = None) -> dt.datetime:
    """Accept the provider-signed result for this login's own forgot-PIN
    check. Returns until when the new PIN may be set."""
    voucher = _own_voucher(login)
    try:
        accepted = security_proof_accept(login=login, purpose=LivenessPurpose.PIN_RESET, reference=reset_id,
                                         result=result, signature=signature, now=now)
    except ApplicationError as error:
        _refused("pin.reset.liveness", login, voucher.person, ip, error)
        raise
    with transaction.atomic():
        audit_record(action="pin.reset.liveness", outcome=AuditOutcome.SUCCESS, actor=login_actor(login),
                     person=voucher.person, channel=login.channel, ip=ip, detail={"score": accepted["score"]})
    return timezone.now() + dt.timedelta(seconds=settings.SECURITY_PROOF_WINDOW_SECONDS)


def pin_forgot_complete(*, login, reset_id, new_pin, new_pin_confirm, session_id: int | None = None,
                        ip: str | None = None, idempotency_key: str = "") -> dict:
    """After an accepted forgot-PIN liveness check (this login's, within the
    window, once): the new PIN twice. Unlocks a locked PIN. An open staff
    reset ticket of the person is completed in the same transaction. With
    ``idempotency_key`` a retry of a reset that succeeded gets the first answer."""
    voucher = _own_voucher(login)
    person = voucher.person
    fingerprint = _idem_fingerprint(login.pk, reset_id, new_pin, new_pin_confirm)
    replayed = _idem_replay("pin.reset", person, idempotency_key, fingerprint)
    if replayed is not None:
        return replayed
    try:
        security_proof_spend(login=login, purpose=LivenessPurpose.PIN_RESET, reference=reset_id, peek=True)
        _new_pin_checks(person, new_pin, new_pin_confirm)
    except ApplicationError as error:
        _refused("pin.reset", login, person, ip, error)
        raise
    with transaction.atomic():
        security_proof_spend(login=login, purpose=LivenessPurpose.PIN_RESET, reference=reset_id)
        voucher, was_locked = pin_replace(voucher_id=voucher.pk, new_pin=new_pin)
        if voucher.status != VoucherStatus.ACTIVE:
            raise ApplicationError("VOUCHER_FROZEN", "您的医保电子凭证已冻结，请先在“账户安全”中刷脸解冻", status=403)
        ticket_id, ticket_error = "", ""
        ticket = reset_ticket_for_person(person)
        if ticket is not None:
            try:
                reset_ticket_complete(ticket_id=ticket.public_id, person=person, actor=login_actor(login),
                                      channel=login.channel, ip=ip)
                ticket_id = ticket.public_id
            except ApplicationError as error:  # expired or cancelled this very moment: the reset stands on its own
                ticket_error = error.code
        result = _after_pin_change(voucher, kind="pin.reset", login=login, session_id=session_id, ip=ip,
                                   detail={"unlocked": was_locked, "ticket_id": ticket_id,
                                           **({"ticket_error": ticket_error} if ticket_error else {})})
    return _idem_remember("pin.reset", person, idempotency_key, fingerprint,
                          {**result, "unlocked": was_locked, "ticket_completed": bool(ticket_id)})


# --- freeze / unfreeze -------------------------------------------------------------------

def voucher_freeze_own(*, login, session_id: int | None = None, ip: str | None = None) -> dict:
    """Lost phone: freeze the login's own voucher at once. Code pages close
    (``access.changed``), decode and payments are refused (they need an
    active voucher), payments waiting for the PIN are cancelled, the core
    learns it through the outbox (``voucher.frozen``). Freezing a frozen
    voucher answers the current state."""
    voucher = _own_voucher(login, allow_frozen=True)
    if voucher.status == VoucherStatus.FROZEN:
        return {"status": voucher.status, "already": True}
    with transaction.atomic():
        # Also cancels the payments waiting for the PIN (as any freeze does).
        voucher = voucher_status_change(psn_no=voucher.person.psn_no, action="freeze", actor=login_actor(login),
                                        reason=SELF_FREEZE_REASON)
        _tell(voucher, session_id=session_id, notice=_notice("voucher.frozen", login.channel, timezone.now()),
              code_pages=False)
    return {"status": voucher.status, "already": False}


def _frozen_by_person(voucher: Voucher) -> bool:
    """Frozen by the person themselves (a channel login), not by staff or an
    operator: only such a freeze may be lifted with the person's liveness."""
    event = person_last_event(voucher.person, "voucher.freeze")
    return event is not None and event.actor.split(":", 1)[0] in Channel.values


def _unfreeze_allowed(voucher: Voucher) -> None:
    if voucher.status != VoucherStatus.FROZEN:
        raise ApplicationError("VOUCHER_NOT_FROZEN", "您的医保电子凭证未冻结，无需解冻", status=409)
    if not _frozen_by_person(voucher):
        raise ApplicationError("VOUCHER_FROZEN_BY_STAFF",
                               "您的医保电子凭证由医保经办机构冻结，请联系客服或到经办窗口办理解冻"
                               f"（医保服务热线{SUPPORT_HOTLINE}）", status=403)


def voucher_unfreeze_start(*, login, ip: str | None = None):
    """Open a liveness check to unfreeze the login's own self-frozen voucher."""
    voucher = _own_voucher(login, allow_frozen=True)
    try:
        _unfreeze_allowed(voucher)
        _limit(f"voucher:unfreeze:psn:{voucher.person.psn_no}", settings.PIN_RESET_LIMIT_PER_DAY,
               "今日解冻尝试次数过多，请明天再试")
        session = security_proof_open(login=login, purpose=LivenessPurpose.VOUCHER_UNFREEZE)
    except ApplicationError as error:
        _refused("voucher.unfreeze.liveness_start", login, voucher.person, ip, error)
        raise
    with transaction.atomic():
        audit_record(action="voucher.unfreeze.liveness_start", outcome=AuditOutcome.SUCCESS,
                     actor=login_actor(login), person=voucher.person, channel=login.channel, ip=ip,
                     detail={"actions": session.actions})
    return session


def voucher_unfreeze_verify(*, login, reference, result, signature, session_id: int | None = None,
                            ip: str | None = None, now: dt.datetime | None = None) -> dict:
    """Accept the liveness result for this login's own unfreeze check, then
    unfreeze (once; the core learns ``voucher.unfrozen``)."""
    voucher = _own_voucher(login, allow_frozen=True)
    try:
        _unfreeze_allowed(voucher)
        security_proof_accept(login=login, purpose=LivenessPurpose.VOUCHER_UNFREEZE, reference=reference,
                              result=result, signature=signature, now=now)
    except ApplicationError as error:
        _refused("voucher.unfreeze.liveness", login, voucher.person, ip, error)
        raise
    with transaction.atomic():
        security_proof_spend(login=login, purpose=LivenessPurpose.VOUCHER_UNFREEZE, reference=reference)
        voucher = voucher_status_change(psn_no=voucher.person.psn_no, action="unfreeze", actor=login_actor(login),
                                        reason="本人刷脸解冻")
        _tell(voucher, session_id=session_id, notice=_notice("voucher.unfrozen", login.channel, timezone.now()),
              code_pages=False)
    return {"status": voucher.status}


# --- reads -------------------------------------------------------------------------------

_EVENT_TITLES = {
    ("pin.change", "success"): "修改支付密码", ("pin.change", "failure"): "修改支付密码未成功",
    ("pin.change.old_pin", "failure"): "修改支付密码：原密码错误",
    ("pin.reset", "success"): "刷脸重设支付密码", ("pin.reset", "failure"): "重设支付密码未成功",
    ("pin.unlock", "success"): "客服解锁支付密码", ("pin.reset_ticket.create", "success"): "客服发起密码重置",
    ("pin.reset_ticket.complete", "success"): "完成客服发起的密码重置",
    ("pin.reset_ticket.cancel", "success"): "客服撤销密码重置",
    ("voucher.freeze", "success"): "冻结医保电子凭证", ("voucher.unfreeze", "success"): "解冻医保电子凭证",
    ("authorization.revoke", "success"): "解除渠道授权",
}


def _by(actor: str) -> tuple[str, str]:
    """(who, channel code) as the person may see it: never a staff name."""
    prefix = actor.split(":", 1)[0]
    if prefix in Channel.values:
        return "本人", prefix
    if prefix in ("staff", "operator"):
        return "医保客服", ""
    return "系统", ""


def security_events(person, *, limit: int = 20) -> list[dict]:
    """The person's recent PIN and voucher security events (newest first)."""
    events = []
    for event in person_security_events(person, limit=limit):
        title = _EVENT_TITLES.get((event.action, event.outcome))
        if title is None:
            continue
        if event.code == "PIN_LOCKED":
            title = "支付密码已锁定"
        by, channel = _by(event.actor)
        channel = event.channel or channel
        events.append({"action": event.action, "outcome": event.outcome, "title": title, "code": event.code,
                       "by": by, "channel": channel,
                       "channel_name": Channel(channel).label if channel in Channel.values else "",
                       "at": event.occurred_at})
    return events


def security_notifications(person, *, limit: int = 20) -> list[dict]:
    """The notices sent after a change, reset, freeze or unfreeze, as the
    person's notifications list shows them (from the audit trail)."""
    kinds = {"pin.change": "pin.changed", "pin.reset": "pin.reset", "voucher.freeze": "voucher.frozen",
             "voucher.unfreeze": "voucher.unfrozen"}
    items = []
    for event in person_security_events(person, limit=limit, actions=tuple(kinds)):
        if event.outcome != AuditOutcome.SUCCESS:
            continue
        _, channel = _by(event.actor)
        notice = _notice(kinds[event.action], event.channel or channel, event.occurred_at)
        items.append({"kind": notice["kind"], "title": notice["title"], "message": notice["message"],
                      "at": event.occurred_at, "channel_name": notice["channel_name"]})
    return items


def security_get(login) -> dict:
    """The security page: the voucher's state, its channels, recent events,
    and an open staff reset ticket (the person completes it with forgot-PIN)."""
    voucher = _own_voucher(login, allow_frozen=True)
    person = voucher.person
    ticket = reset_ticket_for_person(person)
    locked = pin_is_locked(voucher)
    return {
        "voucher": {"status": voucher.status, "frozen_by_self": voucher.status == VoucherStatus.FROZEN
                    and _frozen_by_person(voucher),
                    "pin_locked": locked, "pin_locked_until": voucher.pin_locked_until if locked else None,
                    "pin_tries_left": pin_tries_left(voucher)},
        "channels": list(voucher.authorizations.order_by("-created_at", "-id")),
        "events": security_events(person),
        "reset_ticket": None if ticket is None else {"expires_at": ticket.expires_at},
        "limits": {"changes_per_day": settings.PIN_CHANGE_LIMIT_PER_DAY,
                   "resets_per_day": settings.PIN_RESET_LIMIT_PER_DAY},
    }
