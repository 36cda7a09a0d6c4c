"""Reads of family bindings, shaped for the app's views (family/apis.py).

A binder sees their bindings that are not ended; the relative's data (name,
records, balance, code) leaves the binder's view the moment a binding ends:
every read here filters on the binding's current status.

Mutual aid: Reads of mutual aid (家庭共济): the authorisation as the app shows it, the
payer's ledger per relative, the payer's notifications and pending
confirmations. Writes are in family/services/mulaid.py."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from accounts.enums import Channel
from common import idnumber
from common.money import fen_to_yuan
from family.enums import BindingStatus, MutualAidStatus, MutualAidUseStatus, Relation
from family.models import Binding, CodeView, MutualAid, MutualAidUse
from family.services.bindings import age_on, STANDING
from family.services.mulaid import remaining_annual, used_in_year
from payments.enums import PaymentStatus
from payments.selectors import payments_by_public_id
from wallet.selectors import voucher_proxy_states


def name_masked(name: str) -> str:
    """张三 -> *三, 欧阳娜娜 -> ***娜: only the last character shows."""
    name = name or ""
    return "*" * (len(name) - 1) + name[-1:] if len(name) > 1 else name


def _view(binding: Binding, states: dict) -> dict:
    relative = binding.relative
    state = states.get(relative.pk) or {}
    voucher_active = state.get("status") == "active"
    return {
        "id": binding.public_id,
        "relation": binding.relation,
        "relation_name": Relation(binding.relation).label,
        "relative": {
            "name": relative.name,
            "id_number_masked": relative.id_number_masked,
            "age": age_on(relative.birth_date, timezone.localdate()),
            "gender": relative.gender,
            "insutype": relative.insutype,
            "insured_region": relative.insured_region,
        },
        "status": binding.status,
        "consent": binding.consent,
        "relation_check": binding.relation_check,
        "proxy_voucher": bool(state.get("proxy")),
        "voucher_active": voucher_active,
        "own_phone": bool(state.get("own_channel")),
        "can_show_code": binding.status == BindingStatus.ACTIVE and voucher_active,
        "created_at": binding.created_at,
        "activated_at": binding.activated_at,
        "ended_at": binding.ended_at,
        "mutual_aid": mutual_aid_of_binding(binding),
    }


def binding_view(binding: Binding) -> dict:
    return _view(binding, voucher_proxy_states([binding.relative_id]))


def relative_list(person) -> list[dict]:
    """The binder's family list: bindings not ended, oldest first."""
    if person is None:
        return []
    bindings = list(Binding.objects.select_related("relative").filter(binder=person, status__in=STANDING)
                    .order_by("created_at", "pk"))
    states = voucher_proxy_states([b.relative_id for b in bindings])
    return [_view(b, states) for b in bindings]


def binder_list(person, *, today=None) -> list[dict]:
    """The relative's view: who has bound me (not ended)."""
    if person is None:
        return []
    today = today or timezone.localdate()
    from_ = (Binding.objects.select_related("binder", "relative").filter(relative=person, status__in=STANDING)
             .order_by("created_at", "pk"))
    can_end = age_on(person.birth_date, today) >= settings.FAMILY_GUARDIAN_MAX_AGE
    return [{"id": b.public_id, "binder_name_masked": name_masked(b.binder.name),
             "binder_id_number_masked": idnumber.mask(b.binder.id_number),
             "relation": b.relation, "relation_name": Relation(b.relation).label, "status": b.status,
             "consent": b.consent, "created_at": b.created_at, "activated_at": b.activated_at,
             "can_end": can_end} for b in from_]


def code_view_list(person, *, limit: int = 100) -> list[dict]:
    """The relative's view: who showed my code, and when (ended bindings included)."""
    if person is None:
        return []
    rows = (CodeView.objects.select_related("binding__binder").filter(binding__relative=person)
            .order_by("-at", "-pk")[:limit])
    return [{"binder_name_masked": name_masked(v.binding.binder.name), "binding_id": v.binding.public_id,
             "kind": v.kind, "shown_at": v.at, "channel": v.channel,
             "channel_name": Channel(v.channel).label if v.channel in Channel.values else "",
             "institution": v.institution} for v in rows]


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
