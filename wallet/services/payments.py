"""Paying at the counter: the wallet's side of 2101 / 2102 / 2103 / 2601.

The wallet checks the ecToken (this institution's, unexpired), the voucher
(active) and the PIN (not locked) before anything reaches the core; asks the
payer to confirm on the phone when the personal-account part exceeds
PAYMENT_CONFIRM_THRESHOLD_FEN; and keeps a journal (``Payment``) of every
settlement it brokered.

Confirmation protocol (chosen: *answer pending, the terminal asks again*):
the first 2102 with a msgid that needs confirmation is answered
``infcode 1009 CONFIRMATION_PENDING``; nothing is settled and the answer is
not remembered for the msgid. The terminal repeats the very same request
(same msgid, same body) every few seconds; once the payer has confirmed with
the PIN the repeat settles and its answer is final. Declined or expired →
``1010 CONFIRMATION_REFUSED`` (final). Retrying is always safe: the journal
row is keyed on (institution, msgid) and the core settles a msgid at most once.

Unknown outcomes: the journal row is written ``submitted`` *before* 2102 is
sent. If the core times out after sending, the row becomes ``unknown`` and is
resolved — ask the core (9101) by msgid; if it settled, record it; if it
never ran, fence it out with 2601 and record a failure — before anyone is
told "paid". The terminal gets ``5002 OUTCOME_UNKNOWN`` (retry the same
msgid) meanwhile; a Celery task resolves it if the terminal goes away.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.enums import AuditOutcome
from accounts.services import audit_record
from common.envelope import Envelope, EnvelopeError, InfCode, answer, json_ready
from common.errors import ApplicationError
from common.fields import FieldError, amount_fen
from common.money import fen_to_amount, fen_to_yuan, output_numbers, yuan_to_fen
from settlement.client import core_client
from settlement.errors import CoreError, CoreProtocolError, CoreRefused, CoreTimeout, CoreUnavailable

from ..enums import PaymentStatus, VoucherStatus
from ..models import EcToken, Institution, Payment, Voucher
from .ectokens import ectoken_resolve
from .institutions import institution_certno
from .pin import pin_is_locked, pin_locked_error, pin_verify

logger = logging.getLogger(__name__)


class NotStored(Exception):
    """An answer the gateway must not remember for the msgid (pending,
    unknown, core unreachable): the terminal's retry runs again."""

    def __init__(self, answer: dict):
        self.answer = answer


# --- shared checks -------------------------------------------------------------------

def _token_for(env: Envelope, institution: Institution, druginfo: dict) -> EcToken:
    cert_type = str(druginfo.get("mdtrt_cert_type", ""))
    if cert_type != "01":
        raise EnvelopeError(InfCode.CERT_TYPE_UNSUPPORTED, "医保电子凭证结算须使用 mdtrt_cert_type=01（ecToken）",
                            msgid=env.msgid)
    token = ectoken_resolve(str(druginfo.get("mdtrt_cert_no", "")), institution, msgid=env.msgid)
    voucher = token.voucher
    if voucher.status != VoucherStatus.ACTIVE:
        raise EnvelopeError(InfCode.VOUCHER_UNAVAILABLE, "该医保电子凭证当前不可用", msgid=env.msgid)
    if pin_is_locked(voucher):
        raise EnvelopeError(InfCode.PIN_LOCKED, "参保人支付密码已锁定，暂不能使用医保电子凭证支付", msgid=env.msgid)
    if druginfo.get("psn_no") and str(druginfo["psn_no"]) != voucher.person.psn_no:
        raise EnvelopeError(InfCode.INPUT_INVALID, "psn_no 与电子凭证不符", msgid=env.msgid)
    return token


def _core_input(env: Envelope, psn_no: str, *, expected: Payment | None = None) -> dict:
    """The terminal's bill, addressed to the core by psn_no (the core never
    sees the ecToken). With ``expected``, the confirmed split rides along and
    the core refuses if it no longer holds."""
    druginfo = json_ready(dict(env.input.get("druginfo") or {}))
    druginfo.update({"psn_no": psn_no, "mdtrt_cert_type": "99", "mdtrt_cert_no": psn_no})
    for name in ("fund_pay_sumamt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay"):
        druginfo.pop(name, None)
    if expected is not None:
        druginfo.update({"fund_pay_sumamt": fen_to_amount(expected.fund_fen),
                         "acct_pay": fen_to_amount(expected.acct_fen),
                         "acct_mulaid_pay": fen_to_amount(expected.mulaid_fen),
                         "psn_cash_pay": fen_to_amount(expected.cash_fen)})
    return {"druginfo": druginfo, "drugdetail": json_ready(env.input.get("drugdetail"))}


def _call(env: Envelope, infno: str, input: dict, institution: Institution, *, msgid: str | None = None) -> dict:
    return core_client().call(infno, input, msgid=msgid or env.msgid, fixmedins_code=institution.fixmedins_code,
                              extra={"fixmedins_name": institution.name})


def _refusal(env: Envelope, refused: CoreRefused) -> EnvelopeError:
    code = InfCode(refused.infcode) if refused.infcode in InfCode._value2member_map_ else InfCode.INTERNAL
    return EnvelopeError(code, refused.err_msg, msgid=env.msgid)


def _unavailable(env: Envelope) -> NotStored:
    return NotStored(answer(env.msgid, infcode=InfCode.CORE_UNAVAILABLE,
                            err_msg="医保结算平台暂时无法访问，请稍后用相同 msgid 重试"))


def _amounts(setlinfo: dict) -> dict:
    """The core's setlinfo amounts (exact Decimal from the JSON number's text,
    settlement.client) as the journal's integer fen."""
    return {"medfee_fen": yuan_to_fen(setlinfo["medfee_sumamt"], "medfee_sumamt"),
            "fund_fen": yuan_to_fen(setlinfo["fund_pay_sumamt"], "fund_pay_sumamt"),
            "acct_fen": yuan_to_fen(setlinfo["acct_pay"], "acct_pay"),
            "mulaid_fen": yuan_to_fen(setlinfo.get("acct_mulaid_pay", 0), "acct_mulaid_pay"),
            "cash_fen": yuan_to_fen(setlinfo["psn_cash_pay"], "psn_cash_pay")}


def _terminal_output(output: dict, institution: Institution) -> dict:
    """The core's output as the terminal gets it: 数值型 fields as numbers
    (two-place amounts), whichever of the per-item (detlcutinfo) and per-fund
    (setldetail) nodes the core sent, passed through; the ID number masked
    unless the institution is entitled to it, and the certificate type the
    terminal used (01, the e-voucher) rather than the wallet's internal one."""
    output = output_numbers(output)
    setlinfo = output.get("setlinfo")
    if isinstance(setlinfo, dict):
        if setlinfo.get("certno"):
            setlinfo["certno"] = institution_certno(institution, str(setlinfo["certno"]))
        if "mdtrt_cert_type" in setlinfo:
            setlinfo["mdtrt_cert_type"] = "01"
    return output


def _needs_confirmation(acct_fen: int) -> bool:
    return acct_fen > settings.PAYMENT_CONFIRM_THRESHOLD_FEN


# --- 2101 --------------------------------------------------------------------------------

def payment_pre_settle(institution: Institution, env: Envelope) -> dict:
    druginfo = env.input.get("druginfo")
    if not isinstance(druginfo, dict):
        raise EnvelopeError(InfCode.INPUT_INVALID, "缺少 input.druginfo", msgid=env.msgid)
    token = _token_for(env, institution, druginfo)
    try:
        output = _call(env, "2101", _core_input(env, token.voucher.person.psn_no), institution)
    except CoreRefused as refused:
        raise _refusal(env, refused)
    except CoreError:
        raise _unavailable(env)
    acct = yuan_to_fen(output["setlinfo"]["acct_pay"], "acct_pay")
    output = _terminal_output(output, institution)
    output["confirm_required"] = "1" if _needs_confirmation(acct) else "0"
    return answer(env.msgid, output)


# --- 2102 --------------------------------------------------------------------------------

def payment_settle(institution: Institution, env: Envelope) -> dict:
    druginfo = env.input.get("druginfo")
    if not isinstance(druginfo, dict):
        raise EnvelopeError(InfCode.INPUT_INVALID, "缺少 input.druginfo", msgid=env.msgid)
    try:
        amount_fen(druginfo.get("medfee_sumamt"), "medfee_sumamt")
    except FieldError as error:
        raise EnvelopeError(InfCode.INPUT_INVALID, error.message, msgid=env.msgid)
    payment = Payment.objects.filter(institution=institution, msgid=env.msgid).select_related("voucher").first()
    if payment is not None and payment.request_hash != env.body_hash():
        raise EnvelopeError(InfCode.MSGID_CONFLICT, "msgid 已被另一笔不同内容的交易使用", msgid=env.msgid)
    token = _token_for(env, institution, druginfo) if payment is None else None
    if payment is None:
        payment = _payment_open(institution, env, token)
    return _payment_advance(institution, env, payment)


def _payment_open(institution: Institution, env: Envelope, token: EcToken) -> Payment:
    """Write the journal row (committed) before anything is sent: from here on
    an outcome can be unknown, never unrecorded."""
    medfee = amount_fen(env.input["druginfo"].get("medfee_sumamt"), "medfee_sumamt")
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                public_id=secrets.token_hex(16), institution=institution, msgid=env.msgid, core_msgid=env.msgid,
                voucher=token.voucher, status=PaymentStatus.CONFIRMED, request_hash=env.body_hash(),
                request=json_ready(env.input), medfee_fen=medfee,
            )
            audit_record(action="payment.open", outcome=AuditOutcome.SUCCESS, actor=institution.fixmedins_code,
                         person=token.voucher.person, detail={"msgid": env.msgid, "medfee_fen": medfee})
    except IntegrityError:  # a concurrent request with this msgid opened it first
        payment = Payment.objects.select_related("voucher").get(institution=institution, msgid=env.msgid)
    return payment


def _payment_needs_confirmation(payment: Payment, output: dict) -> None:
    """The core refused the one-call settle because the account part is over
    the threshold: ask the payer (nothing was posted)."""
    amounts = _amounts(output["setlinfo"])
    deadline = timezone.now() + dt.timedelta(seconds=settings.PAYMENT_CONFIRM_TTL_SECONDS)
    with transaction.atomic():
        moved = Payment.objects.filter(pk=payment.pk, status__in=[PaymentStatus.SUBMITTED, PaymentStatus.UNKNOWN]).update(
            status=PaymentStatus.AWAITING_CONFIRMATION, confirmation_required=True, confirm_deadline=deadline,
            core_output=output, **amounts)
        if moved:
            payment.refresh_from_db()
            transaction.on_commit(lambda: _push(payment.voucher_id, "payment.confirm", _confirm_message(payment)))


def _payment_advance(institution: Institution, env: Envelope, payment: Payment) -> dict:
    payment.refresh_from_db()
    status = payment.status
    if status == PaymentStatus.AWAITING_CONFIRMATION:
        if payment.confirm_deadline and payment.confirm_deadline <= timezone.now():
            Payment.objects.filter(pk=payment.pk, status=status).update(status=PaymentStatus.EXPIRED,
                                                                         err_msg="参保人未在规定时间内确认")
            return _payment_advance(institution, env, payment)
        if Voucher.objects.filter(pk=payment.voucher_id, pin_locked_until__gt=timezone.now()).exists():
            # Locked while the phone was asked (here or on any other path): the
            # payer can no longer confirm, so the terminal is told at once.
            _payments_refuse_pin_locked(payment.voucher_id)
            return _payment_advance(institution, env, payment)
        raise NotStored(answer(env.msgid, {"confirm_status": "pending", "acct_pay": fen_to_amount(payment.acct_fen),
                                           "expires_at": timezone.localtime(payment.confirm_deadline).isoformat()},
                               infcode=InfCode.CONFIRMATION_PENDING,
                               err_msg="请参保人在手机上输入支付密码确认，确认后请用相同 msgid 重新提交"))
    if status in (PaymentStatus.DECLINED, PaymentStatus.EXPIRED):
        message = "参保人已拒绝本次支付" if status == PaymentStatus.DECLINED else "参保人未在规定时间内确认，本次支付已取消"
        raise EnvelopeError(InfCode.CONFIRMATION_REFUSED, message, msgid=env.msgid)
    if status == PaymentStatus.CONFIRMED:
        return _submit(institution, env, payment)
    if status in (PaymentStatus.SUBMITTED, PaymentStatus.UNKNOWN):
        payment_resolve(payment.pk)
        payment.refresh_from_db()
        if payment.status in (PaymentStatus.SUBMITTED, PaymentStatus.UNKNOWN):
            raise NotStored(_unknown_answer(env))
        return _payment_advance(institution, env, payment)
    if status in (PaymentStatus.SETTLED, PaymentStatus.REVERSED):
        return answer(env.msgid, _terminal_output(payment.core_output or {}, institution))
    if status == PaymentStatus.FAILED:
        raise EnvelopeError(InfCode(payment.infcode) if payment.infcode in InfCode._value2member_map_
                            else InfCode.INTERNAL, payment.err_msg or "结算失败", msgid=env.msgid)
    raise EnvelopeError(InfCode.INTERNAL, "交易状态异常", msgid=env.msgid)  # pragma: no cover


def _unknown_answer(env: Envelope) -> dict:
    return answer(env.msgid, infcode=InfCode.OUTCOME_UNKNOWN,
                  err_msg="结算结果确认中，请勿重复收费，稍后用相同 msgid 重新提交查询结果")


def _submit(institution: Institution, env: Envelope, payment: Payment) -> dict:
    """Send 2102. Unconfirmed: one call carrying the confirmation threshold
    (``acct_pay_limit``) — the core settles, or answers 4008 with the split
    and posts nothing. Confirmed: under ``"C" + msgid`` with the confirmed
    split, which the core refuses (4003) if it no longer holds."""
    confirmed = payment.confirmation_required
    core_msgid = f"C{payment.msgid}"[:40] if confirmed else payment.msgid
    moved = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.CONFIRMED).update(
        status=PaymentStatus.SUBMITTED, core_msgid=core_msgid)
    if not moved:  # someone else submitted it a moment ago
        return _payment_advance(institution, env, payment)
    core_input = _core_input(env, payment.voucher.person.psn_no, expected=payment if confirmed else None)
    if not confirmed:
        core_input["druginfo"]["acct_pay_limit"] = fen_to_amount(settings.PAYMENT_CONFIRM_THRESHOLD_FEN)
    try:
        output = _call(env, "2102", core_input, institution, msgid=core_msgid)
    except CoreUnavailable:
        # Never reached the core: nothing happened there. Back to confirmed; the retry submits again.
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.SUBMITTED).update(status=PaymentStatus.CONFIRMED)
        raise _unavailable(env)
    except (CoreTimeout, CoreProtocolError) as exc:
        logger.warning("2102 outcome unknown for %s %s: %s", institution.fixmedins_code, env.msgid, exc)
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.SUBMITTED).update(status=PaymentStatus.UNKNOWN)
        _enqueue_resolve(payment.pk)
        raise NotStored(_unknown_answer(env))
    except CoreRefused as refused:
        if refused.infcode == InfCode.CONFIRMATION_REQUIRED:
            _payment_needs_confirmation(payment, refused.answer["output"])
            return _payment_advance(institution, env, payment)
        _payment_fail(payment, refused.infcode, refused.err_msg)
        raise _refusal(env, refused)
    _payment_settled(payment, output)
    return answer(env.msgid, _terminal_output(output, institution))


def _enqueue_resolve(payment_id: int) -> None:
    """Hand the unknown outcome to a worker (the beat sweep catches it too if
    this enqueue is lost: the row is already ``unknown`` in the database)."""
    from ..tasks import payment_resolve_task

    try:
        payment_resolve_task.apply_async((payment_id,), countdown=5)
    except Exception:  # broker down: the sweep will find the row
        logger.exception("could not enqueue resolve for payment %s", payment_id)


def _payment_settled(payment: Payment, output: dict) -> None:
    amounts = _amounts(output["setlinfo"])
    with transaction.atomic():
        moved = Payment.objects.filter(pk=payment.pk, status__in=[PaymentStatus.SUBMITTED, PaymentStatus.UNKNOWN]).update(
            status=PaymentStatus.SETTLED, core_output=output, setl_id=output["setlinfo"]["setl_id"],
            mdtrt_id=output["setlinfo"].get("mdtrt_id", ""), settled_at=timezone.now(), infcode=0, **amounts)
        if moved:
            audit_record(action="payment.settled", outcome=AuditOutcome.SUCCESS,
                         actor=payment.institution.fixmedins_code, person=payment.voucher.person,
                         detail={"msgid": payment.msgid, "setl_id": output["setlinfo"]["setl_id"]})
            from .balance import balance_remember

            balc_fen = yuan_to_fen(output["setlinfo"]["balc"], "balc")
            balance_remember(payment.voucher.person, balc_fen)
            # The phone gets the app API's yuan strings (fen_to_yuan), from the journal's fen.
            transaction.on_commit(lambda: _push(payment.voucher_id, "payment.completed", {
                "id": payment.public_id, "institution": payment.institution.name,
                "medfee_sumamt": fen_to_yuan(amounts["medfee_fen"]), "acct_pay": fen_to_yuan(amounts["acct_fen"]),
                "psn_cash_pay": fen_to_yuan(amounts["cash_fen"]), "fund_pay_sumamt": fen_to_yuan(amounts["fund_fen"]),
                "balc": fen_to_yuan(balc_fen)}))


def _payment_fail(payment: Payment, infcode: int, err_msg: str) -> None:
    Payment.objects.filter(pk=payment.pk, status__in=[PaymentStatus.SUBMITTED, PaymentStatus.UNKNOWN]).update(
        status=PaymentStatus.FAILED, infcode=infcode, err_msg=err_msg[:200])


def payment_resolve(payment_id: int) -> str:
    """Resolve a submitted/unknown payment by asking the core (9101); if the
    2102 never ran, fence it out with 2601. Idempotent; returns the status."""
    payment = Payment.objects.select_related("institution", "voucher__person").get(pk=payment_id)
    if payment.status not in (PaymentStatus.SUBMITTED, PaymentStatus.UNKNOWN):
        return payment.status
    Payment.objects.filter(pk=payment.pk).update(resolve_attempts=payment.resolve_attempts + 1)
    institution = payment.institution
    client = core_client()
    try:
        core_msgid = payment.core_msgid or payment.msgid
        status = client.call("9101", {"data": {"omsgid": core_msgid, "oinfno": "2102"}},
                             fixmedins_code=institution.fixmedins_code)["msg"]
        if status["status"] == "done":
            first = status["answer"]
            if first.get("infcode") == 0:
                _payment_settled(payment, first["output"])
            elif first.get("infcode") == InfCode.CONFIRMATION_REQUIRED:
                _payment_needs_confirmation(payment, first["output"])
            else:
                _payment_fail(payment, first.get("infcode", InfCode.INTERNAL), first.get("err_msg", ""))
        elif status["status"] in ("absent", "reversed_before_run"):
            fenced = client.call("2601", {"data": {"psn_no": payment.voucher.person.psn_no, "omsgid": core_msgid,
                                                   "oinfno": "2102"}}, fixmedins_code=institution.fixmedins_code)
            if fenced.get("result") in ("original_absent", "original_failed"):
                _payment_fail(payment, InfCode.ORIGINAL_REVERSED, "结算未完成，已冲正，参保人未被扣款，请重新结算")
            elif fenced.get("result") in ("reversed", "already_reversed"):  # it ran after all; now undone
                _payment_fail(payment, InfCode.ORIGINAL_REVERSED, "结算结果不明，已冲正，参保人未被扣款，请重新结算")
        # "processing": the core is still on it; stay unknown and ask again later.
    except CoreError as exc:
        logger.info("payment %s still unresolved: %s", payment.pk, exc)
    payment.refresh_from_db()
    return payment.status


# --- the payer's side ------------------------------------------------------------------

def _confirm_message(payment: Payment) -> dict:
    return {"id": payment.public_id, "institution": payment.institution.name,
            "medfee_sumamt": fen_to_yuan(payment.medfee_fen), "acct_pay": fen_to_yuan(payment.acct_fen),
            "psn_cash_pay": fen_to_yuan(payment.cash_fen), "fund_pay_sumamt": fen_to_yuan(payment.fund_fen),
            "expires_at": timezone.localtime(payment.confirm_deadline).isoformat() if payment.confirm_deadline else None}


def payment_confirm(*, login, public_id: str, pin: str, ip: str | None = None) -> Payment:
    """The payer confirms with the PIN (wrong PINs count toward the lockout)."""
    payment = _payer_payment(login, public_id)
    if payment.status != PaymentStatus.AWAITING_CONFIRMATION:
        if payment.status in (PaymentStatus.CONFIRMED, PaymentStatus.SUBMITTED, PaymentStatus.SETTLED):
            return payment  # a double tap: already confirmed
        locked_until = payment.voucher.pin_locked_until
        if payment.infcode == InfCode.PIN_LOCKED and pin_is_locked(payment.voucher):
            raise pin_locked_error(locked_until)  # refused by the lock: say so, and when it ends
        raise ApplicationError("PAYMENT_NOT_PENDING", "该笔支付已不需要确认", status=409)
    if payment.confirm_deadline and payment.confirm_deadline <= timezone.now():
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.AWAITING_CONFIRMATION).update(
            status=PaymentStatus.EXPIRED, err_msg="参保人未在规定时间内确认")
        raise ApplicationError("PAYMENT_EXPIRED", "确认已超时，请让收银员重新发起", status=409)
    try:
        pin_verify(voucher_id=payment.voucher_id, pin=pin, actor=f"{login.channel}:{login.openid}",
                   channel=login.channel, ip=ip, purpose="payment")
    except ApplicationError as error:
        if error.code == "PIN_LOCKED":  # nobody can confirm any more: refuse now, not at the deadline
            _payments_refuse_pin_locked(payment.voucher_id)
        raise
    with transaction.atomic():
        moved = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.AWAITING_CONFIRMATION).update(
            status=PaymentStatus.CONFIRMED, confirmed_at=timezone.now())
        if moved:
            audit_record(action="payment.confirm", outcome=AuditOutcome.SUCCESS, actor=f"{login.channel}:{login.openid}",
                         person=payment.voucher.person, channel=login.channel, ip=ip,
                         detail={"msgid": payment.msgid, "acct_fen": payment.acct_fen})
    payment.refresh_from_db()
    return payment


def _payments_refuse_pin_locked(voucher_id: int) -> None:
    """Every payment of this voucher still waiting for the PIN ends as
    refused (nothing was posted: the core answered 4008), so the terminal's
    next retry of the msgid gets 1011 PIN_LOCKED."""
    with transaction.atomic():
        waiting = list(Payment.objects.select_related("voucher__person", "institution").filter(
            voucher_id=voucher_id, status=PaymentStatus.AWAITING_CONFIRMATION))
        for payment in waiting:
            moved = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.AWAITING_CONFIRMATION).update(
                status=PaymentStatus.FAILED, infcode=InfCode.PIN_LOCKED,
                err_msg="参保人支付密码已锁定，本次支付已取消，请改用其他方式支付")
            if moved:
                audit_record(action="payment.refused", outcome=AuditOutcome.FAILURE,
                             actor=payment.institution.fixmedins_code, person=payment.voucher.person,
                             code="PIN_LOCKED", detail={"msgid": payment.msgid})


def payment_decline(*, login, public_id: str, ip: str | None = None) -> Payment:
    payment = _payer_payment(login, public_id)
    with transaction.atomic():
        moved = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.AWAITING_CONFIRMATION).update(
            status=PaymentStatus.DECLINED, err_msg="参保人拒绝支付")
        if moved:
            audit_record(action="payment.decline", outcome=AuditOutcome.SUCCESS, actor=f"{login.channel}:{login.openid}",
                         person=payment.voucher.person, channel=login.channel, ip=ip, detail={"msgid": payment.msgid})
    payment.refresh_from_db()
    if payment.status != PaymentStatus.DECLINED:
        raise ApplicationError("PAYMENT_NOT_PENDING", "该笔支付已不需要确认", status=409)
    return payment


def _payer_payment(login, public_id: str) -> Payment:
    payment = (Payment.objects.select_related("voucher", "institution", "voucher__person")
               .filter(public_id=str(public_id or ""), voucher__person=login.person).first())
    if payment is None or login.person is None:
        raise ApplicationError("PAYMENT_NOT_FOUND", "未找到该笔支付", status=404)
    return payment


def payments_pending(person) -> list[Payment]:
    return list(Payment.objects.select_related("institution").filter(
        voucher__person=person, status=PaymentStatus.AWAITING_CONFIRMATION,
        confirm_deadline__gt=timezone.now()).order_by("-created_at"))


# --- 2103 / 2601 from the terminal ----------------------------------------------------

def payment_reverse(institution: Institution, env: Envelope) -> dict:
    data = env.input.get("data")
    if not isinstance(data, dict) or not data.get("setl_id"):
        raise EnvelopeError(InfCode.INPUT_INVALID, "2103 需要 input.data.setl_id", msgid=env.msgid)
    payment = Payment.objects.select_related("voucher__person").filter(
        institution=institution, setl_id=str(data["setl_id"])).first()
    if payment is None:
        raise EnvelopeError(InfCode.SETTLEMENT_NOT_FOUND, "未找到该结算记录", msgid=env.msgid)
    core_input = {"data": {"setl_id": payment.setl_id, "mdtrt_id": payment.mdtrt_id,
                           "psn_no": payment.voucher.person.psn_no}}
    try:
        output = _call(env, "2103", core_input, institution)
    except CoreRefused as refused:
        if refused.infcode == InfCode.ALREADY_REVERSED:
            _payment_reversed(payment, env.msgid, None)
        raise _refusal(env, refused)
    except CoreUnavailable:
        raise _unavailable(env)
    except CoreError:
        raise NotStored(_unknown_answer(env))
    _payment_reversed(payment, env.msgid, output)
    return answer(env.msgid, _terminal_output(output, institution))


def payment_reverse_by_msgid(institution: Institution, env: Envelope) -> dict:
    data = env.input.get("data")
    if not isinstance(data, dict) or str(data.get("oinfno")) != "2102" or not data.get("omsgid"):
        raise EnvelopeError(InfCode.INPUT_INVALID, "2601 需要 input.data.omsgid 与 oinfno=2102", msgid=env.msgid)
    payment = Payment.objects.select_related("voucher__person").filter(
        institution=institution, msgid=str(data["omsgid"])).first()
    psn_no = payment.voucher.person.psn_no if payment else str(data.get("psn_no", ""))
    omsgid = (payment.core_msgid or payment.msgid) if payment else str(data["omsgid"])
    try:
        output = _call(env, "2601", {"data": {"psn_no": psn_no, "omsgid": omsgid, "oinfno": "2102"}}, institution)
    except CoreRefused as refused:
        raise _refusal(env, refused)
    except CoreUnavailable:
        raise _unavailable(env)
    except CoreError:
        raise NotStored(_unknown_answer(env))
    if payment is not None:
        if output.get("result") in ("reversed", "already_reversed"):
            _payment_reversed(payment, env.msgid, output if output.get("setlinfo") else None)
        elif payment.status in (PaymentStatus.CONFIRMED, PaymentStatus.AWAITING_CONFIRMATION,
                                PaymentStatus.SUBMITTED, PaymentStatus.UNKNOWN):
            Payment.objects.filter(pk=payment.pk, status=payment.status).update(
                status=PaymentStatus.FAILED, infcode=InfCode.ORIGINAL_REVERSED, err_msg="已由机构冲正")
    return answer(env.msgid, _terminal_output(output, institution))


def _payment_reversed(payment: Payment, msgid: str, output: dict | None) -> None:
    with transaction.atomic():
        moved = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.SETTLED).update(
            status=PaymentStatus.REVERSED, reversal_msgid=msgid, reversed_at=timezone.now())
        if moved:
            audit_record(action="payment.reversed", outcome=AuditOutcome.SUCCESS,
                         actor=payment.institution.fixmedins_code, person=payment.voucher.person,
                         detail={"msgid": payment.msgid, "setl_id": payment.setl_id, "reversal_msgid": msgid})
            if output and output.get("setlinfo", {}).get("balc") is not None:
                from .balance import balance_remember

                balance_remember(payment.voucher.person, yuan_to_fen(output["setlinfo"]["balc"], "balc"))
            transaction.on_commit(lambda: _push(payment.voucher_id, "payment.reversed", {
                "id": payment.public_id, "institution": payment.institution.name,
                "medfee_sumamt": fen_to_yuan(payment.medfee_fen), "acct_pay": fen_to_yuan(payment.acct_fen)}))


# --- push to the phone ------------------------------------------------------------------

def _push(voucher_id: int, kind: str, body: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(f"voucher.{voucher_id}", {"type": kind, "body": body})
    except Exception:  # the record stands; the page also polls /api/payments/pending and /api/records
        logger.exception("could not push %s for voucher %s", kind, voucher_id)
