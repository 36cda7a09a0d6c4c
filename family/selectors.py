"""Reads of family bindings, shaped for the app's views (family/apis.py).

A binder sees their bindings that are not ended; the relative's data (name,
records, balance, code) leaves the binder's view the moment a binding ends:
every read here filters on the binding's current status."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from accounts.enums import Channel
from common import idnumber

from wallet.selectors import voucher_proxy_states

from family.enums import BindingStatus, Relation
from family.models import Binding, CodeView
from family.selectors_mutual_aid import mutual_aid_of_binding
from family.services.bindings import STANDING, age_on


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
