"""Writes of the accounts domain."""

from __future__ import annotations

from django.utils import timezone

from common.idnumber import mask_in_value

from ..models import AuditEvent
from .audit_chain import normalise_detail, normalise_ip, row_mac_of


def audit_record(*, action: str, outcome: str, actor: str, person=None, channel: str = "", ip: str | None = None,
                 code: str = "", detail: dict | None = None) -> AuditEvent:
    """Append an audit event. Call inside the transaction of the change it
    records. Free text in ``detail``, at any depth, is masked: no full ID
    number is stored, however it was written (common.idnumber.mask_in_text)."""
    clean = normalise_detail(mask_in_value(detail or {}))
    event = AuditEvent(action=action, outcome=outcome, actor=actor, person=person, channel=channel,
                       ip=normalise_ip(ip), code=code, detail=clean, occurred_at=timezone.now())
    event.row_mac = row_mac_of(event)  # tamper evidence now; sealed into the chain by beat (services/audit_chain.py)
    event.save(force_insert=True)
    return event
