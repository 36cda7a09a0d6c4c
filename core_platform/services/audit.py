from __future__ import annotations

from ..models import AuditEvent


def audit_record(action: str, subject: str, detail: dict | None = None) -> AuditEvent:
    """Record an audit event; call inside the write's transaction. Never put
    a full ID number in ``detail`` (use common.idnumber.mask)."""
    return AuditEvent.objects.create(action=action, subject=subject, detail=detail or {})
