"""Row locks of the core, always taken in one global order so that two
transactions locking overlapping sets cannot deadlock: first the accounts
that hold a person's own money (``personal`` and ``mulaid_reserve``) sorted
by owner, then every other account by primary key. A settlement with family
mutual aid locks the relative's and the payer's accounts up front in that
order (services/mutual_aid.py), before its accumulator and the posting's
other accounts; a reversal or any other posting takes the same order, so a
payer and two relatives paying at the same moment — or a reversal racing a
settlement — never wait on each other in a cycle. On PostgreSQL this is
SELECT ... FOR UPDATE; on SQLite (no row locks) the database settings open
every transaction with BEGIN IMMEDIATE, so writers serialise anyway."""

from __future__ import annotations

from collections.abc import Iterable

from .enums import LedgerAccountKind
from .models import LedgerAccount

OWN_MONEY = (LedgerAccountKind.PERSONAL, LedgerAccountKind.MULAID_RESERVE)


def ledger_accounts_lock(account_ids: Iterable[int]) -> dict[int, LedgerAccount]:
    ids = sorted(set(account_ids))
    rows = LedgerAccount.objects.select_for_update().filter(pk__in=ids)
    own = list(rows.filter(kind__in=OWN_MONEY).order_by("owner", "kind"))
    rest = list(rows.exclude(kind__in=OWN_MONEY).order_by("pk"))
    return {row.pk: row for row in own + rest}
