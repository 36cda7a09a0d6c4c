"""Ledger holds (two-phase transfers, issue #21 item 2): a hold reserves an
amount on a personal account with a deadline; it is posted (fully or partly,
the rest released) or voided exactly once; past its deadline it expires (the
sweep, or the first locked access). Available = balance − pending holds is
what a settlement may spend. Over the envelope: a 2102 with ``input.hold``
above acct_pay_limit places a hold (9410 query, 9411 post, 9412 void);
without ``input.hold`` nothing changes (4008, nothing posted or held).

Amounts are checked to the fen. The race tests (two posts, post against
void, a sweep against a post) need row locks: PostgreSQL only."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from common.envelope import InfCode
from core_platform.db import CORE_DB
from core_platform.enums import HoldPurpose, HoldStatus, LedgerAccountKind, PostingKind
from core_platform.errors import Conflict, HoldClosed, InsufficientBalance, InvalidInput
from core_platform.models import Entry, Hold, LedgerAccount, Settlement
from core_platform.selectors import ledger_discrepancies, personal_account_figures, personal_balance_fen
from core_platform.services.ledger import (
    available_fen,
    hold_create,
    hold_post,
    hold_void,
    holds_expire,
    ledger_account_get_or_create,
    posting_create,
)
from tests.core_platform.test_settle import PHARMACY, THREE_ITEMS, bill, send, world  # noqa: F401

pytestmark = pytest.mark.django_db(databases=["default", "core"])

ALICE = "11010000000000000001"


def _accounts():
    return {
        "source": ledger_account_get_or_create(LedgerAccountKind.CONTRIBUTION_SOURCE, "110100-310"),
        "alice": ledger_account_get_or_create(LedgerAccountKind.PERSONAL, ALICE),
        "pharmacy": ledger_account_get_or_create(LedgerAccountKind.INSTITUTION_RECEIVABLE, "P11010000001"),
    }


@pytest.fixture
def accounts():
    found = _accounts()
    posting_create(PostingKind.CONTRIBUTION_CREDIT, f"open-{uuid.uuid4().hex[:8]}",
                   [(found["source"], -10_000), (found["alice"], 10_000)])  # 100.00 yuan
    return found


def _hold(account, amount, *, seconds=300, reference=None):
    return hold_create(account, amount, purpose=HoldPurpose.SETTLEMENT, reference=reference or uuid.uuid4().hex,
                       deadline=timezone.now() + dt.timedelta(seconds=seconds))


def _figures():
    return personal_account_figures(ALICE)


# --- the primitive --------------------------------------------------------------------------


def test_hold_reserves_within_available_and_settlement_money_excludes_it(accounts):
    hold = _hold(accounts["alice"], 6_000)
    assert _figures() == {"balance_fen": 10_000, "held_fen": 6_000, "available_fen": 4_000}
    with pytest.raises(InsufficientBalance):  # 40.01 > 40.00 available
        _hold(accounts["alice"], 4_001)
    # a payment may spend only what is available: 40.01 is refused, 40.00 is not
    with pytest.raises(InsufficientBalance):
        posting_create(PostingKind.SETTLEMENT, "s1", [(accounts["alice"], -4_001), (accounts["pharmacy"], 4_001)])
    posting_create(PostingKind.SETTLEMENT, "s2", [(accounts["alice"], -4_000), (accounts["pharmacy"], 4_000)])
    assert _figures() == {"balance_fen": 6_000, "held_fen": 6_000, "available_fen": 0}
    assert hold.status == HoldStatus.PENDING and ledger_discrepancies() == []


def test_partial_post_is_one_posting_of_that_amount_and_releases_the_rest(accounts):
    hold = _hold(accounts["alice"], 6_000)
    posting = hold_post(hold, 3_850, kind=PostingKind.SETTLEMENT, reference="S-HOLD-1",
                        lines=[(accounts["pharmacy"], 3_850)])
    hold.refresh_from_db()
    assert (hold.status, hold.posted_fen, hold.posting_id) == (HoldStatus.POSTED, 3_850, posting.pk)
    assert hold.decided_at is not None
    assert sorted(Entry.objects.filter(posting=posting).values_list("amount_fen", flat=True)) == [-3_850, 3_850]
    assert _figures() == {"balance_fen": 6_150, "held_fen": 0, "available_fen": 6_150}  # 21.50 released
    # exactly once: a second post, or a void, changes nothing
    with pytest.raises(HoldClosed):
        hold_post(hold, 100, kind=PostingKind.SETTLEMENT, reference="S-HOLD-2", lines=[(accounts["pharmacy"], 100)])
    assert hold_void(hold) is False
    assert _figures()["balance_fen"] == 6_150 and ledger_discrepancies() == []


def test_post_more_than_held_or_nothing_is_refused(accounts):
    hold = _hold(accounts["alice"], 1_000)
    for amount in (1_001, 0, -5):
        with pytest.raises(InvalidInput):
            hold_post(hold, amount, kind=PostingKind.SETTLEMENT, reference=f"X{amount}",
                      lines=[(accounts["pharmacy"], amount)])
    hold.refresh_from_db()
    assert hold.status == HoldStatus.PENDING and _figures()["held_fen"] == 1_000


def test_void_releases_exactly_once_and_one_pending_hold_per_reference(accounts):
    hold = _hold(accounts["alice"], 2_500, reference="P:1")
    with pytest.raises(Conflict):
        _hold(accounts["alice"], 100, reference="P:1")
    assert hold_void(hold, reason="付款人拒绝") is True
    assert hold_void(hold) is False
    assert (hold.status, hold.reason) == (HoldStatus.VOIDED, "付款人拒绝")
    assert _figures() == {"balance_fen": 10_000, "held_fen": 0, "available_fen": 10_000}
    _hold(accounts["alice"], 100, reference="P:1")  # the reference is free again once the first is decided
    assert ledger_discrepancies() == []


def test_expired_hold_releases_itself_by_sweep_or_on_locked_access(accounts):
    past = _hold(accounts["alice"], 3_000, seconds=1)
    later = _hold(accounts["alice"], 1_000, seconds=3_600)
    Hold.objects.filter(pk=past.pk).update(deadline=timezone.now() - dt.timedelta(seconds=1))
    # not yet swept: reads leave it out, the check reports it
    assert personal_balance_fen(ALICE) == 9_000 and _figures()["held_fen"] == 4_000
    assert [p["problem"] for p in ledger_discrepancies()] == ["hold_overdue"]
    with pytest.raises(HoldClosed):  # past its deadline: never posted
        hold_post(past, 3_000, kind=PostingKind.SETTLEMENT, reference="late", lines=[(accounts["pharmacy"], 3_000)])
    assert holds_expire() == 1 and holds_expire() == 0  # exactly once
    past.refresh_from_db()
    assert past.status == HoldStatus.EXPIRED and ledger_discrepancies() == []
    assert _figures() == {"balance_fen": 10_000, "held_fen": 1_000, "available_fen": 9_000}
    # lazily: the next locked access expires an overdue hold
    Hold.objects.filter(pk=later.pk).update(deadline=timezone.now() - dt.timedelta(seconds=1))
    from core_platform.db import core_atomic
    from core_platform.locks import ledger_accounts_lock

    with core_atomic():
        locked = ledger_accounts_lock([accounts["alice"].pk])[accounts["alice"].pk]
        assert available_fen(locked, locked=True) == 10_000
    later.refresh_from_db()
    assert later.status == HoldStatus.EXPIRED and ledger_discrepancies() == []


def test_ledger_check_command_sweeps_with_expire_and_reports_held_mismatch(accounts):
    hold = _hold(accounts["alice"], 500)
    Hold.objects.filter(pk=hold.pk).update(deadline=timezone.now() - dt.timedelta(seconds=1))
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("core_ledger_check")
    call_command("core_ledger_check", "--expire")
    LedgerAccount.objects.filter(pk=accounts["alice"].pk).update(held_fen=7)  # a broken cache
    problems = {p["problem"] for p in ledger_discrepancies()}
    assert problems == {"held_mismatch"}


# --- property: any sequence keeps the invariants ----------------------------------------------


op = st.one_of(
    st.tuples(st.just("create"), st.integers(1, 6_000), st.booleans()),
    st.tuples(st.just("post"), st.integers(0, 9), st.integers(1, 6_000)),
    st.tuples(st.just("void"), st.integers(0, 9), st.just(0)),
    st.tuples(st.just("expire"), st.integers(0, 9), st.just(0)),
    st.tuples(st.just("spend"), st.integers(1, 6_000), st.just(0)),
)


@given(ops=st.lists(op, min_size=1, max_size=14))
@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_sequences_keep_every_invariant(accounts, ops):
    alice = accounts["alice"]
    Hold.objects.filter(account=alice, status=HoldStatus.PENDING).update(status=HoldStatus.VOIDED)  # examples share
    LedgerAccount.objects.filter(pk=alice.pk).update(held_fen=0)
    start = LedgerAccount.objects.get(pk=alice.pk).balance_fen
    holds: list[Hold] = []
    spent = 0  # fen that left the account (posted holds and direct payments)
    for n, (kind, a, b) in enumerate(ops):
        ref = uuid.uuid4().hex[:10]
        if kind == "create":
            try:
                holds.append(_hold(alice, a, seconds=3_600 if b else 1))
            except InsufficientBalance:
                assert a > personal_balance_fen(ALICE)
        elif kind == "post" and holds:
            hold = holds[a % len(holds)]
            hold.refresh_from_db()
            amount = min(b, hold.amount_fen)
            try:
                hold_post(hold, amount, kind=PostingKind.SETTLEMENT, reference=ref,
                          lines=[(accounts["pharmacy"], amount)])
                spent += amount
            except HoldClosed:
                assert hold.status != HoldStatus.PENDING or hold.deadline <= timezone.now()
        elif kind == "void" and holds:
            hold_void(holds[a % len(holds)])
        elif kind == "expire" and holds:
            Hold.objects.filter(pk=holds[a % len(holds)].pk, status=HoldStatus.PENDING).update(
                deadline=timezone.now() - dt.timedelta(seconds=1))
            holds_expire()
        elif kind == "spend":
            try:
                posting_create(PostingKind.SETTLEMENT, ref, [(alice, -a), (accounts["pharmacy"], a)])
                spent += a
            except InsufficientBalance:
                assert a > personal_balance_fen(ALICE)
        figures = _figures()
        assert figures["balance_fen"] == start - spent
        assert 0 <= figures["held_fen"] <= figures["balance_fen"]
        for hold in holds:
            hold.refresh_from_db()
            assert hold.status != HoldStatus.POSTED or 0 < hold.posted_fen <= hold.amount_fen
    holds_expire()
    assert [p for p in ledger_discrepancies() if p["problem"] != "hold_overdue"] == []
    assert not Hold.objects.filter(status=HoldStatus.PENDING, deadline__lte=timezone.now()).exists()


# --- races (PostgreSQL: row locks) -------------------------------------------------------------


def _race(*actions):
    barrier = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def run(i, action):
        try:
            barrier.wait()
            results[i] = action()
        except Exception as exc:  # noqa: BLE001 - the race's loser is what we look at
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _funded_hold(round_: int, amount: int):
    """Alice with 100.00 and a hold of ``amount`` (PostgreSQL only: row locks)."""
    if connections[CORE_DB].vendor != "postgresql":
        pytest.skip("row-lock races: PostgreSQL (SQLite serialises every writer with BEGIN IMMEDIATE)")
    found = _accounts()
    posting_create(PostingKind.CONTRIBUTION_CREDIT, f"open-{round_}", [(found["source"], -10_000), (found["alice"], 10_000)])
    return found, _hold(found["alice"], amount)


@pytest.mark.django_db(databases=["default", "core"], transaction=True)
@pytest.mark.parametrize("round_", range(5))
def test_two_posts_race_exactly_one_wins(round_):
    found, hold = _funded_hold(round_, 8_000)

    def post(n):
        return lambda: hold_post(Hold.objects.get(pk=hold.pk), 8_000 - n, kind=PostingKind.SETTLEMENT,
                                 reference=f"race-{round_}-{n}",
                                 lines=[(LedgerAccount.objects.get(pk=found["pharmacy"].pk), 8_000 - n)])

    results = _race(post(0), post(1), post(2))
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(wins) == 1 and all(isinstance(r, HoldClosed) for r in results if r not in wins), results
    hold.refresh_from_db()
    assert hold.status == HoldStatus.POSTED and hold.posting_id == wins[0].pk
    figures = personal_account_figures(ALICE)
    assert figures["held_fen"] == 0 and figures["balance_fen"] == 10_000 - hold.posted_fen
    assert ledger_discrepancies() == []


@pytest.mark.django_db(databases=["default", "core"], transaction=True)
@pytest.mark.parametrize("round_", range(5))
def test_post_and_void_and_sweep_race_exactly_one_decides(round_):
    found, hold = _funded_hold(round_, 5_000)

    def post():
        return hold_post(Hold.objects.get(pk=hold.pk), 5_000, kind=PostingKind.SETTLEMENT, reference=f"pv-{round_}",
                         lines=[(LedgerAccount.objects.get(pk=found["pharmacy"].pk), 5_000)])

    def void():
        return hold_void(Hold.objects.get(pk=hold.pk), reason="declined")

    results = _race(post, void, void)
    hold.refresh_from_db()
    figures = personal_account_figures(ALICE)
    if hold.status == HoldStatus.POSTED:
        assert results[0].pk == hold.posting_id and results[1:] == [False, False]
        assert figures == {"balance_fen": 5_000, "held_fen": 0, "available_fen": 5_000}
    else:
        assert hold.status == HoldStatus.VOIDED and isinstance(results[0], HoldClosed)
        assert sorted(results[1:]) == [False, True]
        assert figures == {"balance_fen": 10_000, "held_fen": 0, "available_fen": 10_000}
    assert ledger_discrepancies() == []


# --- over the envelope: 2102 with input.hold, 9410 / 9411 / 9412 ----------------------------


def _held_2102(client, psn_no, msgid, seconds=300, limit="30.00"):
    body = bill(psn_no, THREE_ITEMS, acct_pay_limit=limit)
    body["hold"] = {"expire_seconds": seconds}
    return send(client, "2102", body, msgid=msgid)


def test_2102_without_input_hold_is_unchanged_4008_nothing_held(client, world):
    body = bill(world.psn_no, THREE_ITEMS, acct_pay_limit="30.00", hold="1")  # a druginfo field is not the gate
    over = send(client, "2102", body, msgid="NOHOLD-1")
    assert over["infcode"] == InfCode.CONFIRMATION_REQUIRED and "hold" not in over["output"]
    assert not Hold.objects.exists() and personal_balance_fen(world.psn_no) == 10_000


def test_2102_with_input_hold_holds_the_account_part_and_9411_settles_it(client, world):
    placed = _held_2102(client, world.psn_no, "HOLD-2102-1")
    assert placed["infcode"] == 0, placed
    info, hold = placed["output"]["setlinfo"], placed["output"]["hold"]
    # 85.50: fund 46.90, account 38.60 (held, not posted), cash 0
    assert (info["setl_id"], info["fund_pay_sumamt"], info["acct_pay"], info["psn_cash_pay"]) == (
        "", D("46.90"), D("38.60"), D("0.00"))
    assert info["balc"] == D("61.40")  # what is available while held
    assert (hold["status"], hold["amount"], hold["medins_setl_id"]) == ("pending", D("38.60"), "HOLD-2102-1")
    assert personal_account_figures(world.psn_no) == {"balance_fen": 10_000, "held_fen": 3_860,
                                                      "available_fen": 6_140}
    assert not Settlement.objects.exists()
    # a replay of the 2102 returns the same answer (the envelope journal): no second hold
    assert _held_2102(client, world.psn_no, "HOLD-2102-1")["output"]["hold"]["hold_id"] == hold["hold_id"]
    assert Hold.objects.count() == 1
    # the payer's PIN: 9411 posts it
    assert send(client, "9410", {"data": {"hold_id": hold["hold_id"]}})["output"]["hold"]["status"] == "pending"
    posted = send(client, "9411", {"data": {"hold_id": hold["hold_id"]}}, msgid="POST-1")
    assert posted["infcode"] == 0, posted
    setl = posted["output"]["setlinfo"]
    assert (setl["acct_pay"], setl["fund_pay_sumamt"], setl["balc"]) == (D("38.60"), D("46.90"), D("61.40"))
    assert setl["medins_setl_id"] == "HOLD-2102-1" and setl["setl_id"].startswith("S")
    assert posted["output"]["hold"]["status"] == "posted" and posted["output"]["hold"]["setl_id"] == setl["setl_id"]
    settlement = Settlement.objects.get()
    assert (settlement.msgid, settlement.acct_fen, settlement.fund_fen) == ("HOLD-2102-1", 3_860, 4_690)
    assert personal_account_figures(world.psn_no) == {"balance_fen": 6_140, "held_fen": 0, "available_fen": 6_140}
    # exactly once: another 9411 (new msgid) is 4016 with what became of it; a replay is the first answer
    again = send(client, "9411", {"data": {"hold_id": hold["hold_id"]}}, msgid="POST-2")
    assert again["infcode"] == InfCode.HOLD_CLOSED and again["output"]["hold"]["setl_id"] == setl["setl_id"]
    assert send(client, "9411", {"data": {"hold_id": hold["hold_id"]}}, msgid="POST-1") == posted
    assert send(client, "9412", {"data": {"hold_id": hold["hold_id"]}})["infcode"] == InfCode.HOLD_CLOSED
    # an ordinary settlement from here on: 2601 by the original msgid reverses it
    reversed_ = send(client, "2601", {"data": {"omsgid": "HOLD-2102-1", "oinfno": "2102"}})
    assert reversed_["infcode"] == 0 and reversed_["output"]["result"] == "reversed"
    assert personal_balance_fen(world.psn_no) == 10_000 and ledger_discrepancies() == []


def test_9412_voids_and_an_expired_hold_cannot_be_posted(client, world):
    first = _held_2102(client, world.psn_no, "HOLD-V-1")["output"]["hold"]["hold_id"]
    voided = send(client, "9412", {"data": {"hold_id": first, "reason": "参保人拒绝"}})
    assert voided["infcode"] == 0 and voided["output"]["hold"]["status"] == "voided"
    assert send(client, "9412", {"data": {"hold_id": first}})["output"]["hold"]["status"] == "voided"  # no change
    assert send(client, "9411", {"data": {"hold_id": first}})["infcode"] == InfCode.HOLD_CLOSED
    assert personal_account_figures(world.psn_no)["held_fen"] == 0
    second = _held_2102(client, world.psn_no, "HOLD-V-2")["output"]["hold"]["hold_id"]
    Hold.objects.filter(hold_id=second).update(deadline=timezone.now() - dt.timedelta(seconds=1))
    late = send(client, "9411", {"data": {"hold_id": second}})
    assert late["infcode"] == InfCode.HOLD_CLOSED and not Settlement.objects.exists()
    assert send(client, "9410", {"data": {"hold_id": second}})["output"]["hold"]["status"] == "expired"
    assert personal_account_figures(world.psn_no) == {"balance_fen": 10_000, "held_fen": 0, "available_fen": 10_000}
    assert ledger_discrepancies() == []


def test_held_money_is_not_spent_by_another_settlement_and_other_institutions_cannot_touch_it(client, world):
    hold_id = _held_2102(client, world.psn_no, "HOLD-O-1")["output"]["hold"]["hold_id"]
    # another bill meanwhile: the account pays from the 61.40 available only
    other = send(client, "2102", bill(world.psn_no, [("XC0001", "70.00", "1")]), msgid="OTHER-1")
    assert other["infcode"] == 0
    assert (other["output"]["setlinfo"]["acct_pay"], other["output"]["setlinfo"]["psn_cash_pay"]) == (
        D("61.40"), D("8.60"))
    from tests.core_platform.signing import call, envelope

    foreign = call(client, envelope("9411", {"data": {"hold_id": hold_id}}, fixmedins_code="P11010000099"))
    assert foreign["infcode"] == InfCode.HOLD_NOT_FOUND
    posted = send(client, "9411", {"data": {"hold_id": hold_id}})
    assert posted["infcode"] == 0 and posted["output"]["setlinfo"]["acct_pay"] == D("38.60")
    assert posted["output"]["setlinfo"]["balc"] == D("0.00")
    assert personal_account_figures(world.psn_no) == {"balance_fen": 0, "held_fen": 0, "available_fen": 0}
    assert ledger_discrepancies() == []


def test_9411_refuses_when_the_counters_moved_and_the_hold_stays_pending(client, world):
    """A settlement hold reserves the account part, not the policy counters:
    if other bills used up the annual ceiling meanwhile the held split no
    longer holds — 4003, nothing posted, the hold left for a void or its
    deadline."""
    from core_platform.models import AnnualAccumulator

    hold_id = _held_2102(client, world.psn_no, "HOLD-C-1")["output"]["hold"]["hold_id"]
    AnnualAccumulator.objects.update_or_create(psn_no=world.psn_no, year=2026,
                                               defaults={"fund_paid_fen": 40_000_000})  # the ceiling reached
    changed = send(client, "9411", {"data": {"hold_id": hold_id}})
    assert changed["infcode"] == InfCode.SPLIT_CHANGED, changed
    assert Hold.objects.get(hold_id=hold_id).status == HoldStatus.PENDING and not Settlement.objects.exists()
    assert personal_account_figures(world.psn_no)["held_fen"] == 3_860
    assert send(client, "9412", {"data": {"hold_id": hold_id}})["output"]["hold"]["status"] == "voided"


@pytest.mark.parametrize("node", [{"expire_seconds": 0}, {"expire_seconds": 86_401}, {"expire_seconds": "5s"},
                                  {"expire_seconds": True}, "300", {}])
def test_bad_input_hold_is_refused(client, world, node):
    body = bill(world.psn_no, THREE_ITEMS, acct_pay_limit="30.00")
    body["hold"] = node
    assert send(client, "2102", body)["infcode"] == InfCode.INPUT_INVALID
    assert not Hold.objects.exists()
