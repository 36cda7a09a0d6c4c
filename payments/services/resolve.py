"""Unknown outcomes of a 2102: the settle was sent and no answer came.

The row is ``submitted`` or ``unknown``; nobody is told "paid" until the core
says what happened. Ask it (9101, by the msgid the settle went under); if it
ran, record its answer; if it never ran, fence it out with 2601 (the core
then refuses it should it arrive late) and record a failure: nothing was
charged. "processing": the core is still on it; ask again later. Run by the
terminal's retry (settle.py) and by a worker (payments/tasks.py) when the
terminal went away."""

from __future__ import annotations

import logging

from django.db.models import F

from common.envelope import InfCode
from settlement.errors import CoreError

from payments.models import Payment
from terminal.services.forward import core_send
from payments.services.journal import (
    IN_FLIGHT,
    STATE_FIELDS,
    payment_awaiting_confirmation,
    payment_failed,
    payment_settled,
)

logger = logging.getLogger(__name__)


def payment_resolve(payment_id: int) -> str:
    """Resolve a submitted/unknown payment (a worker's entry). Idempotent;
    returns the status."""
    payment = Payment.objects.select_related("institution", "voucher__person", "message").get(pk=payment_id)
    return payment_outcome_resolve(payment)


def payment_outcome_resolve(payment: Payment) -> str:
    """Resolve ``payment`` (loaded with its institution, voucher, person and
    journal row) in place; returns its status."""
    if payment.status not in IN_FLIGHT:
        return payment.status
    Payment.objects.filter(pk=payment.pk).update(resolve_attempts=F("resolve_attempts") + 1)
    institution = payment.institution
    try:
        status = core_send(institution, "9101", {"data": {"omsgid": payment.core_msgid, "oinfno": "2102"}})["msg"]
        if status["status"] == "done":
            first = status["answer"]
            if first.get("infcode") == 0:
                payment_settled(payment, first["output"])
            elif first.get("infcode") == InfCode.CONFIRMATION_REQUIRED:
                payment_awaiting_confirmation(payment, first["output"])
            else:
                payment_failed(payment, first.get("infcode", InfCode.INTERNAL), first.get("err_msg", ""))
        elif status["status"] in ("absent", "reversed_before_run"):
            fenced = core_send(institution, "2601", {"data": {"psn_no": payment.voucher.person.psn_no,
                                                              "omsgid": payment.core_msgid, "oinfno": "2102"}})
            if fenced.get("result") in ("original_absent", "original_failed"):
                payment_failed(payment, InfCode.ORIGINAL_REVERSED, "结算未完成，已冲正，参保人未被扣款，请重新结算")
            elif fenced.get("result") in ("reversed", "already_reversed"):  # it ran after all; now undone
                payment_failed(payment, InfCode.ORIGINAL_REVERSED, "结算结果不明，已冲正，参保人未被扣款，请重新结算")
        # "processing": the core is still on it; stay unknown and ask again later.
    except CoreError as exc:
        logger.info("payment %s still unresolved: %s", payment.pk, exc)
    if payment.status in IN_FLIGHT:  # unchanged here; another worker may have resolved it meanwhile
        payment.refresh_from_db(fields=STATE_FIELDS)
    return payment.status
