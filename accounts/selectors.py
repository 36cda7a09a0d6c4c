"""Reads of the accounts domain that other apps use."""

from __future__ import annotations

from .models import Person


def person_id_for_psn_no(psn_no: str) -> int | None:
    """The wallet user's person id for a national psn_no, or None."""
    return Person.objects.filter(psn_no=psn_no).values_list("pk", flat=True).first()


def persons_lock(*person_ids: int) -> None:
    """Inside the caller's transaction: lock these persons' rows in pk order
    (one fixed order, so two flows locking the same pair never deadlock).
    Family bindings check their limits (relatives per binder, binders per
    relative) under this lock."""
    list(Person.objects.select_for_update().filter(pk__in=sorted(set(person_ids))).order_by("pk").values_list("pk"))
