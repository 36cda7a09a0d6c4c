"""The person's personal-account balance: read from the core (the book of
record), cached with the time it was read."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from common.money import yuan_to_fen
from settlement.client import core_client
from settlement.errors import CoreError

from wallet.models import BalanceSnapshot


def balance_remember(person, balance_fen: int, as_of: dt.datetime | None = None) -> None:
    """One statement (an upsert on the person), no savepoint: the settling
    transaction writes it on every settlement."""
    BalanceSnapshot.objects.bulk_create(
        [BalanceSnapshot(person=person, balance_fen=balance_fen, as_of=as_of or timezone.now())],
        update_conflicts=True, unique_fields=["person"], update_fields=["balance_fen", "as_of"])


def balance_get(person, *, refresh: bool = False) -> dict:
    """``{balance_fen, as_of, stale}``: fresh from the core when the cache is
    older than BALANCE_CACHE_SECONDS (or ``refresh``); the cached value,
    marked stale, when the core cannot be reached."""
    snapshot = BalanceSnapshot.objects.filter(person=person).first()
    fresh_enough = snapshot and (timezone.now() - snapshot.as_of).total_seconds() < settings.BALANCE_CACHE_SECONDS
    if snapshot and fresh_enough and not refresh:
        return {"balance_fen": snapshot.balance_fen, "as_of": snapshot.as_of, "stale": False}
    try:
        output = core_client().call("1101", {"data": {"mdtrt_cert_type": "99", "mdtrt_cert_no": person.psn_no}})
        balance = yuan_to_fen((output.get("insuinfo") or [{}])[0].get("balc", "0"))
    except CoreError:
        if snapshot:
            return {"balance_fen": snapshot.balance_fen, "as_of": snapshot.as_of, "stale": True}
        return {"balance_fen": None, "as_of": None, "stale": True}
    balance_remember(person, balance)
    return {"balance_fen": balance, "as_of": timezone.now(), "stale": False}
