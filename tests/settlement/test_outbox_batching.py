"""The outbox relays in bulk (issue 16, target 4): several messages of one
person in one core call, in order; the core applies a 9201 batch in one go
and, after a person's failed event, skips (does not apply) the rest of that
person's; the wallet hands the skipped ones back untried."""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction

from settlement.client import SettlementCoreClient, core_client
from settlement.models import OutboxMessage
from settlement.services.outbox import _event, outbox_claim, outbox_enqueue, outbox_relay
from tests.settlement.test_sync_services import core_state

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url", "outbox_ids_above_earlier_tests")]


@pytest.fixture(autouse=True)
def _core_db(core_live, settings):
    settings.CORE_LIVE_DB_URL = core_live.db_url


def _person() -> str:
    return "98" + f"{uuid.uuid4().int % 10**18:018d}"  # a fresh 20-digit psn_no: the core applies events for any


def _enqueue(person: str, kinds: list[str]) -> list[OutboxMessage]:
    with transaction.atomic():
        return [outbox_enqueue(kind=kind, person_key=person, payload={"n": n}) for n, kind in enumerate(kinds)]


@pytest.fixture
def core_calls(monkeypatch):
    """The 9201 batches the relay sends (the real client, counted)."""
    calls: list[list[str]] = []
    real = SettlementCoreClient.call

    def call(self, infno, input, **kw):
        if infno == "9201":
            calls.append([e["message_id"] for e in input["events"]])
        return real(self, infno, input, **kw)

    monkeypatch.setattr(SettlementCoreClient, "call", call)
    return calls


def test_a_persons_messages_go_in_one_call_in_order(core_calls):
    alice, bob = _person(), _person()
    kinds = ["voucher.activated", "voucher.frozen", "voucher.unfrozen", "voucher.frozen", "voucher.unfrozen"]
    mine = _enqueue(alice, kinds) + _enqueue(bob, kinds[:2])
    result = outbox_relay(budget_seconds=30, batch_size=100)
    assert result == {"sent": 7, "failed": 0, "more": False}
    assert core_calls == [[m.message_id for m in sorted(mine, key=lambda m: m.pk)]]  # one call, id order
    assert set(OutboxMessage.objects.values_list("status", "attempts")) == {("sent", 1)}
    state = core_state(alice)
    assert state["status"] == "active"
    assert [k for k, _ in state["events"]] == kinds
    assert [s for _, s in state["events"]] == [m.pk for m in mine[:5]]
    assert [k for k, _ in core_state(bob)["events"]] == kinds[:2]


def test_the_core_skips_a_persons_events_after_a_failed_one_and_the_wallet_hands_them_back(core_calls):
    alice, bob = _person(), _person()
    first, bad, after = _enqueue(alice, ["voucher.activated", "voucher.exploded", "voucher.frozen"])
    other = _enqueue(bob, ["voucher.activated"])[0]
    result = outbox_relay(budget_seconds=30, batch_size=100)
    assert result["sent"] == 2 and result["failed"] == 1
    assert len(core_calls) == 1
    rows = {m.pk: m for m in OutboxMessage.objects.all()}
    assert (rows[first.pk].status, rows[other.pk].status) == ("sent", "sent")
    assert rows[bad.pk].status == "pending" and rows[bad.pk].attempts == 1
    assert "unknown event kind voucher.exploded" in rows[bad.pk].last_error
    assert rows[after.pk].status == "pending" and rows[after.pk].attempts == 0  # untried: waits its turn
    assert rows[after.pk].last_error == ""
    assert [k for k, _ in core_state(alice)["events"]] == ["voucher.activated"]  # not the frozen after the bad one


def test_one_batch_at_the_core_answers_per_event(core_url):
    alice, bob = _person(), _person()
    events = [
        {"message_id": str(uuid.uuid4()), "person_key": alice, "sequence": 10, "kind": "voucher.activated"},
        {"message_id": str(uuid.uuid4()), "person_key": bob, "sequence": 10, "kind": "voucher.activated"},
        {"message_id": str(uuid.uuid4()), "person_key": alice, "sequence": 11, "kind": "authorization.added",
         "payload": ["not", "an", "object"]},
        {"message_id": str(uuid.uuid4()), "person_key": alice, "sequence": 12, "kind": "voucher.frozen"},
        {"message_id": str(uuid.uuid4()), "person_key": bob, "sequence": 11, "kind": "authorization.added",
         "payload": {"channel": "alipay"}},
    ]
    events.append(dict(events[1]))  # the same message twice in one batch
    out = core_client().call("9201", {"events": events})
    assert [(r["message_id"], r["result"]) for r in out["results"]] == [
        (events[0]["message_id"], "applied"), (events[1]["message_id"], "applied"),
        (events[2]["message_id"], "error"), (events[3]["message_id"], "skipped"),
        (events[4]["message_id"], "applied"), (events[1]["message_id"], "duplicate")]
    assert out["results"][2]["error"] == "payload must be an object"
    assert "earlier event of this person" in out["results"][3]["error"]
    assert core_state(alice)["status"] == "active" and [s for _, s in core_state(alice)["events"]] == [10]
    bob_state = core_state(bob)
    assert bob_state["channels"] == ["alipay"] and [s for _, s in bob_state["events"]] == [10, 11]
    again = core_client().call("9201", {"events": events[:2] + events[3:4]})
    assert [r["result"] for r in again["results"]] == ["duplicate", "duplicate", "applied"]
    assert core_state(alice)["status"] == "frozen"


def test_a_claim_takes_runs_from_each_head_and_nothing_behind_a_held_head():
    alice, bob = _person(), _person()
    a = _enqueue(alice, ["voucher.activated", "voucher.frozen", "voucher.unfrozen", "voucher.frozen"])
    b = _enqueue(bob, ["voucher.activated", "voucher.frozen"])
    first = outbox_claim(4)  # two heads, the two free places shared out as followers
    assert [m.pk for m in first] == sorted([a[0].pk, a[1].pk, b[0].pk, b[1].pk])
    assert outbox_claim(10) == []  # both heads are held by the first claim: nothing behind them moves
    OutboxMessage.objects.filter(pk__in=[a[0].pk, a[1].pk]).update(status="sent", lease_until=None)
    OutboxMessage.objects.filter(pk=b[0].pk).update(status="dead", lease_until=None)
    OutboxMessage.objects.filter(pk=b[1].pk).update(status="pending", lease_until=None)
    second = outbox_claim(10)
    assert [m.pk for m in second] == [a[2].pk, a[3].pk]  # bob's dead head holds his line
    assert [e["sequence"] for e in map(_event, second)] == [a[2].pk, a[3].pk]


def test_a_filing_event_keeps_its_place_and_its_own_transaction(core_url):
    """Family and filing events are applied one transaction each, in their
    place in the batch: the events before them applied, the person's after
    a failed one skipped, other persons' runs around them applied."""
    alice, bob = _person(), _person()
    ids = [str(uuid.uuid4()) for _ in range(5)]
    events = [
        {"message_id": ids[0], "person_key": alice, "sequence": 20, "kind": "voucher.activated"},
        {"message_id": ids[1], "person_key": alice, "sequence": 21, "kind": "filing.created", "payload": {}},
        {"message_id": ids[2], "person_key": bob, "sequence": 20, "kind": "voucher.activated"},
        {"message_id": ids[3], "person_key": alice, "sequence": 22, "kind": "voucher.frozen"},
        {"message_id": ids[4], "person_key": bob, "sequence": 21, "kind": "voucher.frozen"},
    ]
    out = core_client().call("9201", {"events": events})
    assert [(r["message_id"], r["result"]) for r in out["results"]] == [
        (ids[0], "applied"), (ids[1], "error"), (ids[2], "applied"), (ids[3], "skipped"), (ids[4], "applied")]
    assert "filing_no" in out["results"][1]["error"]
    assert core_state(alice)["status"] == "active" and [s for _, s in core_state(alice)["events"]] == [20]
    assert core_state(bob)["status"] == "frozen" and [s for _, s in core_state(bob)["events"]] == [20, 21]
