"""The double-entry ledger: personal accounts, pooled funds, institution
receivables, contribution sources, cash.

Invariants (checked by ``selectors.ledger_discrepancies`` and the tests):

- the entries of one posting sum to zero;
- an account's ``balance_fen`` equals the sum of its entries;
- a personal account never goes negative (a conditional update here, and a
  CHECK constraint in the database as the backstop);
- entries are append-only; a mistake is corrected by a reversal posting.

Money is integer fen, signed on entries: positive raises a balance.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import IntegrityError, connections, transaction

from ..db import CORE_DB, core_atomic
from ..enums import LedgerAccountKind, PostingKind
from ..errors import (
    AmountOutOfRange,
    InsufficientBalance,
    InvalidInput,
    LedgerUnbalanced,
    NotFound,
    PostingDuplicate,
    ReferenceConflict,
)
from ..locks import lock_order
from ..models import Entry, InsuredPerson, LedgerAccount, Posting
from .audit import audit_record


def ledger_account_get_or_create(kind: str, owner: str) -> LedgerAccount:
    if kind not in LedgerAccountKind.values:
        raise InvalidInput(f"未知的账户类型：{kind}")
    if not owner:
        raise InvalidInput("账户归属不能为空")
    account, _ = LedgerAccount.objects.get_or_create(kind=kind, owner=owner)
    return account


def fund_owner(region: str, insutype: str) -> str:
    """Owner key of a region's pooled fund / contribution source."""
    return f"{region}-{insutype}"


def supplement_fund_owner(region: str, fund_pay_type: str) -> str:
    """Owner key of a region's supplementary fund (大额补助 330100, 大病保险
    390200, 公务员补助 320100, 医疗救助 610100): its own pooled_fund account,
    so a settlement's posting shows which fund paid."""
    return f"{region}-{fund_pay_type}"


MAX_FEN = 2**63 - 1  # what a BIGINT balance holds
# Accounts that never go negative: a person's own money (a CHECK constraint backs it).
NEVER_NEGATIVE = (LedgerAccountKind.PERSONAL, LedgerAccountKind.MULAID_RESERVE)


def posting_create(
    kind: str,
    reference: str,
    lines: Sequence[tuple[LedgerAccount, int]],
    *,
    memo: str = "",
) -> Posting:
    """Post ``lines`` (account, signed amount in fen) as one balanced posting.

    In one transaction: the posting, its entries and its audit row, then one
    conditional ``UPDATE ... RETURNING`` per account, in the global lock order
    (core_platform/locks.py: own-money accounts by owner, then the others by
    primary key). The update is the row lock, the check (a personal account
    never below zero, no balance beyond BIGINT) and the read of the new
    balance at once. The shared accounts (pooled funds, receivables, cash)
    come last; inside ``shared_balances_at_end()`` (every envelope request:
    services/envelope.py) they are moved only by its ``apply()``, the last
    statements before the commit, so a city's pooled-fund row is locked for
    the commit alone. Every passed account object gets its new
    ``balance_fen`` (a shared one at ``apply()`` when deferred). Raises
    ``LedgerUnbalanced`` (sum != 0, bad amounts), ``InsufficientBalance`` (a
    personal account would go negative), ``AmountOutOfRange`` or
    ``PostingDuplicate`` (the (kind, reference) pair is already posted).
    """
    if kind not in PostingKind.values:
        raise InvalidInput(f"未知的记账类型：{kind}")
    if not reference or len(reference) > 64:
        raise InvalidInput("记账流水号必须是1-64个字符")
    if len(lines) < 2:
        raise LedgerUnbalanced("一笔记账至少需要两条分录")
    for account, amount in lines:
        if not isinstance(account, LedgerAccount) or account.pk is None:
            raise InvalidInput("分录账户无效")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
            raise LedgerUnbalanced("分录金额必须是非零整数（分）")
    if sum(amount for _, amount in lines) != 0:
        raise LedgerUnbalanced()
    try:
        return _post(kind, reference, lines, memo)
    except _StaleAccount:
        # An account reference (ledger_account_ref) whose row is gone: only
        # after a rolled-back creation or a wiped test database. Look every
        # account up again by (kind, owner), as ledger_account_ref would
        # have, and post once more.
        _refs.clear()
        for account, _ in lines:
            account.pk = ledger_account_get_or_create(account.kind, account.owner).pk
        return _post(kind, reference, lines, memo)


class _StaleAccount(Exception):
    pass


def _post(kind: str, reference: str, lines, memo: str) -> Posting:
    net: dict[int, int] = {}
    accounts: dict[int, list[LedgerAccount]] = {}
    for account, amount in lines:
        net[account.pk] = net.get(account.pk, 0) + amount
        accounts.setdefault(account.pk, []).append(account)
    order = lock_order([accounts[pk][0] for pk in net])
    try:
        with core_atomic():
            try:
                with core_atomic():
                    posting = Posting.objects.create(kind=kind, reference=reference, memo=memo[:200])
            except IntegrityError as exc:
                raise PostingDuplicate(kind, reference) from exc
            Entry.objects.bulk_create(
                [Entry(posting=posting, account_id=account.pk, amount_fen=amount) for account, amount in lines]
            )
            audit_record(
                "ledger.posting_create",
                str(posting.pk),
                {"kind": kind, "reference": reference, "lines": [[a.kind, a.owner, amt] for a, amt in lines]},
            )
            deferred = _deferred.get()
            for account in order:
                delta = net[account.pk]
                if delta == 0:
                    continue
                if deferred is not None and account.kind not in NEVER_NEGATIVE:
                    deferred.add(posting.pk, account, delta, accounts[account.pk])
                    continue
                balance = _balance_move(account, delta)
                for same in accounts[account.pk]:
                    same.balance_fen = balance
    except IntegrityError as exc:
        # The CHECK constraint is the backstop for the conditional update.
        if "personal_not_negative" in str(exc):
            raise InsufficientBalance("") from exc
        raise
    return posting


class SharedBalances:
    """The shared accounts' balance moves of one transaction's postings,
    applied together at its end (``shared_balances_at_end``)."""

    def __init__(self):
        self._moves: list[tuple[int, LedgerAccount, int, list[LedgerAccount]]] = []

    def add(self, posting_pk: int, account: LedgerAccount, delta: int, objects: list[LedgerAccount]) -> None:
        self._moves.append((posting_pk, account, delta, objects))

    def discard(self) -> None:
        """The work was rolled back (a refusal): nothing to move."""
        self._moves.clear()

    def apply(self) -> None:
        """One conditional UPDATE per shared account, in primary-key order
        (the global lock order's tail). Moves of a posting rolled back since
        (a savepoint the caller caught) are dropped: one query says which
        postings still exist."""
        if not self._moves:
            return
        alive = set(Posting.objects.filter(pk__in={m[0] for m in self._moves}).values_list("pk", flat=True))
        net: dict[int, int] = {}
        accounts: dict[int, LedgerAccount] = {}
        objects: dict[int, list[LedgerAccount]] = {}
        for posting_pk, account, delta, same in self._moves:
            if posting_pk in alive:
                net[account.pk] = net.get(account.pk, 0) + delta
                accounts[account.pk] = account
                objects.setdefault(account.pk, []).extend(same)
        self._moves.clear()
        for pk in sorted(net):
            if net[pk] == 0:
                continue
            try:
                balance = _balance_move(accounts[pk], net[pk])
            except _StaleAccount:
                _refs.clear()  # the next request looks the accounts up again
                raise InvalidInput("分录账户不存在") from None
            for account in objects[pk]:
                account.balance_fen = balance


_deferred: ContextVar[SharedBalances | None] = ContextVar("ledger_shared_balances", default=None)


@contextmanager
def shared_balances_at_end():
    """Within: postings leave their shared accounts' balances to the
    yielded ``SharedBalances``; the caller ``apply()``s it as the last work
    of its transaction, or ``discard()``s it when the work was rolled back."""
    shared = SharedBalances()
    token = _deferred.set(shared)
    try:
        yield shared
    finally:
        _deferred.reset(token)


def _balance_move(account: LedgerAccount, delta: int) -> int:
    """``balance_fen += delta`` if the result stays in range (and, for a
    person's own money, not below zero); returns the new balance. One
    statement, which takes the row lock. The row must still be (kind, owner):
    a primary key remembered across a wiped database may name another one."""
    never_negative = account.kind in NEVER_NEGATIVE
    table = connections[CORE_DB].ops.quote_name(LedgerAccount._meta.db_table)
    if delta > 0:
        condition, bound = "balance_fen <= %s", MAX_FEN - delta
    else:
        condition, bound = "balance_fen >= %s", (-delta if never_negative else -MAX_FEN - delta)
    with connections[CORE_DB].cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET balance_fen = balance_fen + %s WHERE id = %s AND kind = %s "
                       f"AND owner = %s AND {condition} RETURNING balance_fen",
                       [delta, account.pk, account.kind, account.owner, bound])
        row = cursor.fetchone()
    if row is not None:
        return row[0]
    current = LedgerAccount.objects.filter(pk=account.pk, kind=account.kind, owner=account.owner).first()
    if current is None:
        raise _StaleAccount(account.pk)
    if never_negative and delta < 0 and current.balance_fen + delta < 0:
        raise InsufficientBalance(current.owner)
    raise AmountOutOfRange(current.owner)


# (kind, owner) -> primary key of accounts known to be committed. Accounts
# are never deleted and never change kind or owner, so a process may keep
# this for its lifetime; posting_create recovers from a stale entry.
_refs: dict[tuple[str, str], int] = {}


def ledger_account_ref(kind: str, owner: str) -> LedgerAccount:
    """The account (kind, owner) to post to, created if missing, without
    reading it again once this process has seen it committed: a fresh
    object with its primary key (``balance_fen`` is set by posting_create)."""
    pk = _refs.get((kind, owner))
    if pk is not None:
        return LedgerAccount(pk=pk, kind=kind, owner=owner)
    if kind not in LedgerAccountKind.values:
        raise InvalidInput(f"未知的账户类型：{kind}")
    if not owner:
        raise InvalidInput("账户归属不能为空")
    account, _ = LedgerAccount.objects.get_or_create(kind=kind, owner=owner)
    # Remembered once committed: found or created, the row may be this very
    # transaction's, which a rollback would take away.
    transaction.on_commit(lambda: _refs.__setitem__((kind, owner), account.pk), using=CORE_DB)
    return account


def ledger_refs_forget() -> None:
    """Forget every remembered account (a test database was wiped)."""
    _refs.clear()


def personal_account_credit(psn_no: str, amount_fen: int, reference: str, *, memo: str = "",
                            kind: str = PostingKind.CONTRIBUTION_CREDIT) -> tuple[Posting, bool]:
    """Credit a person's personal account from their region's contribution
    source. Idempotent on ``reference``: a repeat with the same amount returns
    the first posting (created=False); a different amount is refused."""
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise InvalidInput("划入金额必须是正整数（分）")
    person = InsuredPerson.objects.filter(psn_no=psn_no).first()
    if person is None:
        raise NotFound("未查询到该人员", {"psn_no": psn_no})

    def existing() -> Posting | None:
        posting = Posting.objects.filter(kind=kind, reference=reference).first()
        if posting is None:
            return None
        credited = posting.entries.filter(account__kind=LedgerAccountKind.PERSONAL, account__owner=psn_no)
        if [e.amount_fen for e in credited] != [amount_fen]:
            raise ReferenceConflict(reference)
        return posting

    found = existing()
    if found:
        return found, False
    source = ledger_account_get_or_create(
        LedgerAccountKind.CONTRIBUTION_SOURCE, fund_owner(person.insured_region, person.insutype)
    )
    personal = ledger_account_get_or_create(LedgerAccountKind.PERSONAL, psn_no)
    try:
        posting = posting_create(kind, reference, [(source, -amount_fen), (personal, amount_fen)], memo=memo)
    except PostingDuplicate:
        found = existing()  # a concurrent credit with the same reference won
        if found is None:
            raise
        return found, False
    return posting, True
