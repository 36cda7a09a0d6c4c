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

from django.db import IntegrityError
from django.db.models import F

from ..db import core_atomic
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
from ..locks import ledger_accounts_lock
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

    Locks the accounts in pk order, updates cached balances with conditional
    updates and writes the entries, all in one transaction. Raises
    ``LedgerUnbalanced`` (sum != 0, bad amounts), ``InsufficientBalance`` (a
    personal account would go negative) or ``PostingDuplicate`` (the
    (kind, reference) pair is already posted).
    """
    if kind not in PostingKind.values:
        raise InvalidInput(f"未知的记账类型：{kind}")
    if not reference or len(reference) > 64:
        raise InvalidInput("记账流水号必须是1-64个字符")
    if len(lines) < 2:
        raise LedgerUnbalanced("一笔记账至少需要两条分录")
    net: dict[int, int] = {}
    kinds: dict[int, LedgerAccount] = {}
    for account, amount in lines:
        if not isinstance(account, LedgerAccount) or account.pk is None:
            raise InvalidInput("分录账户无效")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
            raise LedgerUnbalanced("分录金额必须是非零整数（分）")
        net[account.pk] = net.get(account.pk, 0) + amount
        kinds[account.pk] = account
    if sum(amount for _, amount in lines) != 0:
        raise LedgerUnbalanced()

    try:
        with core_atomic():
            locked = ledger_accounts_lock(net)
            if len(locked) != len(net):
                raise InvalidInput("分录账户不存在")
            try:
                with core_atomic():
                    posting = Posting.objects.create(kind=kind, reference=reference, memo=memo[:200])
            except IntegrityError as exc:
                raise PostingDuplicate(kind, reference) from exc
            for account_id in sorted(net):
                delta = net[account_id]
                if delta == 0:
                    continue
                account = locked[account_id]
                if abs(account.balance_fen + delta) > MAX_FEN:
                    raise AmountOutOfRange(account.owner)
                rows = LedgerAccount.objects.filter(pk=account_id)
                if account.kind in NEVER_NEGATIVE and delta < 0:
                    rows = rows.filter(balance_fen__gte=-delta)
                if rows.update(balance_fen=F("balance_fen") + delta) != 1:
                    raise InsufficientBalance(account.owner)
            Entry.objects.bulk_create(
                [Entry(posting=posting, account_id=account.pk, amount_fen=amount) for account, amount in lines]
            )
            audit_record(
                "ledger.posting_create",
                str(posting.pk),
                {"kind": kind, "reference": reference, "lines": [[a.kind, a.owner, amt] for a, amt in lines]},
            )
    except IntegrityError as exc:
        # The CHECK constraint is the backstop for the conditional update.
        if "personal_not_negative" in str(exc):
            raise InsufficientBalance("") from exc
        raise
    for account in kinds.values():
        account.refresh_from_db(fields=["balance_fen"])
    return posting


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
