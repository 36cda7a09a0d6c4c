"""Terminal credentials of designated institutions."""

from __future__ import annotations

import secrets

from django.db import transaction

from accounts.enums import AuditOutcome
from accounts.services import audit_record
from common import crypto, idnumber

from terminal.models import Institution


@transaction.atomic
def institution_register(*, fixmedins_code: str, name: str, kind: str, level: str, region: str,
                         designated: bool = True, secret: str | None = None, actor: str = "operator") -> tuple[Institution, str | None]:
    """Create the gateway's credential for an institution, or refresh its
    directory fields. Returns (institution, new secret or None): a secret is
    generated only when the institution is new and none was given, and is
    shown once — only its ciphertext is stored."""
    institution = Institution.objects.select_for_update().filter(fixmedins_code=fixmedins_code).first()
    if institution is not None:
        changed = False
        for field, value in {"name": name, "kind": kind, "level": level, "region": region,
                             "designated": designated}.items():
            if getattr(institution, field) != value:
                setattr(institution, field, value)
                changed = True
        if changed:
            institution.save()
        return institution, None
    new_secret = secret or secrets.token_urlsafe(32)
    institution = Institution.objects.create(
        fixmedins_code=fixmedins_code, name=name, kind=kind, level=level, region=region, designated=designated,
        secret_encrypted=crypto.encrypt(new_secret),
    )
    audit_record(action="institution.register", outcome=AuditOutcome.SUCCESS, actor=actor,
                 detail={"fixmedins_code": fixmedins_code})
    return institution, (None if secret else new_secret)


def institution_certno(institution: Institution, certno: str) -> str:
    """An ID number as this institution may see it: in full only where it is
    entitled (``designated``), masked otherwise (docs/subsystems/identity-data.md)."""
    if not certno or institution.designated:
        return certno
    return idnumber.mask(certno)
