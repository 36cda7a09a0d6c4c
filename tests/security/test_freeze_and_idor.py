"""Freeze my voucher (lost phone) and unfreeze it with liveness; and no
person's session ever reaches another person's PIN, check or voucher (IDOR)."""

from __future__ import annotations

import pytest
from django.db import transaction

from accounts.models import AuditEvent
from common.envelope import InfCode
from settlement.models import OutboxMessage
from tests.security.helpers import (
    ALICE,
    BOB,
    NEW_PIN,
    PIN,
    activated,
    change,
    error,
    forged,
    forgot_complete,
    forgot_start,
    forgot_verified,
    simulate,
)
from tests.support.app import AppClient
from tests.support.pos import A_ITEMS, DATA, Pos
from wallet.models import Voucher
from codes.services.issue import code_issue
from wallet.services.pin import pin_verify
from wallet.services.vouchers import voucher_status_change

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url")]
PHARMACY = next(i for i in DATA.institutions if i.kind == "pharmacy" and i.designated
                and i.region == ALICE.insured_region)
LARGE = [(A_ITEMS[1].med_list_codg, "500.00", "2")]


@pytest.fixture
def alice(client):
    return activated(client, ALICE)


def _voucher(person=ALICE) -> Voucher:
    return Voucher.objects.get(person__psn_no=person.psn_no)


def _unfreeze(app, outcome="pass"):
    start = app.post("/api/voucher/unfreeze/liveness/start")
    assert start.status_code == 200, start.content
    started = start.json()
    return app.post("/api/voucher/unfreeze/liveness/verify",
                    {"reset_id": started["reset_id"], **simulate(app, started, outcome)})


def test_freeze_stops_codes_decode_and_payments_at_once_and_tells_the_core(client, alice):
    pos = Pos(client, PHARMACY)
    shown = code_issue(_voucher()).code  # a code on screen when the phone is lost
    assert pos.decode(code_issue(_voucher()).code)["code"] == 0
    bill = pos.bill(LARGE)
    assert pos.settle(bill, msgid="SEC-FRZ-1")["infcode"] == InfCode.CONFIRMATION_PENDING

    frozen = alice.post("/api/voucher/freeze")
    assert frozen.json() == {"status": "frozen", "already": False}
    assert alice.post("/api/voucher/freeze").json() == {"status": "frozen", "already": True}  # a retry: same state
    # Codes: the page's REST fallback refuses, a code already shown no longer decodes.
    error(alice.get("/api/voucher/code"), 403, "VOUCHER_UNAVAILABLE")
    assert pos.decode(shown)["code"] != 0
    # The payment that waited for the PIN is cancelled; the terminal's retry is refused; a new one too.
    assert alice.get("/api/payments/pending").json() == []
    retry = pos.settle(bill, msgid="SEC-FRZ-1")
    assert retry["infcode"] == InfCode.CONFIRMATION_REFUSED and "冻结" in retry["err_msg"]
    assert pos.settle(pos.bill(LARGE), msgid="SEC-FRZ-2")["infcode"] != 0
    assert OutboxMessage.objects.filter(kind="voucher.frozen", person_key=ALICE.psn_no).count() == 1
    event = AuditEvent.objects.get(action="voucher.freeze")
    assert event.actor == f"wechat:{alice.openid}" and "挂失" in event.detail["reason"]
    security = alice.get("/api/security").json()
    assert security["voucher"]["status"] == "frozen" and security["voucher"]["frozen_by_self"] is True
    # While frozen: no PIN change, no forgot-PIN.
    error(change(alice, PIN, NEW_PIN), 403, "VOUCHER_FROZEN")
    error(alice.post("/api/pin/forgot/liveness/start"), 403, "VOUCHER_FROZEN")


def test_unfreezing_needs_the_persons_own_liveness(alice):
    alice.post("/api/voucher/freeze")
    error(_unfreeze(alice, "face_mismatch"), 400, "LIVENESS_FACE_MISMATCH")
    assert _voucher().status == "frozen"
    # Someone else's face (a signed result naming Bob) is refused.
    started = alice.post("/api/voucher/unfreeze/liveness/start").json()
    error(alice.post("/api/voucher/unfreeze/liveness/verify",
                     {"reset_id": started["reset_id"], **forged(started["nonce"], BOB.psn_no)}),
          400, "LIVENESS_SUBJECT_MISMATCH")
    # A forgot-PIN check is not an unfreeze check (purpose).
    assert _voucher().status == "frozen"
    done = _unfreeze(alice)
    assert done.status_code == 200 and done.json() == {"status": "active"}
    assert alice.get("/api/voucher/code").status_code == 200
    assert OutboxMessage.objects.filter(kind="voucher.unfrozen").count() == 1
    error(alice.post("/api/voucher/unfreeze/liveness/start"), 409, "VOUCHER_NOT_FROZEN")
    notes = [n["kind"] for n in alice.get("/api/security/notifications").json()]
    assert notes == ["voucher.unfrozen", "voucher.frozen"]


def test_a_staff_freeze_cancels_waiting_payments_and_is_not_lifted_by_the_person(client, alice):
    pos = Pos(client, PHARMACY)
    assert pos.decode(code_issue(_voucher()).code)["code"] == 0
    bill = pos.bill(LARGE)
    assert pos.settle(bill, msgid="SEC-FRZ-STAFF")["infcode"] == InfCode.CONFIRMATION_PENDING
    waiting = alice.get("/api/payments/pending").json()
    with transaction.atomic():
        voucher_status_change(psn_no=ALICE.psn_no, action="freeze", actor="staff:agent1", reason="疑似冒用")
    # Any freeze (staff's too) cancels what waits for the PIN: nothing can be confirmed on a frozen voucher.
    late = alice.post(f"/api/payments/{waiting[0]['id']}/confirm", {"pin": PIN})
    assert late.status_code >= 400 and late.json()["code"] != "OK"
    retry = pos.settle(bill, msgid="SEC-FRZ-STAFF")
    assert retry["infcode"] == InfCode.CONFIRMATION_REFUSED and "冻结" in retry["err_msg"]
    body = error(alice.post("/api/voucher/unfreeze/liveness/start"), 403, "VOUCHER_FROZEN_BY_STAFF")
    assert "客服" in body["message"]
    assert alice.get("/api/security").json()["voucher"]["frozen_by_self"] is False


# --- IDOR: person A's session against person B -------------------------------------------

@pytest.fixture
def bob(client):
    return activated(client, BOB, channel="alipay", pin="630852")


def test_a_session_changes_only_its_own_persons_pin(alice, bob):
    # Bob's session sends Alice's PIN and even names her: whose PIN is the session's, never the body's.
    body = {"old_pin": PIN, "new_pin": NEW_PIN, "new_pin_confirm": NEW_PIN, "psn_no": ALICE.psn_no,
            "person": ALICE.psn_no, "voucher_id": _voucher().pk}
    error(bob.post("/api/pin/change", body), 400, "PIN_INCORRECT")
    pin_verify(voucher_id=_voucher().pk, pin=PIN, actor="test")  # Alice's PIN unchanged
    assert _voucher().pin_failures == 0  # and Bob's wrong try cost her nothing
    assert _voucher(BOB).pin_failures == 1  # it counted against Bob's own


def test_a_check_of_one_person_never_resets_another(client, alice, bob):
    reset_id = forgot_verified(alice)  # Alice passed her own check
    error(forgot_complete(bob, reset_id), 409, "SECURITY_VERIFICATION_REQUIRED")  # Bob cannot use it
    started = forgot_start(alice)
    signed = simulate(alice, started)
    # Bob posts Alice's signed result under Alice's check id, and under his own.
    error(bob.post("/api/pin/forgot/liveness/verify", {"reset_id": started["reset_id"], **signed}),
          400, "LIVENESS_NONCE_UNKNOWN")
    own = forgot_start(bob)
    error(bob.post("/api/pin/forgot/liveness/verify", {"reset_id": own["reset_id"], **signed}),
          400, "LIVENESS_NONCE_UNKNOWN")
    # A result naming Alice for Bob's own nonce: refused as someone else's face.
    error(bob.post("/api/pin/forgot/liveness/verify", {"reset_id": own["reset_id"],
                                                       **forged(own["nonce"], ALICE.psn_no)}),
          400, "LIVENESS_SUBJECT_MISMATCH")
    # Another login of the same channel (a stranger) holding Alice's check id gets nothing either.
    stranger = AppClient(client, "wechat").login()
    error(forgot_complete(stranger, reset_id), 404, "NOT_ACTIVATED")
    assert forgot_complete(alice, reset_id).status_code == 200  # still Alice's to use
    pin_verify(voucher_id=_voucher(BOB).pk, pin="630852", actor="test")


def test_freeze_and_security_are_the_sessions_own(client, alice, bob):
    assert bob.post("/api/voucher/freeze", {"psn_no": ALICE.psn_no}).json()["status"] == "frozen"
    assert _voucher().status == "active" and _voucher(BOB).status == "frozen"
    page = bob.get("/api/security").json()
    assert all(c["channel"] == "alipay" for c in page["channels"])
    assert ALICE.psn_no not in str(bob.get("/api/security").content)
    stranger = AppClient(client, "wechat").login()
    for path in ("/api/security", "/api/security/notifications"):
        error(stranger.get(path), 404, "NOT_ACTIVATED")
    for path in ("/api/pin/change", "/api/pin/forgot/liveness/start", "/api/voucher/freeze",
                 "/api/voucher/unfreeze/liveness/start"):
        response = stranger.post(path, {"old_pin": PIN, "new_pin": NEW_PIN, "new_pin_confirm": NEW_PIN})
        error(response, 404, "NOT_ACTIVATED")
    error(client.post("/api/pin/change", {}, content_type="application/json"), 401, "UNAUTHENTICATED")


def test_a_revoked_channel_cannot_change_the_pin(alice):
    authorization = alice.get("/api/voucher/authorizations").json()[0]
    alice.post(f"/api/voucher/authorizations/{authorization['id']}/revoke")
    error(change(alice, PIN, NEW_PIN), 403, "CHANNEL_NOT_AUTHORIZED")
    error(alice.post("/api/pin/forgot/liveness/start"), 403, "CHANNEL_NOT_AUTHORIZED")
