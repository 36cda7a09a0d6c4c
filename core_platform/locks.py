"""Row locks of the core, always taken in primary-key order so that two
transactions locking overlapping sets cannot deadlock. On PostgreSQL this is
SELECT ... FOR UPDATE; on SQLite (no row locks) the database settings open
every transaction with BEGIN IMMEDIATE, so writers serialise anyway."""

from __future__ import annotations

from collections.abc import Iterable

from .models import LedgerAccount


def ledger_accounts_lock(account_ids: Iterable[int]) -> dict[int, LedgerAccount]:
    ids = sorted(set(account_ids))
    rows = LedgerAccount.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    return {row.pk: row for row in rows}
