"""Family mutual aid (家庭共济), the wallet's side, against the settlement core
as its own HTTP service: who may authorise whom (every refusal code), the
versioned outbox events, ending by itself (enrolment change, binding end),
the pay path's authorisation check under the row lock (a revocation racing
a payment), the payer's notice, the ledger, the resident contribution
(idempotent, reversed the same day)."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import close_old_connections, connection, transaction

from family.models import Binding, Contribution, MutualAid, MutualAidUse
from family.services import mulaid as svc
from settlement.models import OutboxMessage, PolicyVersion
from settlement.services.pulls import _apply_registry_change
from tests.family.helpers import GUARDIAN, P, active_open, age, bind, error
from tests.support.app import AppClient
from wallet.selectors import voucher_get
from wallet.services.push import voucher_group

EMPLOYEE = P["family_parent"]  # employee (310) with a 10-year-old child, one household in the core's registry
SMALL_CHILD = P["family_child"]

# The pay path's ticket relays the payer's outbox to the core (delivery at settle time): the
# outbox ids must be above every earlier test's (SQLite rewinds them on rollback).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url", "outbox_ids_above_earlier_tests")]


@pytest.fixture
def payer(client):
    app = AppClient(client, "wechat").login()
    app.activate(EMPLOYEE, pin="258036")
    return app


@pytest.fixture
def child(payer):
    """The employee's small child, bound by guardian commitment, relation verified."""
    created = bind(payer, SMALL_CHILD, "child", "guardian", GUARDIAN)
    assert created.status_code == 201, created.content
    binding_id = created.json()["id"]
    Binding.objects.filter(public_id=binding_id).update(relation_check="verified")
    return binding_id


def authorise(app, binding_id, **body):
    return app.post(f"/api/family/relatives/{binding_id}/mutual-aid", body)


def events(kind):
    return list(OutboxMessage.objects.filter(kind=kind).order_by("id"))


def test_authorise_change_revoke_each_a_new_version_told_to_the_core_in_order(payer, child):
    created = authorise(payer, child, annual_cap="500.00", bill_cap="100", confirm_above="50")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "active" and body["mode"] == "direct" and body["version"] == 1
    assert (body["annual_cap"], body["bill_cap"], body["confirm_above"]) == ("500.00", "100.00", "50.00")
    assert body["used_this_year"] == "0.00" and body["remaining_annual_cap"] == "500.00"
    # The family list shows it on the binding.
    listed = payer.get("/api/family/relatives").json()
    assert [b["mutual_aid"]["id"] for b in listed if b["id"] == child] == [body["id"]]
    changed = payer.client.put(f"/api/family/relatives/{child}/mutual-aid", data={"annual_cap": None},
                               content_type="application/json", headers=payer._headers())
    assert changed.status_code == 200, changed.content
    assert changed.json()["version"] == 2 and changed.json()["annual_cap"] is None
    assert changed.json()["bill_cap"] == "100.00"  # keys not sent stay as they were
    revoked = payer.post(f"/api/family/relatives/{child}/mutual-aid/revoke")
    assert revoked.status_code == 200, revoked.content
    assert revoked.json()["status"] == "revoked" and revoked.json()["version"] == 3
    authorized = events("mulaid.authorized")
    assert [m.payload["version"] for m in authorized] == [1, 2]
    assert authorized[0].payload == {"auth_id": body["id"], "version": 1, "payer_psn_no": EMPLOYEE.psn_no,
                                     "rel_psn_no": SMALL_CHILD.psn_no, "relation": "child", "mode": "direct",
                                     "annual_cap_fen": 50000, "bill_cap_fen": 10000}
    assert authorized[1].payload["annual_cap_fen"] is None
    (gone,) = events("mulaid.revoked")
    assert gone.payload["auth_id"] == body["id"] and gone.payload["version"] == 3
    # All keyed by the payer, after the binding's own event: applied in order per person.
    keyed = list(OutboxMessage.objects.filter(person_key=EMPLOYEE.psn_no).order_by("id").values_list("kind", flat=True))
    assert keyed[-4:] == ["family.binding_added", "mulaid.authorized", "mulaid.authorized", "mulaid.revoked"]
    error(payer.post(f"/api/family/relatives/{child}/mutual-aid/revoke"), 404, "MULAID_NOT_FOUND")


def test_refusals_each_with_its_code(payer, child, client):
    error(authorise(payer, child, annual_cap="-1"), 400, "MULAID_CAP_INVALID")
    body = error(authorise(payer, child, bill_cap="99999999"), 400, "MULAID_CAP_INVALID")
    assert body["detail"]["field"] == "bill_cap"  # above the payer's balance
    error(authorise(payer, child, annual_cap="1.234"), 400, "MULAID_CAP_INVALID")
    error(authorise(payer, child, annual_cap="10", bill_cap="20"), 400, "MULAID_CAP_INVALID")
    # A relation the registry refuted (or never verified) is not enough for mutual aid.
    Binding.objects.filter(public_id=child).update(relation_check="refuted")
    error(authorise(payer, child), 409, "MULAID_RELATION_UNVERIFIED")
    Binding.objects.filter(public_id=child).update(relation_check="verified")
    # The payer's region allows fewer relations.
    PolicyVersion.objects.create(core_id=990001, region=EMPLOYEE.insured_region, insutype="310", version=999,
                                 effective_from="2000-01-01",
                                 params={"mutual_aid": {"relations": ["spouse"], "in_province_mode": "direct"}})
    body = error(authorise(payer, child), 409, "MULAID_RELATION_NOT_ALLOWED")
    assert body["detail"]["allowed"] == ["spouse"]
    assert not MutualAid.objects.exists() and not events("mulaid.authorized")
    # Someone else's binding id: not found, as if it did not exist (also for the ledger filter).
    other = AppClient(client, "alipay").login()
    other.activate(active_open(lambda p: age(p) >= 18 and p.insutype == "310", exclude=[EMPLOYEE])[0])
    error(authorise(other, child), 404, "FAMILY_NOT_FOUND")
    error(other.post(f"/api/family/relatives/{child}/mutual-aid/revoke"), 404, "FAMILY_NOT_FOUND")
    error(other.get(f"/api/family/mutual-aid/ledger?relative={child}"), 404, "FAMILY_NOT_FOUND")


def test_a_resident_cannot_authorise(client):
    resident = active_open(lambda p: age(p) >= 18 and p.insutype == "390")[0]
    app = AppClient(client, "wechat").login()
    app.activate(resident)
    relative = active_open(lambda p: age(p) < 16 and p.household == resident.household, exclude=[resident])
    target = relative[0] if relative else SMALL_CHILD
    created = bind(app, target, "child", "guardian", GUARDIAN)
    assert created.status_code == 201, created.content
    Binding.objects.filter(public_id=created.json()["id"]).update(relation_check="verified")
    error(authorise(app, created.json()["id"]), 403, "MULAID_PAYER_NOT_EMPLOYEE")


def test_ends_by_itself_when_an_enrolment_changes_or_the_binding_ends(payer, child):
    first = authorise(payer, child).json()
    with transaction.atomic():  # as the 9302 pull applies a page
        _apply_registry_change({"psn_no": SMALL_CHILD.psn_no, "kind": "enrolment_status", "data": {"to": "suspended"}})
    auth = MutualAid.objects.get(public_id=first["id"])
    assert (auth.status, auth.ended_reason, auth.version) == ("ended", "enrolment_suspended", 2)
    assert events("mulaid.revoked")[-1].payload["version"] == 2
    with transaction.atomic():
        _apply_registry_change({"psn_no": SMALL_CHILD.psn_no, "kind": "enrolment_status", "data": {"to": "active"}})
    second = authorise(payer, child).json()
    assert second["id"] != first["id"] and second["version"] == 1
    ended = payer.post(f"/api/family/relatives/{child}/end")
    assert ended.status_code == 200, ended.content
    auth = MutualAid.objects.get(public_id=second["id"])
    assert (auth.status, auth.ended_reason) == ("ended", "binding_ended")
    assert svc.mulaid_ticket(auth.beneficiary_id, None) is None


def test_pay_path_sends_the_authorisation_and_never_after_revocation(payer, child):
    auth = MutualAid.objects.get(public_id=authorise(payer, child).json()["id"])
    ticket = svc.mulaid_ticket(auth.beneficiary_id, "pay-before")
    assert (ticket.auth_id, ticket.version) == (auth.public_id, 1)
    assert MutualAidUse.objects.get(payment_id="pay-before").status == "sending"
    payer.post(f"/api/family/relatives/{child}/mutual-aid/revoke")
    # After the revocation: no authorisation for a new payment, nor for a re-send of the earlier one.
    assert svc.mulaid_ticket(auth.beneficiary_id, "pay-after") is None
    assert not MutualAidUse.objects.filter(payment_id="pay-after").exists()
    assert svc.mulaid_ticket(auth.beneficiary_id, "pay-before") is None
    assert MutualAidUse.objects.get(payment_id="pay-before").status == "not_used"


@pytest.mark.django_db(transaction=True)
def test_a_payment_racing_a_revocation_waits_for_the_lock_and_then_goes_without(payer, child):
    """The revocation holds the authorisation's row lock (not yet committed);
    the payment's check blocks on it and, once the revocation commits, sends
    no authorisation: never paid after revocation."""
    auth = MutualAid.objects.get(public_id=authorise(payer, child).json()["id"])
    locked, checked, result = threading.Event(), threading.Event(), {}

    def revoke():
        close_old_connections()
        try:
            with transaction.atomic():
                row = svc._locked(auth.pk)
                locked.set()
                checked.wait(1.5)  # the payment is now waiting on the lock
                svc._stop(row, "revoked", "revoked_by_payer")
        finally:
            connection.close()

    def pay():
        close_old_connections()
        try:
            locked.wait(5)
            result["ticket"] = svc.mulaid_ticket(auth.beneficiary_id, "pay-racing")
        finally:
            connection.close()

    r, p = threading.Thread(target=revoke), threading.Thread(target=pay)
    r.start()
    p.start()
    p.join(0.5)
    assert p.is_alive(), "the payment's check must wait for the revocation's row lock"
    checked.set()
    r.join(10)
    p.join(10)
    assert result == {"ticket": None}
    assert not MutualAidUse.objects.filter(payment_id="pay-racing").exists()
    assert MutualAid.objects.get(pk=auth.pk).status == "revoked"


def test_the_payer_is_told_of_each_use_and_sees_it_in_the_ledger_and_notifications(
        payer, child, django_capture_on_commit_callbacks):
    created = authorise(payer, child, annual_cap="300").json()
    auth = MutualAid.objects.get(public_id=created["id"])
    svc.mulaid_ticket(auth.beneficiary_id, "pay-told")
    layer = get_channel_layer()
    listener = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(voucher_group(voucher_get(auth.payer).pk), listener)
    with django_capture_on_commit_callbacks(execute=True):  # the push goes after the settling commit
        svc.mulaid_settled("pay-told", {"setl_id": "S1", "acct_mulaid_pay": "120.50",
                                        "mulaid_payer_psn_no": EMPLOYEE.psn_no}, "康宁大药房")

    async def first_message():
        return await asyncio.wait_for(layer.receive(listener), 5)

    message = async_to_sync(first_message)()
    assert message["type"] == "mulaid.used"
    body = message["body"]
    assert (body["relative_name"], body["institution"], body["amount"], body["remaining_annual_cap"]) == (
        SMALL_CHILD.name, "康宁大药房", "120.50", "179.50")
    assert body["payer_person_id"] == auth.payer_id  # the socket shows it only to the payer's login
    ledger = payer.get(f"/api/family/mutual-aid/ledger?relative={child}").json()
    assert [(r["amount"], r["remaining_annual_cap"], r["setl_id"], r["status"]) for r in ledger] == [
        ("120.50", "179.50", "S1", "settled")]
    notes = [n for n in payer.get("/api/notifications").json() if n["kind"] == "mulaid.used"]
    assert len(notes) == 1 and "120.50" in notes[0]["message"] and SMALL_CHILD.name in notes[0]["message"]
    assert payer.get(f"/api/family/relatives/{child}/mutual-aid").json()["used_this_year"] == "120.50"
    svc.mulaid_reversed("pay-told")
    assert payer.get(f"/api/family/mutual-aid/ledger?relative={child}").json()[0]["status"] == "reversed"
    assert payer.get(f"/api/family/relatives/{child}/mutual-aid").json()["used_this_year"] == "0.00"


def test_contribution_year_is_taken_exactly(payer, child):
    """The year is a JSON integer or a string of ASCII digits. What a lax int()
    reads as the same year (fullwidth or Arabic-Indic digits, spaces, "2026.0",
    a float, an exponent, a sign, a leading zero) is 400 VALIDATION_ERROR at the
    wallet, naming the field, and never reaches the core."""
    path = f"/api/family/relatives/{child}/contribution"
    year = dt.date.today().year
    text = str(year)
    refused = [text.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
               text.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")), f" {text} ", f"{text}\n",
               f"{text}.0", f"+{text}", f"0{text}", f"{text}e0", True, [year]]
    raw_numbers = [f"{text}.0", f"{year / 1000}e3", f"{text}e0", f"{text}.00001"]
    bodies = [{"year": value, "amount": "380.00"} for value in refused]
    bodies += [f'{{"year": {number}, "amount": "380.00"}}' for number in raw_numbers]
    for n, data in enumerate(bodies):
        response = payer.client.post(path, data=data, content_type="application/json",
                                     headers={**payer._headers(), "Idempotency-Key": f"year-{n}"})
        body = error(response, 400, "VALIDATION_ERROR")
        assert list(body["detail"]["fields"]) == ["year"], (data, body)
        assert not body["detail"]["fields"]["year"][0].isascii(), body
    assert not Contribution.objects.exists()

    for n, value in enumerate([text, year]):  # the string of ASCII digits and the JSON integer
        paid = payer.client.post(path, data={"year": value, "amount": "380.00"}, content_type="application/json",
                                 headers={**payer._headers(), "Idempotency-Key": "year-ok"})
        assert paid.status_code == 201 and paid.json()["year"] == year, paid.content
        if n == 0:
            first = paid.json()
    assert paid.json() == first  # the same request: "2026" and 2026 are one year, one key
    assert Contribution.objects.count() == 1
    # the core keeps its books across tests: undo the payment (same day) for the next test
    assert payer.post(f"/api/family/contributions/{first['id']}/reverse").json()["status"] == "reversed"


def test_contribution_is_idempotent_and_reversed_the_same_day(payer, child):
    path = f"/api/family/relatives/{child}/contribution"
    year = dt.date.today().year
    headers = {**payer._headers(), "Idempotency-Key": "ct-1"}
    if SMALL_CHILD.insutype != "390":
        body = error(payer.client.post(path, data={"year": year, "amount": "380.00"}, content_type="application/json",
                                       headers=headers), 409, "MULAID_CONTRIBUTION_NOT_RESIDENT")
        return
    first = payer.client.post(path, data={"year": year, "amount": "380.00"}, content_type="application/json",
                              headers=headers)
    assert first.status_code == 201, first.content
    again = payer.client.post(path, data={"year": year, "amount": "380.00"}, content_type="application/json",
                              headers=headers)
    assert again.json() == first.json() and first.json()["status"] == "paid" and first.json()["clct_id"]
    body = error(payer.client.post(path, data={"year": year, "amount": "1.00"}, content_type="application/json",
                                   headers=headers), 409, "IDEMPOTENCY_KEY_REUSED")
    error(payer.client.post(path, data={"year": year, "amount": "380.00"}, content_type="application/json",
                            headers=payer._headers()), 400, "VALIDATION_ERROR")
    reversed_ = payer.post(f"/api/family/contributions/{first.json()['id']}/reverse")
    assert reversed_.status_code == 200 and reversed_.json()["status"] == "reversed"
    assert payer.post(f"/api/family/contributions/{first.json()['id']}/reverse").json()["status"] == "reversed"
    assert body["message"]
