"""Reads of the payments: the payer's pending confirmations, the person's
records and their answers, payments by public id."""

from __future__ import annotations

from django.utils import timezone

from common import idnumber
from common.envelope import json_ready
from payments.enums import PaymentStatus
from payments.models import Payment


# Not (yet) a record for the person: never sent to the core, or being sent.
_NOT_A_RECORD = (PaymentStatus.RECEIVED, PaymentStatus.AWAITING_CONFIRMATION, PaymentStatus.CONFIRMED,
                 PaymentStatus.SUBMITTED)


def payments_pending(person) -> list[Payment]:
    """Payments waiting for this payer's PIN, newest first (the polling
    fallback of the ``payment.confirm`` push)."""
    return list(Payment.objects.select_related("institution").filter(
        voucher__person=person, status=PaymentStatus.AWAITING_CONFIRMATION,
        confirm_deadline__gt=timezone.now()).order_by("-created_at"))


def payment_record_list(person, *, limit: int = 100) -> list[Payment]:
    """The person's payment records, newest first (settled, reversed,
    failed, unknown, declined, expired)."""
    return list(Payment.objects.select_related("institution").filter(voucher__person=person)
                .exclude(status__in=_NOT_A_RECORD).order_by("-created_at")[:limit])


def payment_record_get(person, public_id: str) -> Payment | None:
    return (Payment.objects.select_related("institution")
            .filter(voucher__person=person, public_id=str(public_id or "")).first())


def payment_record_answer(payment: Payment) -> dict:
    """What the core answered for this payment, as the person's record view
    shows it: ``setlinfo`` (ID number masked, as in every response, the
    person's own included), ``items`` (per line item), ``funds`` (per fund)
    and the engine's ``explanation``. The core's exact Decimals become plain
    decimal strings, as every other amount of the app API."""
    output = json_ready(payment.core_output or {})
    if "detlcutinfo" in output:  # per item; setldetail is then per fund
        items, funds = output.get("detlcutinfo") or [], output.get("setldetail") or []
    else:  # an older core: setldetail held the items
        items, funds = output.get("setldetail") or [], []
    setlinfo = output.get("setlinfo") or {}
    if setlinfo.get("certno"):
        setlinfo = {**setlinfo, "certno": idnumber.mask(str(setlinfo["certno"]))}
    return {"setlinfo": setlinfo, "items": items, "funds": funds, "explanation": output.get("explanation") or [],
            "filing": payment_filing(setlinfo)}


FILING_FIELDS = ("trt_dcla_detl_sn", "filing_name", "filing_kind", "mdtrtarea_admvs")


def payment_filing(setlinfo: dict) -> dict | None:
    """The cross-province filing a bill was settled under, as the core's
    setlinfo names it (issue #14; null: a local bill). ``trt_dcla_detl_sn``
    is "" for emergency treatment without a filing and for an unfiled bill
    settled at the lowest ratio."""
    if not isinstance(setlinfo, dict) or not setlinfo.get("filing_kind"):
        return None
    return {name: str(setlinfo.get(name) or "") for name in FILING_FIELDS}


def payments_by_public_id(public_ids) -> dict[str, Payment]:
    """Payments by public id (institution and person loaded): family's
    mutual-aid ledger and the payer's confirmations read their state here."""
    rows = Payment.objects.select_related("institution", "voucher__person").filter(public_id__in=list(public_ids))
    return {p.public_id: p for p in rows}
