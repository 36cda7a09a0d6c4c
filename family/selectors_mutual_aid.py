"""Reads of mutual aid (家庭共济): the authorisation as the app shows it, the
payer's ledger per relative, the payer's notifications and pending
confirmations. Writes are in family/services/mutual_aid.py."""

from __future__ import annotations

from django.utils import timezone

from common.money import fen_to_yuan
from payments.enums import PaymentStatus
from payments.selectors import payments_by_public_id

from family.enums import MutualAidStatus, MutualAidUseStatus
from family.models import MutualAid, MutualAidUse
from family.services.mutual_aid import remaining_annual, used_in_year


def _yuan(fen: int | None) -> str | None:
    return None if fen is None else fen_to_yuan(fen)


def mutual_aid_view(auth: MutualAid | None) -> dict | None:
    if auth is None:
        return None
    year = timezone.localdate().year
    return {"id": auth.public_id, "status": auth.status, "mode": auth.mode, "annual_cap": _yuan(auth.annual_cap_fen),
            "bill_cap": _yuan(auth.bill_cap_fen), "confirm_above": _yuan(auth.confirm_above_fen),
            "set_aside": fen_to_yuan(auth.set_aside_fen), "used_this_year": fen_to_yuan(used_in_year(auth, year)),
            "remaining_annual_cap": _yuan(remaining_annual(auth, year)), "version": auth.version,
            "binding_id": auth.binding.public_id, "created_at": auth.created_at, "ended_at": auth.ended_at,
            "ended_reason": auth.ended_reason}


def mutual_aid_of_binding(binding) -> dict | None:
    """The binding's active authorisation for the family list (None if none)."""
    auth = (MutualAid.objects.select_related("binding").filter(binding=binding, status=MutualAidStatus.ACTIVE)
            .first())
    return mutual_aid_view(auth)


def mulaid_ledger(person, binding_id: str | None = None) -> list[dict]:
    """The payer's mutual-aid ledger, newest first: every settled (or since
    reversed) use, with the annual cap left after it."""
    if person is None:
        return []
    uses = (MutualAidUse.objects.select_related("authorisation__beneficiary", "authorisation__binding")
            .filter(authorisation__payer=person, status__in=[MutualAidUseStatus.SETTLED, MutualAidUseStatus.REVERSED])
            .order_by("settled_at", "pk"))
    if binding_id is not None:
        uses = uses.filter(authorisation__binding__public_id=binding_id)
    running: dict[tuple[int, int], int] = {}
    rows = []
    for use in uses:
        auth = use.authorisation
        key = (auth.pk, timezone.localtime(use.settled_at).year)
        if use.status == MutualAidUseStatus.SETTLED:
            running[key] = running.get(key, 0) + use.amount_fen
        left = None if auth.annual_cap_fen is None else max(0, auth.annual_cap_fen - running.get(key, 0))
        rows.append({"at": use.settled_at, "institution": use.institution, "relative_name": auth.beneficiary.name,
                     "relative_id": auth.binding.public_id, "amount": fen_to_yuan(use.amount_fen),
                     "remaining_annual_cap": _yuan(left), "setl_id": use.setl_id, "status": use.status,
                     "payment_id": use.payment_id})
    rows.reverse()
    return rows


def mulaid_notifications(person) -> list[dict]:
    """GET /api/notifications items for the payer: each use, as pushed."""
    return [{"kind": "mulaid.used", "title": "家庭共济支付",
             "message": (f"{row['relative_name']}在{row['institution']}使用家庭共济支付 {row['amount']} 元"
                         + (f"，本年剩余共济限额 {row['remaining_annual_cap']} 元" if row["remaining_annual_cap"] else "")
                         + ("（已撤销）" if row["status"] == MutualAidUseStatus.REVERSED else "")),
             "amount": row["amount"], "at": row["at"], "relative_name": row["relative_name"],
             "institution": row["institution"], "remaining_annual_cap": row["remaining_annual_cap"]}
            for row in mulaid_ledger(person) if row["amount"] != "0.00"]


def payer_confirmations_pending(person) -> list[dict]:
    """Payments of relatives waiting for this payer's own PIN (the polling
    fallback of the ``mulaid.confirm`` push)."""
    if person is None:
        return []
    uses = list(MutualAidUse.objects.select_related("authorisation__beneficiary").filter(
        authorisation__payer=person, payer_confirm_required=True, payer_confirmed_at__isnull=True))
    payments = payments_by_public_id([u.payment_id for u in uses])
    now = timezone.now()
    out = []
    for use in uses:
        p = payments.get(use.payment_id)
        if p is None or p.status != PaymentStatus.AWAITING_CONFIRMATION or not p.confirm_deadline \
                or p.confirm_deadline <= now:
            continue
        out.append({"id": p.public_id, "relative_name": use.authorisation.beneficiary.name,
                    "institution": p.institution.name, "amount": fen_to_yuan(p.mulaid_fen),
                    "medfee_sumamt": fen_to_yuan(p.medfee_fen), "expires_at": p.confirm_deadline})
    return sorted(out, key=lambda r: r["expires_at"], reverse=True)
