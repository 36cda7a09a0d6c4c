import pytest
from django.db import IntegrityError

from core_platform.db import core_atomic
from core_platform.enums import LedgerAccountKind, PostingKind
from core_platform.errors import AmountOutOfRange, InsufficientBalance, LedgerUnbalanced, PostingDuplicate
from core_platform.models import Entry, LedgerAccount
from core_platform.selectors import ledger_discrepancies
from core_platform.services.ledger import ledger_account_get_or_create, posting_create

pytestmark = pytest.mark.django_db(databases=["default", "core"])


@pytest.fixture
def accounts():
    return {
        "source": ledger_account_get_or_create(LedgerAccountKind.CONTRIBUTION_SOURCE, "110100-310"),
        "alice": ledger_account_get_or_create(LedgerAccountKind.PERSONAL, "11010000000000000001"),
        "fund": ledger_account_get_or_create(LedgerAccountKind.POOLED_FUND, "110100-310"),
        "pharmacy": ledger_account_get_or_create(LedgerAccountKind.INSTITUTION_RECEIVABLE, "P11010000001"),
    }


def test_posting_must_sum_to_zero(accounts):
    with pytest.raises(LedgerUnbalanced):
        posting_create(PostingKind.CONTRIBUTION_CREDIT, "r1", [(accounts["source"], -100), (accounts["alice"], 99)])
    with pytest.raises(LedgerUnbalanced):
        posting_create(PostingKind.CONTRIBUTION_CREDIT, "r1", [(accounts["alice"], 0), (accounts["source"], 0)])
    with pytest.raises(LedgerUnbalanced):
        posting_create(PostingKind.CONTRIBUTION_CREDIT, "r1", [(accounts["alice"], 100)])
    assert Entry.objects.count() == 0


def test_negative_personal_balance_refused(accounts):
    posting_create(PostingKind.CONTRIBUTION_CREDIT, "c1", [(accounts["source"], -5000), (accounts["alice"], 5000)])
    with pytest.raises(InsufficientBalance):
        posting_create(PostingKind.SETTLEMENT, "s1", [(accounts["alice"], -5001), (accounts["pharmacy"], 5001)])
    accounts["alice"].refresh_from_db()
    assert accounts["alice"].balance_fen == 5000
    posting_create(PostingKind.SETTLEMENT, "s2", [(accounts["alice"], -5000), (accounts["pharmacy"], 5000)])
    accounts["alice"].refresh_from_db()
    assert accounts["alice"].balance_fen == 0
    assert not ledger_discrepancies()


def test_database_refuses_negative_personal_balance(accounts):
    with pytest.raises(IntegrityError), core_atomic():
        LedgerAccount.objects.filter(pk=accounts["alice"].pk).update(balance_fen=-1)


def test_non_personal_accounts_may_go_negative(accounts):
    posting_create(PostingKind.CONTRIBUTION_CREDIT, "c1", [(accounts["source"], -700), (accounts["alice"], 700)])
    accounts["source"].refresh_from_db()
    assert accounts["source"].balance_fen == -700


def test_balance_equals_sum_of_entries(accounts):
    posting_create(PostingKind.CONTRIBUTION_CREDIT, "c1", [(accounts["source"], -10000), (accounts["alice"], 10000)])
    posting_create(PostingKind.SETTLEMENT, "s1", [
        (accounts["alice"], -3000), (accounts["fund"], -6000), (accounts["pharmacy"], 9000),
    ])
    posting_create(PostingKind.REVERSAL, "s1", [
        (accounts["alice"], 3000), (accounts["fund"], 6000), (accounts["pharmacy"], -9000),
    ])
    for account in LedgerAccount.objects.all():
        assert account.balance_fen == sum(e.amount_fen for e in account.entries.all())
    assert LedgerAccount.objects.get(pk=accounts["alice"].pk).balance_fen == 10000
    assert not ledger_discrepancies()


def test_duplicate_reference_refused(accounts):
    lines = [(accounts["source"], -100), (accounts["alice"], 100)]
    posting_create(PostingKind.CONTRIBUTION_CREDIT, "same", lines)
    with pytest.raises(PostingDuplicate):
        posting_create(PostingKind.CONTRIBUTION_CREDIT, "same", lines)
    assert LedgerAccount.objects.get(pk=accounts["alice"].pk).balance_fen == 100


def test_entries_are_append_only(accounts):
    posting_create(PostingKind.CONTRIBUTION_CREDIT, "c1", [(accounts["source"], -100), (accounts["alice"], 100)])
    entry = Entry.objects.first()
    entry.amount_fen = 5
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()


def test_floats_refused(accounts):
    with pytest.raises(LedgerUnbalanced):
        posting_create(PostingKind.CONTRIBUTION_CREDIT, "f", [(accounts["source"], -1.5), (accounts["alice"], 1.5)])


@pytest.mark.django_db(databases=["default", "core"], transaction=True)
def test_concurrent_debits_serialise(accounts):
    """Ten concurrent 1000-fen payments against 5000 fen: exactly five succeed,
    none is lost or doubled, the balance never goes negative."""
    import threading

    from django.db import connections

    posting_create(PostingKind.CONTRIBUTION_CREDIT, "c1", [(accounts["source"], -5000), (accounts["alice"], 5000)])
    results: list[str] = []
    barrier = threading.Barrier(10)

    def pay(n: int) -> None:
        try:
            alice = LedgerAccount.objects.get(pk=accounts["alice"].pk)
            pharmacy = LedgerAccount.objects.get(pk=accounts["pharmacy"].pk)
            barrier.wait()
            posting_create(PostingKind.SETTLEMENT, f"pay-{n}", [(alice, -1000), (pharmacy, 1000)])
            results.append("ok")
        except InsufficientBalance:
            results.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=pay, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok"] * 5 + ["refused"] * 5
    assert LedgerAccount.objects.get(pk=accounts["alice"].pk).balance_fen == 0
    assert not ledger_discrepancies()


def test_a_balance_that_would_leave_the_64_bit_range_is_refused(accounts):
    """PostgreSQL would fail the statement (a 5999) and SQLite would silently
    turn the balance into a float: refused before the update, nothing posted."""
    near = 2**63 - 100
    LedgerAccount.objects.filter(pk=accounts["pharmacy"].pk).update(balance_fen=near)
    with pytest.raises(AmountOutOfRange) as refused:
        posting_create(PostingKind.SETTLEMENT, "huge", [(accounts["fund"], -200), (accounts["pharmacy"], 200)])
    assert refused.value.code == "AMOUNT_OUT_OF_RANGE" and "超出账户可记录的范围" in refused.value.message
    accounts["pharmacy"].refresh_from_db()
    accounts["fund"].refresh_from_db()
    assert (accounts["pharmacy"].balance_fen, accounts["fund"].balance_fen) == (near, 0)
    assert Entry.objects.count() == 0
    posting_create(PostingKind.SETTLEMENT, "fits", [(accounts["fund"], -99), (accounts["pharmacy"], 99)])
    accounts["pharmacy"].refresh_from_db()
    assert accounts["pharmacy"].balance_fen == 2**63 - 1


def test_shared_balances_move_at_the_end_and_only_for_postings_that_stand(accounts):
    """Inside shared_balances_at_end (every envelope request), a person's own
    account moves at once (its check needs the lock), the pooled fund and the
    receivable only at apply(), in one UPDATE each; a posting rolled back by a
    savepoint the caller caught moves nothing."""
    from core_platform.services.ledger import shared_balances_at_end

    posting_create(PostingKind.CONTRIBUTION_CREDIT, "c1", [(accounts["source"], -9000), (accounts["alice"], 9000)])
    with core_atomic(), shared_balances_at_end() as shared:
        posting_create(PostingKind.SETTLEMENT, "s1", [(accounts["alice"], -1000), (accounts["fund"], -2000),
                                                     (accounts["pharmacy"], 3000)])
        assert LedgerAccount.objects.get(pk=accounts["alice"].pk).balance_fen == 8000
        assert LedgerAccount.objects.get(pk=accounts["fund"].pk).balance_fen == 0  # not yet
        try:
            with core_atomic():
                posting_create(PostingKind.SETTLEMENT, "s2", [(accounts["fund"], -500), (accounts["pharmacy"], 500)])
                raise RuntimeError("the caller gives up on this one")
        except RuntimeError:
            pass
        shared.apply()
        assert (accounts["fund"].balance_fen, accounts["pharmacy"].balance_fen) == (-2000, 3000)
    assert LedgerAccount.objects.get(pk=accounts["fund"].pk).balance_fen == -2000
    assert LedgerAccount.objects.get(pk=accounts["pharmacy"].pk).balance_fen == 3000
    assert ledger_discrepancies() == []
