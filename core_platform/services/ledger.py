"""The double-entry ledger: personal accounts, pooled funds, institution
receivables, contribution sources, cash.

Invariants (checked by ``selectors.ledger_discrepancies`` and the tests):

- the entries of one posting sum to zero;
- an account's ``balance_fen`` equals the sum of its entries;
- a personal account never goes negative (a conditional update here, and a
  CHECK constraint in the database as the backstop);
- entries are append-only; a mistake is corrected by a reversal posting;
- holds (two-phase transfers, ``hold_create`` / ``holds_post`` /
  ``hold_void`` / ``holds_expire``): an account's ``held_fen`` is the sum of
  its pending holds and never exceeds its balance; what a person may spend
  is ``balance_fen - held_fen`` (``available_fen``); a hold is posted,
  voided or expired exactly once (compare-and-swap on its status, under the
  account's row lock, which every change of a hold takes first).

Money is integer fen, signed on entries: positive raises a balance.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import IntegrityError, connections, transaction
from django.db.models import Q
from django.utils import timezone

from ..db import CORE_DB, core_atomic
from ..enums import HoldPurpose, HoldStatus, LedgerAccountKind, PostingKind
from ..errors import (
    AmountOutOfRange,
    Conflict,
    HoldClosed,
    InsufficientBalance,
    InvalidInput,
    LedgerUnbalanced,
    NotFound,
    PostingDuplicate,
    ReferenceConflict,
)
from ..locks import OWN_MONEY, ledger_accounts_lock, lock_order
from ..models import Entry, Hold, InsuredPerson, LedgerAccount, Posting
from ..selectors import account_available_fen
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
    held: dict[int, int] | None = None,
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
    ``held`` (account pk → change of its ``held_fen``) is for ``holds_post``
    alone: a posted hold's release moves in the same statement as its debit.
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
        return _post(kind, reference, lines, memo, held or {})
    except _StaleAccount:
        # An account reference (ledger_account_ref) whose row is gone: only
        # after a rolled-back creation or a wiped test database. Look every
        # account up again by (kind, owner), as ledger_account_ref would
        # have, and post once more.
        _refs.clear()
        for account, _ in lines:
            account.pk = ledger_account_get_or_create(account.kind, account.owner).pk
        return _post(kind, reference, lines, memo, held or {})


class _StaleAccount(Exception):
    pass


def _post(kind: str, reference: str, lines, memo: str, held: dict[int, int]) -> Posting:
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
                delta, held_delta = net[account.pk], held.get(account.pk, 0)
                if delta == 0 and held_delta == 0:
                    continue
                if deferred is not None and account.kind not in NEVER_NEGATIVE:
                    deferred.add(posting.pk, account, delta, accounts[account.pk])
                    continue
                balance, held_now = _balance_move(account, delta, held_delta)
                for same in accounts[account.pk]:
                    same.balance_fen = balance
                    same.held_fen = held_now
    except IntegrityError as exc:
        # The CHECK constraints are the backstop for the conditional update.
        if "personal_not_negative" in str(exc) or "held_within_balance" in str(exc):
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
                balance, _ = _balance_move(accounts[pk], net[pk])
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


def _balance_move(account: LedgerAccount, delta: int, held_delta: int = 0) -> tuple[int, int]:
    """``balance_fen += delta`` (and ``held_fen += held_delta``) if the
    result stays in range and, for a person's own money, the balance stays
    at or above what is held (so never below zero, and held money is never
    spent); returns the new (balance, held). One statement, which takes the
    row lock. The row must still be (kind, owner): a primary key remembered
    across a wiped database may name another one."""
    never_negative = account.kind in NEVER_NEGATIVE
    table = connections[CORE_DB].ops.quote_name(LedgerAccount._meta.db_table)
    conditions, params = [], []
    if delta > 0:
        conditions.append("balance_fen <= %s")
        params.append(MAX_FEN - delta)
    if never_negative:
        if delta < 0 or held_delta > 0:
            conditions.append("balance_fen - held_fen >= %s")  # available after >= 0
            params.append(held_delta - delta)
    elif delta < 0:
        conditions.append("balance_fen >= %s")
        params.append(-MAX_FEN - delta)
    if held_delta < 0:
        conditions.append("held_fen >= %s")
        params.append(-held_delta)
    where = "".join(f" AND {c}" for c in conditions)
    setting = "balance_fen = balance_fen + %s" + (", held_fen = held_fen + %s" if held_delta else "")
    values = [delta] + ([held_delta] if held_delta else [])
    with connections[CORE_DB].cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {setting} WHERE id = %s AND kind = %s AND owner = %s{where} "
                       f"RETURNING balance_fen, held_fen",
                       [*values, account.pk, account.kind, account.owner, *params])
        row = cursor.fetchone()
    if row is not None:
        return row[0], row[1]
    current = LedgerAccount.objects.filter(pk=account.pk, kind=account.kind, owner=account.owner).first()
    if current is None:
        raise _StaleAccount(account.pk)
    if never_negative and current.balance_fen + delta < current.held_fen + held_delta:
        raise InsufficientBalance(current.owner)
    if current.held_fen + held_delta < 0:
        raise HoldClosed("冻结金额不足以释放（冻结记录与账户不一致）")
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


# --- holds (two-phase transfers) ---------------------------------------------------------
#
# A hold reserves money on a personal account (``held_fen``) with a deadline;
# it is later posted (fully or partly: a posting of that amount, the rest
# released) or voided, exactly once; past its deadline it expires. Every
# change of a hold first takes its account's row lock (in the global lock
# order when a posting touches other accounts), then changes the hold by
# compare-and-swap on ``status`` (``pending`` → one of the others), then moves
# the account's ``held_fen`` in the same conditional UPDATE as any balance
# move: two decisions on one hold serialise on the account row, the second
# finds the hold no longer pending.

MAX_HOLD_SECONDS = 86_400  # a settlement hold waits for the PIN at most a day


def hold_id_new() -> str:
    return f"H{timezone.localtime():%Y%m%d%H%M%S}{secrets.token_hex(6).upper()}"


def available_fen(account: LedgerAccount, *, locked: bool) -> int:
    """What the person may spend: ``balance_fen - held_fen``, not counting
    holds past their deadline. ``locked``: the caller holds the account's row
    lock (a 2102, a hold change), and those holds expire now, exactly once;
    otherwise (a 2101, an answer's ``balc``) they are only left out of the
    sum (selectors.account_available_fen)."""
    if not locked or account.held_fen == 0:
        return account_available_fen(account)
    now = timezone.now()
    for hold in Hold.objects.filter(account_id=account.pk, status=HoldStatus.PENDING, deadline__lte=now).order_by("pk"):
        _hold_close(hold, HoldStatus.EXPIRED, "已过冻结期限", now, account=account)
    return account.balance_fen - account.held_fen


def _account_lock(account_id: int) -> LedgerAccount:
    return ledger_accounts_lock([account_id])[account_id]


def hold_create(account: LedgerAccount, amount_fen: int, *, purpose: str, reference: str,
                deadline: dt.datetime | None, fixmedins_code: str = "", detail: dict | None = None,
                parent: Hold | None = None) -> Hold:
    """Reserve ``amount_fen`` on a personal ``account`` until ``deadline``
    (None: until voided). Under the account's row lock (the caller may hold
    it already, in the global lock order): holds past their deadline expire
    first, then ``available = balance - held >= amount`` is checked and the
    held amount raised in one conditional UPDATE (``InsufficientBalance``
    otherwise). One pending hold per (purpose, reference) (``Conflict``)."""
    if account.kind != LedgerAccountKind.PERSONAL or account.pk is None:
        raise InvalidInput("只能冻结个人账户的金额")
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise InvalidInput("冻结金额必须是正整数（分）")
    if purpose not in HoldPurpose.values:
        raise InvalidInput(f"未知的冻结用途：{purpose}")
    if not reference or len(reference) > 80:
        raise InvalidInput("冻结用途标识必须是1-80个字符")
    with core_atomic():
        locked = _account_lock(account.pk)
        available_fen(locked, locked=True)
        balance, held = _held_move(locked, amount_fen)
        account.balance_fen, account.held_fen = balance, held
        try:
            with core_atomic():
                hold = Hold.objects.create(hold_id=hold_id_new(), account=locked, amount_fen=amount_fen,
                                           deadline=deadline, purpose=purpose, reference=reference,
                                           fixmedins_code=fixmedins_code, detail=detail or {}, parent=parent)
        except IntegrityError as exc:
            raise Conflict("该用途已有冻结中的金额", {"purpose": purpose, "reference": reference}) from exc
        audit_record("ledger.hold_create", hold.hold_id, {"account": str(locked), "amount_fen": amount_fen,
                                                          "purpose": purpose, "reference": reference,
                                                          "deadline": deadline.isoformat() if deadline else None})
    return hold


def _held_move(account: LedgerAccount, held_delta: int) -> tuple[int, int]:
    try:
        return _balance_move(account, 0, held_delta)
    except IntegrityError as exc:  # the CHECK constraint, backstop of the condition
        raise InsufficientBalance(account.owner) from exc


@dataclass(frozen=True)
class HoldPost:
    """One hold a posting consumes: ``amount_fen`` (0 < amount ≤ the hold's)
    is debited from its account in the posting; the rest is released, or,
    with ``keep_rest``, held again by a new pending hold of the same purpose,
    reference and deadline (``parent`` = this one) — the set-aside amount
    used bill by bill."""

    hold: Hold
    amount_fen: int
    keep_rest: bool = False


def holds_post(posts: Sequence[HoldPost], *, kind: str, reference: str,
               lines: Sequence[tuple[LedgerAccount, int]], memo: str = "") -> tuple[Posting, list[Hold | None]]:
    """Post holds, exactly once: one balanced posting of ``lines`` plus, per
    hold, its account's debit of the posted amount; the holds become
    ``posted`` with that posting. The own-money accounts of the posting are
    locked first, in the global order; then each hold must still be pending
    and within its deadline (``HoldClosed`` otherwise, nothing posted) and
    moves by compare-and-swap. Returns the posting and, per hold, the new
    hold keeping its rest (or None)."""
    if not posts:
        raise InvalidInput("没有要扣款的冻结")
    for post in posts:
        if not isinstance(post.amount_fen, int) or isinstance(post.amount_fen, bool) or post.amount_fen <= 0:
            raise InvalidInput("扣款金额必须是正整数（分）")
        if post.amount_fen > post.hold.amount_fen:
            raise InvalidInput("扣款金额不能超过冻结金额")
    if len({post.hold.pk for post in posts}) != len(posts):
        raise InvalidInput("同一冻结只能扣款一次")
    now = timezone.now()
    with core_atomic():
        own = {a.pk for a, _ in lines if a.kind in OWN_MONEY} | {post.hold.account_id for post in posts}
        locked = ledger_accounts_lock(own)
        held: dict[int, int] = {}
        debits = []
        for post in posts:
            hold = post.hold
            alive = Q(deadline__isnull=True) | Q(deadline__gt=now)
            taken = Hold.objects.filter(Q(pk=hold.pk, status=HoldStatus.PENDING) & alive).update(
                status=HoldStatus.POSTED, posted_fen=post.amount_fen, decided_at=now)
            if taken != 1:
                hold.refresh_from_db()
                raise HoldClosed(detail={"hold_id": hold.hold_id, "status": hold.status})
            rest = hold.amount_fen - post.amount_fen
            release = post.amount_fen if (post.keep_rest and rest) else hold.amount_fen
            held[hold.account_id] = held.get(hold.account_id, 0) - release
            debits.append((locked[hold.account_id], -post.amount_fen))
        posting = posting_create(kind, reference, [*lines, *debits], memo=memo, held=held)
        kept: list[Hold | None] = []
        for post in posts:
            hold = post.hold
            Hold.objects.filter(pk=hold.pk).update(posting=posting)
            hold.refresh_from_db()
            rest = hold.amount_fen - post.amount_fen
            successor = None
            if post.keep_rest and rest:
                successor = Hold.objects.create(
                    hold_id=hold_id_new(), account_id=hold.account_id, amount_fen=rest, deadline=hold.deadline,
                    purpose=hold.purpose, reference=hold.reference, fixmedins_code=hold.fixmedins_code,
                    detail=hold.detail, parent=hold)
            audit_record("ledger.hold_post", hold.hold_id, {"posting": posting.pk, "posted_fen": post.amount_fen,
                                                            "rest_fen": rest,
                                                            "kept_as": successor.hold_id if successor else None})
            kept.append(successor)
    return posting, kept


def hold_post(hold: Hold, amount_fen: int, *, kind: str, reference: str,
              lines: Sequence[tuple[LedgerAccount, int]], memo: str = "", keep_rest: bool = False) -> Posting:
    """Post one hold (``holds_post``): ``lines`` are the posting's other
    side, summing to ``amount_fen``."""
    return holds_post([HoldPost(hold, amount_fen, keep_rest)], kind=kind, reference=reference, lines=lines,
                      memo=memo)[0]


def hold_void(hold: Hold, *, reason: str = "") -> bool:
    """Release a pending hold (``voided``), exactly once; True if this call
    released it, False if it was no longer pending (posted, voided, expired:
    nothing changes). A hold past its deadline is expired, not voided."""
    with core_atomic():
        account = _account_lock(hold.account_id)
        now = timezone.now()
        status = HoldStatus.VOIDED
        if hold.deadline is not None and hold.deadline <= now:
            status, reason = HoldStatus.EXPIRED, "已过冻结期限"
        done = _hold_close(hold, status, reason, now, account=account)
    hold.refresh_from_db()
    return done and status == HoldStatus.VOIDED


def _hold_close(hold: Hold, status: str, reason: str, now: dt.datetime, *, account: LedgerAccount) -> bool:
    """pending → ``status`` (voided / expired) by compare-and-swap and the
    held amount released; the caller holds the account's row lock."""
    closed = Hold.objects.filter(pk=hold.pk, status=HoldStatus.PENDING).update(
        status=status, reason=reason[:200], decided_at=now)
    if closed != 1:
        return False
    account.balance_fen, account.held_fen = _held_move(account, -hold.amount_fen)
    audit_record(f"ledger.hold_{'expire' if status == HoldStatus.EXPIRED else 'void'}", hold.hold_id,
                 {"amount_fen": hold.amount_fen, "reason": reason[:200]})
    return True


def holds_expire(*, now: dt.datetime | None = None, batch: int = 200) -> int:
    """The sweep: every pending hold past its deadline expires (its amount
    released), each exactly once, one account transaction at a time, in
    bounded batches until none is left. Returns how many this call expired
    (a concurrent post, void or sweep that got there first is not counted)."""
    now = now or timezone.now()
    expired = 0
    while True:
        due = list(Hold.objects.filter(status=HoldStatus.PENDING, deadline__lte=now).order_by("pk")[:batch])
        if not due:
            return expired
        for hold in due:
            with core_atomic():
                account = _account_lock(hold.account_id)
                if _hold_close(hold, HoldStatus.EXPIRED, "已过冻结期限", now, account=account):
                    expired += 1
