"""Writes of the accounts domain."""

from __future__ import annotations

from common.idnumber import mask_in_text

from ..models import AuditEvent


def audit_record(*, action: str, outcome: str, actor: str, person=None, channel: str = "", ip: str | None = None,
                 code: str = "", detail: dict | None = None) -> AuditEvent:
    """Append an audit event. Call inside the transaction of the change it
    records. Free text in ``detail`` is masked: no full ID number is stored."""
    clean = {k: mask_in_text(v) if isinstance(v, str) else v for k, v in (detail or {}).items()}
    return AuditEvent.objects.create(action=action, outcome=outcome, actor=actor, person=person, channel=channel,
                                     ip=ip or None, code=code, detail=clean)
