"""Terminal credentials of designated institutions."""

from __future__ import annotations

import secrets

from django.db import transaction

from accounts.enums import AuditOutcome
from accounts.services import audit_record
from common import crypto, demodata, idnumber

from ..models import Institution


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


def institution_demo_pharmacies(*, seed: int) -> list[demodata.Institution]:
    """The designated demo pharmacies, those in regions that have opened the
    e-voucher service first (the POS page's 演示机构 choice)."""
    data = demodata.generate(seed)
    open_regions = {r.admdvs for r in data.regions if r.evoucher_open}
    pharmacies = [i for i in data.institutions if i.kind == "pharmacy" and i.designated]
    return [i for i in pharmacies if i.region in open_regions] + [i for i in pharmacies if i.region not in open_regions]


def institution_demo_terminal(*, seed: int, index: int = 0, fixmedins_code: str | None = None
                              ) -> demodata.Institution | None:
    """A designated demo pharmacy — the one named by ``fixmedins_code`` (None
    if it is not a demo pharmacy), else the ``index``-th of
    ``institution_demo_pharmacies`` — registered with the gateway if it is
    not yet, with its deterministic demo secret. A person pays locally only
    at a pharmacy of their own province (elsewhere a cross-province filing is
    needed), so the POS page lets the cashier choose. Demo only: the demo API
    refuses in production, where a real institution's secret is issued once
    by the operator and never served."""
    pharmacies = institution_demo_pharmacies(seed=seed)
    if fixmedins_code is not None:
        inst = next((i for i in pharmacies if i.fixmedins_code == fixmedins_code), None)
        if inst is None:
            return None
    else:
        inst = pharmacies[index % len(pharmacies)]
    institution_register(fixmedins_code=inst.fixmedins_code, name=inst.name, kind=inst.kind, level=inst.level,
                         region=inst.region, designated=inst.designated, secret=inst.secret, actor="demo")
    return inst
