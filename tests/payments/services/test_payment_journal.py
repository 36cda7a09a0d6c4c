"""The pay path's identity and its one core-call wrapper (issue #11): one
idempotency record per terminal msgid (the gateway journal, the payment
hanging off it), the confirmed settle's core msgid free of truncation
collisions, and the terminal's envelope fields forwarded on every call."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from common.envelope import Envelope, InfCode, parse
from common.money import yuan_to_fen
from settlement.client import SettlementCoreClient
from tests.support.app import AppClient
from tests.support.pos import Pos
from terminal.models import GatewayMessage
from payments.models import Payment
from wallet.models import Voucher
from codes.services.issue import code_issue
from payments.services.journal import confirmed_core_msgid

from .test_payments import EMPLOYEE, LARGE, PHARMACIES, SMALL

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url")]
PIN = "258036"


@pytest.fixture
def person(client):
    app = AppClient(client, "wechat").login()
    app.activate(EMPLOYEE, pin=PIN)
    return app


@pytest.fixture
def pos(client, person):
    pos = Pos(client, PHARMACIES[0])
    voucher = Voucher.objects.get(person__psn_no=EMPLOYEE.psn_no)
    assert pos.decode(code_issue(voucher).code)["code"] == 0
    return pos


@pytest.fixture
def core_calls(monkeypatch):
    """What the wallet sent to the core (a spy: the real call still goes out)."""
    sent = []
    real = SettlementCoreClient.call_raw

    def spy(self, infno, input, **kwargs):
        sent.append((infno, kwargs.get("msgid"), dict(kwargs.get("extra") or {})))
        return real(self, infno, input, **kwargs)

    monkeypatch.setattr(SettlementCoreClient, "call_raw", spy)
    return sent


def balance(app) -> int:
    return yuan_to_fen(app.get("/api/account/balance?refresh=1").json()["balance"])


def confirm_all(person) -> None:
    for waiting in person.get("/api/payments/pending").json():
        answer = person.post(f"/api/payments/{waiting['id']}/confirm", {"pin": PIN})
        assert answer.status_code == 200 and answer.json()["status"] == "confirmed", answer.json()


def test_two_40_character_msgids_differing_in_the_last_character_settle_separately(person, pos, core_calls):
    """The confirmed settle went to the core under f"C{msgid}"[:40]: these two
    collided there, and the second sale got the first one's answer (same
    setl_id, nothing charged) or a refusal."""
    first_msgid, second_msgid = "M" * 39 + "1", "M" * 39 + "2"
    before = balance(person)
    bill = pos.bill(LARGE)  # 1000.00, account part 350.00: the payer must confirm
    for msgid in (first_msgid, second_msgid):
        assert pos.settle(bill, msgid=msgid)["infcode"] == InfCode.CONFIRMATION_PENDING
    confirm_all(person)
    first, second = pos.settle(bill, msgid=first_msgid), pos.settle(bill, msgid=second_msgid)
    assert first["infcode"] == 0 and second["infcode"] == 0, (first, second)
    assert first["output"]["setlinfo"]["setl_id"] != second["output"]["setlinfo"]["setl_id"]
    assert balance(person) == before - 2 * 35000  # both charged, each once

    rows = {p.msgid: p for p in Payment.objects.select_related("message")}
    assert {m: (p.status, p.setl_id) for m, p in rows.items()} == {
        first_msgid: ("settled", first["output"]["setlinfo"]["setl_id"]),
        second_msgid: ("settled", second["output"]["setlinfo"]["setl_id"])}
    core_msgids = {rows[first_msgid].core_msgid, rows[second_msgid].core_msgid}
    assert len(core_msgids) == 2 and all(len(m) == 30 and m.startswith("C") and m.isalnum() for m in core_msgids)
    assert rows[first_msgid].core_msgid == confirmed_core_msgid(pos.code, first_msgid)
    # The core was asked under those msgids, once each, for the confirmed settle.
    assert sorted(m for infno, m, _ in core_calls if infno == "2102" and m.startswith("C")) == sorted(core_msgids)


def test_confirmed_core_msgid_is_distinct_per_institution_and_msgid():
    ids = {confirmed_core_msgid(code, msgid) for code in ("P1", "P2") for msgid in ("A" * 40, "A" * 39 + "B", "A")}
    assert len(ids) == 6 and all(len(i) == 30 and i.isascii() and i.isalnum() for i in ids)


def test_one_terminal_msgid_is_one_idempotency_row(person, pos, monkeypatch):
    """Pending, asked again, a different body, confirmed, settled, replayed:
    one gateway journal row throughout, the payment hanging off it, the body
    digest computed once per request."""
    digests = Counter()
    real_digest = Envelope.body_hash

    def counted(self):
        digests[self.msgid] += 1
        return real_digest(self)

    monkeypatch.setattr(Envelope, "body_hash", counted)
    msgid = "PAY-ONE-ROW-1"
    bill = pos.bill(LARGE)
    assert pos.settle(bill, msgid=msgid)["infcode"] == InfCode.CONFIRMATION_PENDING
    assert digests[msgid] == 1  # gateway only (it ran three times: gateway, lookup, journal row)
    message = GatewayMessage.objects.get(fixmedins_code=pos.code, msgid=msgid)
    assert message.status == "retryable"  # the pending answer is not stored, the row stays
    payment = Payment.objects.get(message=message)
    assert payment.status == "awaiting_confirmation" and payment.msgid == msgid

    assert pos.settle(bill, msgid=msgid)["infcode"] == InfCode.CONFIRMATION_PENDING
    other = pos.settle(pos.bill(SMALL), msgid=msgid)  # same msgid, another bill: refused by the one record
    assert other["infcode"] == InfCode.MSGID_CONFLICT and "另一笔" in other["err_msg"]
    confirm_all(person)
    settled = pos.settle(bill, msgid=msgid)
    assert settled["infcode"] == 0, settled
    first_bytes = pos.last_raw
    assert pos.settle(bill, msgid=msgid) == settled and pos.last_raw == first_bytes  # replay: byte-identical

    assert list(GatewayMessage.objects.filter(msgid=msgid).values_list("pk", "status")) == [(message.pk, "done")]
    assert list(Payment.objects.values_list("message_id", "status")) == [(message.pk, "settled")]
    assert not [c for c in Payment._meta.constraints if "msgid" in getattr(c, "fields", ())]


def test_a_concurrent_duplicate_of_a_retryable_msgid_is_refused(person, pos):
    """While one retry of a pending 2102 runs, a second one with the same msgid gets MSGID_IN_PROGRESS."""
    msgid = "PAY-BUSY-1"
    bill = pos.bill(LARGE)
    assert pos.settle(bill, msgid=msgid)["infcode"] == InfCode.CONFIRMATION_PENDING
    GatewayMessage.objects.filter(msgid=msgid).update(status="processing")  # a retry took it over and runs
    busy = pos.settle(bill, msgid=msgid)
    assert busy["infcode"] == InfCode.MSGID_IN_PROGRESS and "正在处理" in busy["err_msg"]


def test_the_terminal_envelope_fields_reach_the_core_on_every_call(person, pos, core_calls):
    """2102 went without mdtrtarea_admvs (payments had their own core call)."""
    fields = {"mdtrtarea_admvs": "440100", "insuplc_admdvs": "440100"}
    bill = pos.bill(SMALL)
    assert pos.pre_settle(bill, **fields)["infcode"] == 0
    settled = pos.settle(bill, msgid="PAY-FIELDS-1", **fields)
    assert settled["infcode"] == 0, settled
    sent = {infno: extra for infno, _, extra in core_calls}
    for infno in ("2101", "2102"):
        assert {k: sent[infno].get(k) for k in ("mdtrtarea_admvs", "insuplc_admdvs", "opter", "sign_no")} == \
            {**fields, "opter": "0001", "sign_no": pos.sign_no}, infno
    reversed_ = pos.reverse(settled["output"]["setlinfo"]["setl_id"], **fields)
    assert reversed_["infcode"] == 0, reversed_
    assert core_calls[-1][0] == "2103" and core_calls[-1][2]["mdtrtarea_admvs"] == "440100"



def test_a_msgid_left_processing_by_a_dead_process_is_taken_over_after_its_lease(pos, person, settings):
    """A process that dies between claiming a msgid and answering leaves its
    journal row 'processing'. Within the lease a retry is told 1006 (the
    first may still be running); after it, the retry takes the row over and
    the sale completes, charged once, and is replayed from then on."""
    before = balance(person)
    bill = pos.bill(SMALL)
    digest = parse(json.dumps(pos.envelope("2102", bill, msgid="PAY-CRASHED-1"), ensure_ascii=False).encode()).body_hash()
    GatewayMessage.objects.create(fixmedins_code=pos.code, msgid="PAY-CRASHED-1", infno="2102", request_hash=digest)

    settings.GATEWAY_PROCESSING_LEASE_SECONDS = 120
    within = pos.settle(bill, msgid="PAY-CRASHED-1")
    assert within["infcode"] == InfCode.MSGID_IN_PROGRESS, within

    settings.GATEWAY_PROCESSING_LEASE_SECONDS = 0  # the lease has run out
    after = pos.settle(bill, msgid="PAY-CRASHED-1")
    assert after["infcode"] == 0, after
    assert GatewayMessage.objects.filter(msgid="PAY-CRASHED-1").count() == 1
    assert Payment.objects.filter(message__msgid="PAY-CRASHED-1").count() == 1
    assert balance(person) == before - yuan_to_fen(after["output"]["setlinfo"]["acct_pay"])
    assert pos.settle(bill, msgid="PAY-CRASHED-1") == after


def _keeper():
    """The gateway's lease keeper without its thread: this test renews (the
    thread would read this test's uncommitted rows from its own connection)."""
    from common.leases import LeaseKeeper
    from terminal.services.gateway import MESSAGE_LEASES

    return LeaseKeeper(GatewayMessage, MESSAGE_LEASES.field, condition=MESSAGE_LEASES.condition,
                       renew_every=MESSAGE_LEASES.renew_every, background=False)


def test_a_running_request_renews_its_lease_and_a_dead_processs_row_is_taken_over_one_lease_later(
        pos, person, settings):
    """The lease is short (GATEWAY_PROCESSING_LEASE_SECONDS, 15 s) and renewed
    by the owning process while its request runs (common/leases.py): a retry
    of a long-running request still gets 1006 past the lease; once the
    owner is dead (nobody renews), the retry takes the row over one lease
    after the last renewal — not after 120 s — and the sale completes once."""
    import datetime as dt

    from django.utils import timezone

    from terminal.services import gateway

    settings.GATEWAY_PROCESSING_LEASE_SECONDS = 15
    keeper = _keeper()
    before = balance(person)
    bill = pos.bill(SMALL)
    digest = parse(json.dumps(pos.envelope("2102", bill, msgid="PAY-LONG-1"), ensure_ascii=False).encode()).body_hash()
    claimed = timezone.now() - dt.timedelta(seconds=20)  # its request has run for 20 s, past the lease
    row = GatewayMessage.objects.create(fixmedins_code=pos.code, msgid="PAY-LONG-1", infno="2102",
                                        request_hash=digest, claimed_at=claimed)
    keeper.hold(row.pk, claimed)
    assert keeper.renew() == 1  # the owner's renewal (every 3 s while it runs)
    assert gateway.MESSAGE_LEASES.interval() == 3
    within = pos.settle(bill, msgid="PAY-LONG-1")
    assert within["infcode"] == InfCode.MSGID_IN_PROGRESS, within
    keeper.release(row.pk)  # the owner dies: nobody renews any more
    last = GatewayMessage.objects.get(pk=row.pk).claimed_at
    GatewayMessage.objects.filter(pk=row.pk).update(claimed_at=last - dt.timedelta(seconds=16))  # a lease passes
    after = pos.settle(bill, msgid="PAY-LONG-1")
    assert after["infcode"] == 0, after
    assert Payment.objects.filter(message__msgid="PAY-LONG-1").count() == 1
    assert balance(person) == before - yuan_to_fen(after["output"]["setlinfo"]["acct_pay"])


def test_a_lease_taken_over_is_never_renewed_back(pos, settings):
    """Never two live owners: a row another process took over (its claim time
    moved) or finished is dropped by the old owner's keeper, not renewed."""
    import datetime as dt

    from django.utils import timezone

    from terminal.enums import GatewayMessageStatus

    keeper = _keeper()
    old = timezone.now() - dt.timedelta(seconds=30)
    taken = GatewayMessage.objects.create(fixmedins_code=pos.code, msgid="LEASE-TAKEN", infno="2102",
                                          request_hash="x", claimed_at=old)
    done = GatewayMessage.objects.create(fixmedins_code=pos.code, msgid="LEASE-DONE", infno="2102",
                                         request_hash="y", claimed_at=old)
    keeper.hold(taken.pk, old)
    keeper.hold(done.pk, old)
    newer = timezone.now()
    GatewayMessage.objects.filter(pk=taken.pk).update(claimed_at=newer)  # another process's takeover
    GatewayMessage.objects.filter(pk=done.pk).update(status=GatewayMessageStatus.DONE)
    assert keeper.renew() == 0
    assert taken.pk not in keeper.held() and done.pk not in keeper.held()
    assert GatewayMessage.objects.get(pk=taken.pk).claimed_at == newer
