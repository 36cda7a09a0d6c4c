"""Changes to a person's enrolment pulled from the registry (9302).

settlement's pull calls this through its ``registry_change_apply`` hook
(registered in accounts/apps.py): the person is accounts' to change."""

from __future__ import annotations

from ..models import Person


def person_registry_change_apply(psn_no: str, kind: str, data: dict) -> None:
    """Apply one registry change; a psn_no that is not a wallet user (yet)
    is ignored. Idempotent: applying the same change twice leaves the same row."""
    person = Person.objects.filter(psn_no=psn_no).first()
    if person is None:
        return
    if kind == "enrolment_status":
        person.enrolment_status = data.get("to", person.enrolment_status)
    elif kind == "moved":
        if "insured_region" in data:
            person.insured_region = data["insured_region"]["to"]
        if "insutype" in data:
            person.insutype = data["insutype"]["to"]
    person.save(update_fields=["enrolment_status", "insured_region", "insutype", "updated_at"])
