"""Reads of the accounts domain that other apps use."""

from __future__ import annotations

from .models import Person


def person_id_for_psn_no(psn_no: str) -> int | None:
    """The wallet user's person id for a national psn_no, or None."""
    return Person.objects.filter(psn_no=psn_no).values_list("pk", flat=True).first()
