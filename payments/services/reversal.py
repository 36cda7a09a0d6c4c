"""Reversals a terminal asks for: 2103 (by setl_id, a settled payment) and
2601 (by the original 2102's msgid, whatever became of it). The core posts
the compensating entries; the journal row becomes ``reversed`` (or, for a
2102 that never settled, ``failed``: nothing was charged). A timeout is an
unknown outcome for the terminal to retry (5002); nothing is recorded until
the core answers."""

from __future__ import annotations

from common.envelope import EnvelopeError, InfCode, answer
from settlement.errors import CoreError, CoreRefused, CoreUnavailable

from payments.enums import PaymentStatus
from payments.models import Payment
from terminal.services.forward import (
    TerminalCall,
    core_refusal,
    core_send,
    core_unavailable,
    outcome_unknown,
    terminal_output,
)
from payments.services.journal import payment_failed, payment_reversed

NOT_SETTLED = (PaymentStatus.RECEIVED, PaymentStatus.AWAITING_CONFIRMATION, PaymentStatus.CONFIRMED,
               PaymentStatus.SUBMITTED, PaymentStatus.UNKNOWN)


def _send(call: TerminalCall, infno: str, input: dict) -> dict:
    try:
        return core_send(call.institution, infno, input, env=call.env)
    except CoreRefused as refused:
        raise core_refusal(call.env, refused.infcode, refused.err_msg)
    except CoreUnavailable:
        raise core_unavailable(call.env)
    except CoreError:
        raise outcome_unknown(call.env)


def _payment(call: TerminalCall, **lookup) -> Payment | None:
    payment = (Payment.objects.select_related("voucher__person", "message")
               .filter(institution=call.institution, **lookup).first())
    if payment is not None:
        payment.institution = call.institution
    return payment


def payment_reverse(call: TerminalCall) -> dict:
    """2103 by setl_id."""
    env = call.env
    data = env.input.get("data")
    if not isinstance(data, dict) or not data.get("setl_id"):
        raise EnvelopeError(InfCode.INPUT_INVALID, "2103 需要 input.data.setl_id", msgid=env.msgid)
    payment = _payment(call, setl_id=str(data["setl_id"]))
    if payment is None:
        raise EnvelopeError(InfCode.SETTLEMENT_NOT_FOUND, "未找到该结算记录", msgid=env.msgid)
    core_input = {"data": {"setl_id": payment.setl_id, "mdtrt_id": payment.mdtrt_id,
                           "psn_no": payment.voucher.person.psn_no}}
    try:
        output = _send(call, "2103", core_input)
    except EnvelopeError as refused:
        if refused.infcode == InfCode.ALREADY_REVERSED:
            payment_reversed(payment, env.msgid, None)
        raise
    payment_reversed(payment, env.msgid, output)
    return answer(env.msgid, terminal_output(output, call.institution))


def payment_reverse_by_msgid(call: TerminalCall) -> dict:
    """2601 of a 2102 by its msgid (the terminal's; the core knows the settle
    under the payment's core_msgid)."""
    env = call.env
    data = env.input.get("data")
    if not isinstance(data, dict) or str(data.get("oinfno")) != "2102" or not data.get("omsgid"):
        raise EnvelopeError(InfCode.INPUT_INVALID, "2601 需要 input.data.omsgid 与 oinfno=2102", msgid=env.msgid)
    payment = _payment(call, message__msgid=str(data["omsgid"]))
    psn_no = payment.voucher.person.psn_no if payment else str(data.get("psn_no", ""))
    omsgid = payment.core_msgid if payment else str(data["omsgid"])
    output = _send(call, "2601", {"data": {"psn_no": psn_no, "omsgid": omsgid, "oinfno": "2102"}})
    if payment is not None:
        if output.get("result") in ("reversed", "already_reversed"):
            payment_reversed(payment, env.msgid, output if output.get("setlinfo") else None)
        elif payment.status in NOT_SETTLED:
            payment_failed(payment, InfCode.ORIGINAL_REVERSED, "已由机构冲正", from_statuses=[payment.status])
    return answer(env.msgid, terminal_output(output, call.institution))
