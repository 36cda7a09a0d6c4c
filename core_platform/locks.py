"""Row locks of the core, always taken in one global order so that two
transactions locking overlapping sets cannot deadlock: first the accounts
that hold a person's own money (``personal`` and ``mulaid_reserve``) sorted
by owner, then every other account by primary key. A settlement with family
mutual aid locks the relative's and the payer's accounts up front in that
order (services/mutual_aid.py), before its accumulator and the posting's
other accounts; a reversal or any other posting takes the same order, so a
payer and two relatives paying at the same moment — or a reversal racing a
settlement — never wait on each other in a cycle. On PostgreSQL this is
SELECT ... FOR UPDATE, or the conditional UPDATE of a posting issued in
that order (services/ledger.py, which leaves the shared accounts — pooled
funds, receivables, cash — to the end of its transaction); on SQLite (no row locks) the database settings open
every transaction with BEGIN IMMEDIATE, so writers serialise anyway."""

from __future__ import annotations

from collections.abc import Iterable

from .enums import LedgerAccountKind
from .models import LedgerAccount

OWN_MONEY = (LedgerAccountKind.PERSONAL, LedgerAccountKind.MULAID_RESERVE)


def lock_order(accounts: Iterable[LedgerAccount]) -> list[LedgerAccount]:
    """``accounts`` in the global lock order: own money by (owner, kind), then the rest by pk."""
    accounts = list(accounts)
    own = sorted((a for a in accounts if a.kind in OWN_MONEY), key=lambda a: (a.owner, a.kind))
    rest = sorted((a for a in accounts if a.kind not in OWN_MONEY), key=lambda a: a.pk)
    return own + rest


def ledger_accounts_lock(account_ids: Iterable[int]) -> dict[int, LedgerAccount]:
    ids = sorted(set(account_ids))
    rows = LedgerAccount.objects.select_for_update().filter(pk__in=ids)
    own = list(rows.filter(kind__in=OWN_MONEY).order_by("owner", "kind"))
    rest = list(rows.exclude(kind__in=OWN_MONEY).order_by("pk"))
    return {row.pk: row for row in own + rest}
