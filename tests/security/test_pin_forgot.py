"""Forgot PIN: the person's own liveness check (the activation's checks:
own nonce, unexpired, unused, subject, score), then the new PIN twice;
works while locked and unlocks; a staff reset ticket is completed by it;
rate limits; the core learns through the outbox."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import AuditEvent, LivenessSession, PinResetTicket
from accounts.services.reset_tickets import reset_ticket_create
from settlement.models import OutboxMessage
from settlement.services.outbox import outbox_relay
from tests.security.helpers import (
    ALICE,
    BOB,
    NEW_PIN,
    PIN,
    activated,
    error,
    forged,
    forgot_complete,
    forgot_start,
    forgot_verified,
    simulate,
)
from tests.settlement.test_sync_services import core_state
from wallet.models import Voucher
from wallet.services.pin import pin_verify

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url", "outbox_ids_above_earlier_tests")]


@pytest.fixture(autouse=True)
def _core_db(core_live, settings):
    settings.CORE_LIVE_DB_URL = core_live.db_url


@pytest.fixture
def alice(client):
    return activated(client, ALICE)


def _voucher() -> Voucher:
    return Voucher.objects.get(person__psn_no=ALICE.psn_no)


def _lock(app) -> None:
    for _ in range(5):
        app.post("/api/pin/change", {"old_pin": "147036", "new_pin": NEW_PIN, "new_pin_confirm": NEW_PIN})
    assert _voucher().pin_locked_until is not None


def test_forgot_pin_while_locked_sets_a_new_pin_unlocks_and_the_core_learns(alice):
    _lock(alice)
    assert alice.get("/api/me").json()["voucher"]["pin_locked"] is True
    reset_id = forgot_verified(alice)
    done = forgot_complete(alice, reset_id)
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["unlocked"] is True and body["ticket_completed"] is False and body["kind"] == "pin.reset"
    assert "通过微信刷脸重设了支付密码" in body["message"]
    voucher = _voucher()
    assert voucher.pin_locked_until is None and voucher.pin_failures == 0
    pin_verify(voucher_id=voucher.pk, pin=NEW_PIN, actor="test")
    me = alice.get("/api/me").json()["voucher"]
    assert me["pin_locked"] is False and me["pin_tries_left"] == 5
    event = AuditEvent.objects.get(action="pin.reset", outcome="success")
    assert event.detail["unlocked"] is True and event.channel == "wechat"
    assert list(OutboxMessage.objects.filter(kind__startswith="pin.").order_by("id")
                .values_list("kind", flat=True)) == ["pin.locked", "pin.reset"]
    assert outbox_relay(budget_seconds=30)["failed"] == 0
    state = core_state(ALICE.psn_no)
    assert state["pin_locked"] is False
    assert [k for k, _ in state["events"] if k.startswith("pin.")] == ["pin.locked", "pin.reset"]
    events = alice.get("/api/security").json()["events"]
    assert events[0]["title"] == "刷脸重设支付密码" and events[0]["by"] == "本人"


def test_the_new_pin_follows_the_activation_rules_and_a_refusal_keeps_the_check(alice):
    reset_id = forgot_verified(alice)
    error(forgot_complete(alice, reset_id, "123456"), 400, "PIN_WEAK_SEQUENCE")
    error(forgot_complete(alice, reset_id, "000000"), 400, "PIN_WEAK_REPEATED")
    error(forgot_complete(alice, reset_id, ALICE.id_number[8:14]), 400, "PIN_WEAK_BIRTHDAY")
    error(forgot_complete(alice, reset_id, NEW_PIN, "471903"), 400, "PIN_CONFIRM_MISMATCH")
    error(forgot_complete(alice, reset_id, "４７１９０２"), 400, "PIN_FORMAT")
    pin_verify(voucher_id=_voucher().pk, pin=PIN, actor="test")  # nothing changed
    assert forgot_complete(alice, reset_id).status_code == 200  # the same check, once
    # Used: a second completion with the same check is refused.
    error(forgot_complete(alice, reset_id, "582963"), 409, "SECURITY_VERIFICATION_REQUIRED")
    pin_verify(voucher_id=_voucher().pk, pin=NEW_PIN, actor="test")


def test_a_retried_reset_with_its_idempotency_key_gets_the_first_answer(alice):
    reset_id = forgot_verified(alice)
    body = {"reset_id": reset_id, "new_pin": NEW_PIN, "new_pin_confirm": NEW_PIN}
    headers = {**alice._headers(), "Idempotency-Key": "reset-1"}
    first = alice.client.post("/api/pin/forgot/complete", data=body, content_type="application/json", headers=headers)
    assert first.status_code == 200, first.content
    again = alice.client.post("/api/pin/forgot/complete", data=body, content_type="application/json", headers=headers)
    assert again.status_code == 200 and again.json() == first.json()
    assert AuditEvent.objects.filter(action="pin.reset", outcome="success").count() == 1
    error(forgot_complete(alice, reset_id), 409, "SECURITY_VERIFICATION_REQUIRED")  # without the key: used


def test_no_pin_without_an_accepted_check(alice):
    error(forgot_complete(alice, "0" * 32), 409, "SECURITY_VERIFICATION_REQUIRED")
    started = forgot_start(alice)
    error(forgot_complete(alice, started["reset_id"]), 409, "SECURITY_VERIFICATION_REQUIRED")  # not verified yet
    signed = simulate(alice, started, "face_mismatch")
    error(alice.post("/api/pin/forgot/liveness/verify", {"reset_id": started["reset_id"], **signed}),
          400, "LIVENESS_FACE_MISMATCH")
    error(forgot_complete(alice, started["reset_id"]), 409, "SECURITY_VERIFICATION_REQUIRED")
    # The failed result spent its nonce: sending it again is a replay.
    error(alice.post("/api/pin/forgot/liveness/verify", {"reset_id": started["reset_id"], **signed}),
          400, "LIVENESS_REPLAYED")
    started = forgot_start(alice)
    error(alice.post("/api/pin/forgot/liveness/verify",
                     {"reset_id": started["reset_id"], **simulate(alice, started, "not_live")}), 400, "LIVENESS_NOT_LIVE")
    pin_verify(voucher_id=_voucher().pk, pin=PIN, actor="test")


def test_liveness_checks_nonce_subject_expiry_and_signature(alice):
    started = forgot_start(alice)
    # A result naming someone else (signed, right nonce): refused.
    error(alice.post("/api/pin/forgot/liveness/verify",
                     {"reset_id": started["reset_id"], **forged(started["nonce"], BOB.psn_no)}),
          400, "LIVENESS_SUBJECT_MISMATCH")
    started = forgot_start(alice)
    # A nonce this check did not open.
    error(alice.post("/api/pin/forgot/liveness/verify",
                     {"reset_id": started["reset_id"], **forged("f" * 32, ALICE.psn_no)}), 400, "LIVENESS_NONCE_UNKNOWN")
    # A tampered result.
    signed = forged(started["nonce"], ALICE.psn_no)
    signed["result"]["score"] = 99 if signed["result"]["score"] != 99 else 98
    error(alice.post("/api/pin/forgot/liveness/verify", {"reset_id": started["reset_id"], **signed}),
          400, "LIVENESS_SIGNATURE_INVALID")
    # Too low a score.
    error(alice.post("/api/pin/forgot/liveness/verify",
                     {"reset_id": started["reset_id"], **forged(started["nonce"], ALICE.psn_no, score=50)}),
          400, "LIVENESS_FACE_MISMATCH")
    # Expired challenge.
    started = forgot_start(alice)
    LivenessSession.objects.filter(nonce=started["nonce"]).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    error(alice.post("/api/pin/forgot/liveness/verify",
                     {"reset_id": started["reset_id"], **forged(started["nonce"], ALICE.psn_no)}), 400, "LIVENESS_EXPIRED")
    # An activation challenge's result is not a forgot-PIN one (purpose).
    assert not LivenessSession.objects.filter(purpose="pin_reset", outcome="accepted").exists()


def test_the_window_after_the_check_expires(alice, settings):
    reset_id = forgot_verified(alice)
    LivenessSession.objects.filter(reference=reset_id).update(used_at=timezone.now() - dt.timedelta(seconds=601))
    error(forgot_complete(alice, reset_id), 409, "SECURITY_VERIFICATION_EXPIRED")
    pin_verify(voucher_id=_voucher().pk, pin=PIN, actor="test")


def test_reset_attempts_per_day_are_limited(alice, settings):
    settings.PIN_RESET_LIMIT_PER_DAY = 2
    forgot_start(alice)
    forgot_start(alice)
    body = error(alice.post("/api/pin/forgot/liveness/start"), 429, "TOO_MANY_ATTEMPTS")
    assert body["detail"]["retry_after"] > 0 and "找回支付密码" in body["message"]
    assert AuditEvent.objects.filter(action="pin.reset.liveness_start", outcome="failure",
                                     code="TOO_MANY_ATTEMPTS").count() == 1


def test_a_staff_reset_ticket_is_completed_by_the_persons_forgot_pin(alice):
    person = _voucher().person
    with transaction.atomic():
        ticket = reset_ticket_create(person=person, actor="staff:agent1", team="north", reason="来电：忘记密码")
    security = alice.get("/api/security").json()
    assert security["reset_ticket"]["expires_at"]
    assert forgot_start(alice)["reset_ticket"] is True
    reset_id = forgot_verified(alice)
    body = forgot_complete(alice, reset_id).json()
    assert body["ticket_completed"] is True
    ticket = PinResetTicket.objects.get(pk=ticket.pk)
    assert ticket.status == "completed" and ticket.channel == "wechat" and ticket.closed_by.startswith("wechat:")
    assert AuditEvent.objects.filter(action="pin.reset_ticket.complete", person=person).count() == 1
    assert alice.get("/api/security").json()["reset_ticket"] is None
    titles = [e["title"] for e in alice.get("/api/security").json()["events"]]
    assert titles[:3] == ["刷脸重设支付密码", "完成客服发起的密码重置", "客服发起密码重置"]
    assert "agent1" not in str(alice.get("/api/security").content)  # staff names are never shown to the person
