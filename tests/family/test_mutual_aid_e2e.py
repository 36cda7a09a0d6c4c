"""Family mutual aid (家庭共济) end to end through the wallet's terminal
gateway, the settlement core as its own HTTP service (one process for the
test session, its own database): the parent shows the child's code, the
pharmacy's 2101/2102 settles the child — the child's own account first,
then the parent's (acct_mulaid_pay), then cash — and the parent is told;
the parent's own-PIN confirmation above confirm_above (core 4008 on
mulaid_pay_limit) and its decline; an authorisation the core has not
received yet is relayed at settle time (never a 4010 for the wallet's own
undelivered event) or, when it cannot be, the bill goes without it and says
why; a revocation the core holds first (4010) settles the bill without
mutual aid; revocations racing settlements through the real core (threads);
and the fault drill: the core unreachable while bindings and authorisations
change, then drained — the core's state equals the wallet's, events applied
once, in order.

The core is shared by the session: every number is worked out from the
balances read just before, never from the demo data's opening balances."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import close_old_connections, connection, transaction
from django.test import Client
from django.utils import timezone

from common.envelope import InfCode
from common.money import yuan_to_fen
from family.models import Binding, MutualAid, MutualAidUse
from family.services.mulaid import NOT_DELIVERED
from settlement.client import core_client
from settlement.models import OutboxMessage
from settlement.services.outbox import outbox_enqueue, outbox_relay, outbox_replay
from settlement.services.pulls import _apply_registry_change
from tests.family.helpers import GUARDIAN, P, bind, error
from tests.family.test_relative_code import strong_pin
from tests.support.app import AppClient
from tests.support.faultproxy import FaultProxy
from tests.support.pos import A_ITEMS, DATA, Pos
from tests.support.processes import base_env, core_eval, run_manage
from payments.models import Payment
from wallet.selectors import voucher_get
from payments.services.counter import MULAID_NOT_HELD
from wallet.services.push import voucher_group

PARENT = P["family_parent"]  # 310, the payer
CHILD = P["family_child"]  # 390, ten years old, the parent's child in the core's household register
PARENT_PIN = "258036"
PHARMACY = next(i for i in DATA.institutions if i.kind == "pharmacy" and i.designated
                and i.region == CHILD.insured_region)
ITEM = next(c for c in A_ITEMS if not c.mulaid_excluded).med_list_codg  # 甲类, no price cap, payable by mutual aid
BILL = [(ITEM, "300.00", "1")]

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url", "outbox_ids_above_earlier_tests")]


def fen(value) -> int:
    return yuan_to_fen(str(value))


class Family:
    def __init__(self, parent: AppClient, binding_id: str):
        self.parent, self.binding_id = parent, binding_id

    def authorise(self, **body) -> dict:
        created = self.parent.post(f"/api/family/relatives/{self.binding_id}/mutual-aid", body)
        assert created.status_code == 201, created.content
        return created.json()

    def revoke(self) -> dict:
        done = self.parent.post(f"/api/family/relatives/{self.binding_id}/mutual-aid/revoke")
        assert done.status_code == 200, done.content
        return done.json()

    def child_balance(self) -> int:
        return fen(self.parent.get(f"/api/family/relatives/{self.binding_id}/balance?refresh=1").json()["balance"])

    def parent_balance(self) -> int:
        return fen(self.parent.get("/api/account/balance?refresh=1").json()["balance"])

    def child_code(self) -> str:
        return self.parent.get(f"/api/voucher/code?person={self.binding_id}").json()["code"]

    def pos(self, client=None) -> Pos:
        """A pharmacy till that has just scanned the child's code (shown on the parent's phone)."""
        pos = Pos(client or Client(), PHARMACY)
        decoded = pos.decode(self.child_code())
        assert decoded["code"] == 0, decoded
        assert decoded["data"]["userName"] == CHILD.name  # the child's identity, never the parent's
        return pos


def _family(client) -> Family:
    parent = AppClient(client, "wechat").login()
    parent.activate(PARENT, pin=PARENT_PIN)
    created = bind(parent, CHILD, "child", "guardian", GUARDIAN)
    assert created.status_code == 201, created.content
    binding_id = created.json()["id"]
    # The relation is checked by the core's registry (9402), not claimed: mutual aid needs it verified.
    assert Binding.objects.get(public_id=binding_id).relation_check == "verified"
    pin = strong_pin(CHILD, avoid=[PARENT_PIN])
    assert parent.post(f"/api/family/relatives/{binding_id}/pin", {"pin": pin, "pin_confirm": pin}).status_code == 200
    return Family(parent, binding_id)


@pytest.fixture
def family(client) -> Family:
    return _family(client)


def credit_child(core_live, amount_fen: int) -> None:
    """Money into the child's own account at the core (idempotent on a fresh reference)."""
    env = base_env(YIBAO_SERVICE="core", CORE_DATABASE_URL=core_live.db_url)
    run_manage(env, "core_credit_account", "--psn-no", CHILD.psn_no, "--amount-fen", str(amount_fen),
               "--reference", f"mulaid-e2e-{uuid.uuid4().hex[:12]}")


def split(answer: dict) -> dict:
    info = answer["output"]["setlinfo"]
    return {name: fen(info[name]) for name in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "acct_mulaid_pay",
                                                "psn_cash_pay")}


def expected(answer: dict, own_fen: int, cap_fen: int) -> dict:
    """The order the issue asks for, worked out from the fund's part: the
    child's own account first, then the parent's (up to the cap), then cash."""
    got = split(answer)
    person = got["medfee_sumamt"] - got["fund_pay_sumamt"]
    own = min(own_fen, person)
    mulaid = min(person - own, cap_fen)
    return {**got, "acct_pay": own, "acct_mulaid_pay": mulaid, "psn_cash_pay": person - own - mulaid}


def _listen(person) -> tuple:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(voucher_group(voucher_get(person).pk), channel)
    return layer, channel


def _received(layer, channel, kind: str) -> dict:
    async def first():
        while True:
            message = await asyncio.wait_for(layer.receive(channel), 5)
            if message["type"] == kind:
                return message["body"]
    return async_to_sync(first)()


# --- the story -------------------------------------------------------------------------

def test_child_pays_own_account_then_parents_then_cash_parent_told_then_revoked_is_cash(
        family, core_live, django_capture_on_commit_callbacks):
    credit_child(core_live, 2000)  # the child has at least 20.00 of its own
    auth = family.authorise(annual_cap="300.00", bill_cap="80.00")
    # Not relayed by any worker yet: the settle delivers the authorisation itself (no 4010).
    assert OutboxMessage.objects.get(kind="mulaid.authorized").status == "pending"
    child_before, parent_before = family.child_balance(), family.parent_balance()
    assert child_before >= 2000
    pos = family.pos()
    bill = pos.bill(BILL, insutype=CHILD.insutype)
    pre = pos.pre_settle(bill)
    assert pre["infcode"] == 0, pre
    assert OutboxMessage.objects.get(kind="mulaid.authorized").status == "sent"
    layer, channel = _listen(PARENT_PERSON())
    with django_capture_on_commit_callbacks(execute=True):  # the push goes after the settling commit
        settled = pos.settle(bill, msgid="MA-E2E-STORY-1")
    assert settled["infcode"] == 0, settled
    want = expected(settled, child_before, 8000)
    assert split(settled) == want and split(pre) == want  # 2101 said what 2102 did
    assert want["acct_pay"] > 0 and want["acct_mulaid_pay"] == 8000 and want["psn_cash_pay"] > 0  # all three used
    info = settled["output"]["setlinfo"]
    assert (info["psn_no"], info["mulaid_payer_psn_no"], info["mulaid_auth_id"]) == (CHILD.psn_no, PARENT.psn_no,
                                                                                     auth["id"])
    assert fen(info["mulaid_annual_left"]) == 30000 - 8000
    assert any("共济支付80.00元" in line for line in settled["output"]["explanation"])
    # Both accounts moved by exactly their parts.
    assert family.child_balance() == child_before - want["acct_pay"]
    assert family.parent_balance() == parent_before - 8000
    # The parent is told at once (push) and in the notifications, and sees the ledger row.
    pushed = _received(layer, channel, "mulaid.used")
    assert (pushed["relative_name"], pushed["institution"], pushed["amount"], pushed["remaining_annual_cap"],
            pushed["setl_id"]) == (CHILD.name, PHARMACY.name, "80.00", "220.00", info["setl_id"])
    notes = [n for n in family.parent.get("/api/notifications").json() if n["kind"] == "mulaid.used"]
    assert [(n["amount"], n["relative_name"], n["institution"]) for n in notes] == [("80.00", CHILD.name,
                                                                                    PHARMACY.name)]
    assert notes[0]["message"] == f"{CHILD.name}在{PHARMACY.name}使用家庭共济支付 80.00 元，本年剩余共济限额 220.00 元"
    ledger = family.parent.get(f"/api/family/mutual-aid/ledger?relative={family.binding_id}").json()
    assert [(r["amount"], r["remaining_annual_cap"], r["setl_id"], r["status"]) for r in ledger] == [
        ("80.00", "220.00", info["setl_id"], "settled")]

    # The parent revokes; the revocation has not reached the core (no worker), yet the next bill is cash.
    assert family.revoke()["status"] == "revoked"
    assert OutboxMessage.objects.get(kind="mulaid.revoked").status == "pending"
    child_now, parent_now = family.child_balance(), family.parent_balance()
    pos = family.pos()
    after = pos.settle(pos.bill(BILL, insutype=CHILD.insutype), msgid="MA-E2E-STORY-2")
    assert after["infcode"] == 0, after
    assert split(after) == expected(after, child_now, 0)
    assert split(after)["acct_mulaid_pay"] == 0 and after["output"]["setlinfo"]["mulaid_payer_psn_no"] == ""
    assert family.parent_balance() == parent_now


def PARENT_PERSON():
    return Binding.objects.select_related("binder").filter(binder__psn_no=PARENT.psn_no).first().binder


# --- the payer's own confirmation (core 4008 on mulaid_pay_limit) ----------------------

def test_above_confirm_above_the_parent_confirms_with_own_pin_or_declines(family, client,
                                                                          django_capture_on_commit_callbacks):
    family.authorise(confirm_above="10.00")
    parent_before = family.parent_balance()
    pos = family.pos()
    bill = pos.bill(BILL, insutype=CHILD.insutype)
    layer, channel = _listen(PARENT_PERSON())
    with django_capture_on_commit_callbacks(execute=True):
        pending = pos.settle(bill, msgid="MA-E2E-CONFIRM-1")
    # The core refused the one-call settle (4008, nothing posted): the terminal is asked to wait.
    assert pending["infcode"] == InfCode.CONFIRMATION_PENDING, pending
    payment = Payment.objects.get(public_id=MutualAidUse.objects.get().payment_id)
    assert payment.status == "awaiting_confirmation" and payment.mulaid_fen > 1000
    asked = _received(layer, channel, "mulaid.confirm")
    assert (asked["id"], asked["relative_name"], asked["amount"]) == (payment.public_id, CHILD.name,
                                                                      f"{Decimal(payment.mulaid_fen) / 100:.2f}")
    listed = family.parent.get("/api/family/mutual-aid/confirmations").json()
    assert [(c["id"], c["relative_name"], c["institution"]) for c in listed] == [(payment.public_id, CHILD.name,
                                                                                  PHARMACY.name)]
    assert family.parent_balance() == parent_before  # nothing posted while asked
    again = pos.settle(bill, msgid="MA-E2E-CONFIRM-1")
    assert again["infcode"] == InfCode.CONFIRMATION_PENDING
    # Only the parent's own PIN confirms it.
    path = f"/api/family/mutual-aid/confirmations/{payment.public_id}"
    wrong = error(family.parent.post(f"{path}/confirm", {"pin": strong_pin(CHILD, avoid=[PARENT_PIN])}),
                  400, "PIN_INCORRECT")
    assert wrong["detail"]["tries_left"] == 4
    done = family.parent.post(f"{path}/confirm", {"pin": PARENT_PIN})
    assert done.status_code == 200 and done.json() == {"id": payment.public_id, "status": "confirmed"}
    settled = pos.settle(bill, msgid="MA-E2E-CONFIRM-1")
    assert settled["infcode"] == 0, settled
    assert fen(settled["output"]["setlinfo"]["acct_mulaid_pay"]) == payment.mulaid_fen
    assert family.parent_balance() == parent_before - payment.mulaid_fen

    # Declined: the bill is refused (1010), nothing charged to anyone.
    child_now, parent_now = family.child_balance(), family.parent_balance()
    pos = family.pos()
    bill = pos.bill(BILL, insutype=CHILD.insutype)
    assert pos.settle(bill, msgid="MA-E2E-CONFIRM-2")["infcode"] == InfCode.CONFIRMATION_PENDING
    second = Payment.objects.exclude(pk=payment.pk).get()
    declined = family.parent.post(f"/api/family/mutual-aid/confirmations/{second.public_id}/decline")
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    refused = pos.settle(bill, msgid="MA-E2E-CONFIRM-2")
    assert refused["infcode"] == InfCode.CONFIRMATION_REFUSED and refused["err_msg"] == "参保人已拒绝本次支付"
    assert (family.child_balance(), family.parent_balance()) == (child_now, parent_now)


# --- delivery order -----------------------------------------------------------------------

def test_an_authorisation_that_cannot_reach_the_core_is_not_relied_on_and_the_bill_says_why(family):
    """A dead letter holds the parent's outbox line: the authorisation cannot be
    delivered at settle time, so the bill is settled without mutual aid (explained),
    never refused 4010; once an operator replays the line, mutual aid works."""
    family.authorise()
    OutboxMessage.objects.filter(person_key=PARENT.psn_no, status="pending").update(status="dead")
    child_now, parent_now = family.child_balance(), family.parent_balance()
    pos = family.pos()
    answer = pos.settle(pos.bill(BILL, insutype=CHILD.insutype), msgid="MA-E2E-UNDELIVERED-1")
    assert answer["infcode"] == 0, answer
    assert split(answer) == expected(answer, child_now, 0)
    assert NOT_DELIVERED in answer["output"]["explanation"]
    assert MutualAidUse.objects.get().status == "not_used"
    record = Payment.objects.get()
    assert NOT_DELIVERED in family.parent.get(
        f"/api/family/relatives/{family.binding_id}/records/{record.public_id}").json()["explanation"]
    assert family.parent_balance() == parent_now
    assert outbox_replay(all_dead=True) >= 1
    pos = family.pos()
    answer = pos.settle(pos.bill(BILL, insutype=CHILD.insutype), msgid="MA-E2E-UNDELIVERED-2")
    assert answer["infcode"] == 0 and split(answer)["acct_mulaid_pay"] > 0, answer
    assert OutboxMessage.objects.get(kind="mulaid.authorized").status == "sent"  # relayed by the settle itself


def test_the_core_revoked_first_the_bill_goes_without_mutual_aid_never_refused(family):
    """The core holds a newer revocation than the wallet (the race's other
    side): its 4010 is answered by settling again without mutual aid, under
    a msgid of its own; the payer pays nothing."""
    auth = family.authorise()
    with transaction.atomic():  # the revocation's event, as if its row change had not been seen by this bill
        outbox_enqueue(kind="mulaid.revoked", person_key=PARENT.psn_no, payload={
            "auth_id": auth["id"], "version": 2, "reason": "revoked_by_payer", "payer_psn_no": PARENT.psn_no,
            "rel_psn_no": CHILD.psn_no})
    outbox_relay(budget_seconds=10)
    assert not OutboxMessage.objects.exclude(status="sent").exists()
    assert core_client() and MutualAid.objects.get(public_id=auth["id"]).status == "active"  # the wallet: still v1
    child_now, parent_now = family.child_balance(), family.parent_balance()
    pos = family.pos()
    answer = pos.settle(pos.bill(BILL, insutype=CHILD.insutype), msgid="MA-E2E-CORE-FIRST")
    assert answer["infcode"] == 0, answer
    assert split(answer) == expected(answer, child_now, 0)
    assert MULAID_NOT_HELD in answer["output"]["explanation"]
    payment = Payment.objects.get()
    assert payment.core_msgid.startswith("N") and len(payment.core_msgid) == 30
    assert MutualAidUse.objects.get().status == "not_used"
    assert family.parent_balance() == parent_now
    # The same msgid asked again answers the same settlement (the terminal's retry).
    assert pos.settle(pos.bill(BILL, insutype=CHILD.insutype, mdtrt_cert_no=pos.token),
                      msgid="MA-E2E-CORE-FIRST")["output"]["setlinfo"]["setl_id"] == payment.setl_id


# --- the 9302 "mulaid_ended" change ---------------------------------------------------------

def test_the_cores_own_ending_ends_the_wallets_authorisation(family):
    auth = family.authorise()
    outbox_relay(budget_seconds=10)
    sent = OutboxMessage.objects.count()
    with transaction.atomic():  # as the 9302 pull applies a page
        _apply_registry_change({"psn_no": PARENT.psn_no, "kind": "mulaid_ended", "data": {
            "auth_id": auth["id"], "version": 1, "rel_psn_no": CHILD.psn_no, "reason": "被共济人参保状态变更：suspended",
            "returned": "0.00"}})
    row = MutualAid.objects.get(public_id=auth["id"])
    assert (row.status, row.ended_reason, row.version) == ("ended", "ended_at_core", 1)
    assert OutboxMessage.objects.count() == sent  # the core ended it: nothing to tell it back
    view = family.parent.get(f"/api/family/relatives/{family.binding_id}/mutual-aid").json()
    assert (view["status"], view["ended_reason"]) == ("ended", "ended_at_core")
    # Someone else's auth id in a change for this payer changes nothing.
    other = family.authorise()
    with transaction.atomic():
        _apply_registry_change({"psn_no": CHILD.psn_no, "kind": "mulaid_ended", "data": {"auth_id": other["id"]}})
    assert MutualAid.objects.get(public_id=other["id"]).status == "active"


# --- revocations racing settlements through the real core ---------------------------------

@pytest.mark.django_db(transaction=True)
def test_revocations_racing_settlements_never_pay_after_the_revocation(client, core_live):
    """Three rounds: a bill of the child and the parent's revocation (then the
    outbox relayed) at the same moment. Every bill is settled; mutual aid is
    paid only by a bill that recorded its use before the revocation committed,
    and the revocation answers only after that bill's outcome; the core never
    settled with the authorisation after it held the revocation; every fen is
    accounted for."""
    family = _family(client)
    outbox_relay(budget_seconds=10)
    parent_start, child_start = family.parent_balance(), family.child_balance()
    results = []
    for round_ in range(3):
        auth = family.authorise()
        pos = family.pos()
        bill = pos.bill(BILL, insutype=CHILD.insutype)
        start, out = threading.Barrier(2), {}

        def pay():
            close_old_connections()
            try:
                start.wait(10)
                out["answer"] = pos.settle(bill, msgid=f"MA-E2E-RACE-{round_}")
            finally:
                connection.close()

        def revoke():
            close_old_connections()
            try:
                start.wait(10)
                time.sleep((0, 0.2, 1.0)[round_])  # a different interleaving each round
                out["revoked"] = family.revoke()
                out["revoked_at"] = timezone.now()
                outbox_relay(budget_seconds=10)
            finally:
                connection.close()

        threads = [threading.Thread(target=pay), threading.Thread(target=revoke)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert out["answer"]["infcode"] == 0, out["answer"]  # never failed by the race
        assert out["revoked"]["status"] == "revoked"
        payment = Payment.objects.get(setl_id=out["answer"]["output"]["setlinfo"]["setl_id"])
        results.append((auth, payment, out))
    for auth, payment, out in results:
        row = MutualAid.objects.get(public_id=auth["id"])
        assert row.status == "revoked"
        use = MutualAidUse.objects.filter(payment_id=payment.public_id).first()
        if payment.mulaid_fen:
            # Paid from the parent's account: its use was recorded under the row lock before the
            # revocation committed, and the revocation answered only after this bill settled.
            assert use is not None and use.status == "settled" and use.version == 1
            assert use.created_at <= row.ended_at and payment.settled_at <= out["revoked_at"]
        else:
            assert use is None or use.status == "not_used"
    # At the core: no settlement with an authorisation after the core applied its revocation.
    auth_ids = [a["id"] for a, _, _ in results]
    core = core_eval(core_live.db_url, (
        f"[(a.auth_id, a.status, a.updated_at.isoformat(), [(s.setl_id, s.mulaid_fen, s.settled_at.isoformat()) "
        f"for s in m.Settlement.objects.filter(mulaid_auth_id=a.auth_id)]) "
        f"for a in m.MutualAidAuth.objects.filter(auth_id__in={auth_ids!r})]"))
    assert sorted(a for a, _, _, _ in core) == sorted(auth_ids)
    paid = {p.setl_id: p.mulaid_fen for _, p, _ in results if p.mulaid_fen}
    for _, status, revoked_at, settlements in core:
        assert status == "revoked"
        for setl_id, mulaid_fen, created in settlements:
            assert created < revoked_at and paid.pop(setl_id) == mulaid_fen
    assert paid == {}
    assert any(p.mulaid_fen for _, p, _ in results)  # the last round's bill was well ahead of its revocation
    # Every fen: the parent paid exactly the mutual-aid parts, the child exactly its own parts.
    payments = [p for _, p, _ in results]
    for p in payments:
        assert p.medfee_fen == p.fund_fen + p.acct_fen + p.mulaid_fen + p.cash_fen
    assert family.parent_balance() == parent_start - sum(p.mulaid_fen for p in payments)
    assert family.child_balance() == child_start - sum(p.acct_fen for p in payments)
    # The next bill is cash.
    pos = family.pos()
    last = pos.settle(pos.bill(BILL, insutype=CHILD.insutype))
    assert last["infcode"] == 0 and split(last)["acct_mulaid_pay"] == 0


# --- the fault drill ---------------------------------------------------------------------

def test_core_unreachable_while_bindings_and_authorisations_change_then_drained_in_order(
        client, core_live, settings):
    """Bind (the core up for the identity and relation checks, nothing relayed),
    then the core unreachable: authorise, change the caps, revoke, authorise
    again, change again, end the binding. Back up and drained: the core holds
    exactly the wallet's binding and authorisations (status, version, caps),
    having applied each event once, in the wallet's order."""
    proxy = FaultProxy(int(core_live.url.split(":")[2].split("/")[0]))
    try:
        settings.SETTLEMENT_CORE_URL = proxy.url()
        settings.SETTLEMENT_CORE_RETRIES = 0
        family = _family(client)
        family.parent_balance()  # the balance cached: the caps are checked against it while the core is away
        proxy.set("refuse")
        assert outbox_relay(budget_seconds=5)["sent"] == 0
        first = family.authorise(annual_cap="500.00", bill_cap="100.00")
        changed = family.parent.client.put(f"/api/family/relatives/{family.binding_id}/mutual-aid",
                                           data={"bill_cap": "50.00"}, content_type="application/json",
                                           headers=family.parent._headers())
        assert changed.status_code == 200 and changed.json()["version"] == 2, changed.content
        assert family.revoke()["version"] == 3
        second = family.authorise(annual_cap="200.00")
        again = family.parent.client.put(f"/api/family/relatives/{family.binding_id}/mutual-aid",
                                         data={"annual_cap": None}, content_type="application/json",
                                         headers=family.parent._headers())
        assert again.status_code == 200, again.content
        ended = family.parent.post(f"/api/family/relatives/{family.binding_id}/end")
        assert ended.status_code == 200, ended.content
        assert outbox_relay(budget_seconds=5)["sent"] == 0
        mine = list(OutboxMessage.objects.filter(person_key=PARENT.psn_no).order_by("id"))
        assert [m.kind for m in mine][-8:] == [
            "family.binding_added", "mulaid.authorized", "mulaid.authorized", "mulaid.revoked",
            "mulaid.authorized", "mulaid.authorized", "family.binding_ended", "mulaid.revoked"]
        assert not OutboxMessage.objects.filter(status="sent", person_key=PARENT.psn_no).exists()

        proxy.set("pass")
        OutboxMessage.objects.update(next_attempt_at=timezone.now())
        for _ in range(10):
            outbox_relay(budget_seconds=10)
            if not OutboxMessage.objects.exclude(status="sent").exists():
                break
            OutboxMessage.objects.update(next_attempt_at=timezone.now())
        assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    finally:
        settings.SETTLEMENT_CORE_URL = core_live.url
        proxy.close()

    # The core applies a person's events only in growing sequence (it refuses an older one after a
    # newer one), so its log by sequence is the order it applied them in.
    applied = core_eval(core_live.db_url, (
        f"list(m.WalletEvent.objects.filter(psn_no={PARENT.psn_no!r}, message_id__in="
        f"{[m.message_id for m in mine]!r}).order_by('sequence').values_list('message_id', 'kind', 'sequence'))"))
    assert [(message_id, kind) for message_id, kind, _ in applied] == [(m.message_id, m.kind) for m in mine]
    assert [s for _, _, s in applied] == [m.pk for m in mine]  # once each, in the wallet's order
    wallet_auths = {a.public_id: (a.status, a.version, a.annual_cap_fen, a.bill_cap_fen)
                    for a in MutualAid.objects.filter(public_id__in=[first["id"], second["id"]])}
    core_auths = core_eval(core_live.db_url, (
        f"{{a.auth_id: (a.status, a.version, a.annual_cap_fen, a.bill_cap_fen) for a in "
        f"m.MutualAidAuth.objects.filter(auth_id__in={[first['id'], second['id']]!r})}}"))
    assert core_auths == wallet_auths
    assert wallet_auths[first["id"]][:2] == ("revoked", 3) and wallet_auths[second["id"]][:2] == ("ended", 3)
    binding = Binding.objects.get(public_id=family.binding_id)
    core_binding = core_eval(core_live.db_url, (
        f"list(m.FamilyBinding.objects.filter(binding_id={family.binding_id!r}).values_list('status', 'relation', "
        f"'binder_psn_no', 'rel_psn_no'))"))
    assert core_binding == [(binding.status, binding.relation, PARENT.psn_no, CHILD.psn_no)] and binding.status == "ended"
