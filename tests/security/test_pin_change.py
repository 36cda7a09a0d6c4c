"""Changing the payment PIN: every rule at the service level, the lockout,
the rate limit, one PIN across channels, and what follows a change (audit,
outbox, cancelled confirmations, the notice) — against the core over HTTP."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from common.envelope import InfCode
from common.errors import ApplicationError
from settlement.models import OutboxMessage
from tests.security.helpers import ALICE, NEW_PIN, OTHER_PIN, PIN, activated, change, error, login_of
from tests.support.app import AppClient
from tests.support.pos import A_ITEMS, DATA, Pos
from payments.models import Payment
from wallet.models import Voucher
from codes.services.issue import code_issue
from wallet.services.pin import pin_verify
from wallet.services.security import pin_change

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url")]
PHARMACY = next(i for i in DATA.institutions if i.kind == "pharmacy" and i.designated  # the insured region's own
                and i.region == ALICE.insured_region)
LARGE = [(A_ITEMS[1].med_list_codg, "500.00", "2")]  # account part over the threshold: the phone is asked


@pytest.fixture
def alice(client):
    return activated(client, ALICE)


def _voucher() -> Voucher:
    return Voucher.objects.get(person__psn_no=ALICE.psn_no)


def _refused(alice, old, new, confirm=None) -> str:
    with pytest.raises(ApplicationError) as refused:
        pin_change(login=login_of(alice), old_pin=old, new_pin=new, new_pin_confirm=new if confirm is None else confirm)
    assert refused.value.message and not refused.value.message.isascii()
    return refused.value.code


def test_change_sets_one_new_pin_for_every_channel_and_tells_the_person(alice):
    result = pin_change(login=login_of(alice), old_pin=PIN, new_pin=NEW_PIN, new_pin_confirm=NEW_PIN, ip="10.0.0.8")
    assert result["kind"] == "pin.changed" and result["channel_name"] == "微信"
    local = timezone.localtime()
    assert "通过微信修改了支付密码" in result["message"] and f"{local.month}月{local.day}日" in result["message"]
    voucher = _voucher()
    pin_verify(voucher_id=voucher.pk, pin=NEW_PIN, actor="test")  # the new PIN holds
    with pytest.raises(ApplicationError) as old:
        pin_verify(voucher_id=voucher.pk, pin=PIN, actor="test")
    assert old.value.code == "PIN_INCORRECT"
    event = AuditEvent.objects.filter(action="pin.change", outcome="success").get()
    assert (event.person.psn_no, event.channel, event.ip) == (ALICE.psn_no, "wechat", "10.0.0.8")
    assert "258036" not in str(event.detail) and "471902" not in str(event.detail)  # never a PIN in the trail
    message = OutboxMessage.objects.filter(kind="pin.changed").get()
    assert message.person_key == ALICE.psn_no and message.payload["channel"] == "wechat"
    # The notice is in the person's notifications, naming the channel and the time.
    notes = alice.get("/api/security/notifications").json()
    assert notes[0]["kind"] == "pin.changed" and "通过微信修改了支付密码" in notes[0]["message"]


@pytest.mark.parametrize(("new", "confirm", "code"), [
    ("111111", None, "PIN_WEAK_REPEATED"),
    ("345678", None, "PIN_WEAK_SEQUENCE"),
    ("987654", None, "PIN_WEAK_SEQUENCE"),
    ("１２３４５６", None, "PIN_FORMAT"),  # full-width digits are not ASCII digits
    ("47190", None, "PIN_FORMAT"),
    (NEW_PIN, OTHER_PIN, "PIN_CONFIRM_MISMATCH"),
    (PIN, None, "PIN_SAME_AS_OLD"),
])
def test_new_pin_rules_refuse_and_change_nothing(alice, new, confirm, code):
    assert _refused(alice, PIN, new, confirm) == code
    voucher = _voucher()
    assert voucher.pin_failures == 0  # a bad new PIN never costs a try
    pin_verify(voucher_id=voucher.pk, pin=PIN, actor="test")
    assert AuditEvent.objects.filter(action="pin.change", outcome="failure", code=code).count() == 1
    assert not OutboxMessage.objects.filter(kind="pin.changed").exists()


def test_birthday_and_id_suffix_are_refused_as_at_activation(alice):
    birthday = ALICE.id_number[8:14]
    assert _refused(alice, PIN, birthday) == "PIN_WEAK_BIRTHDAY"
    suffix = ALICE.id_number[-6:]
    if suffix.isdigit() and ALICE.id_number[10:14] not in suffix:
        assert _refused(alice, PIN, suffix) == "PIN_WEAK_ID_SUFFIX"


def test_wrong_old_pin_counts_toward_the_lockout_and_the_lock_offers_forgot_pin(alice, settings):
    settings.PIN_CHANGE_LIMIT_PER_DAY = 20
    for tries_left in (4, 3, 2, 1):
        body = error(change(alice, "147036", NEW_PIN), 400, "PIN_INCORRECT")
        assert body["detail"] == {"tries_left": tries_left}
    locked = error(change(alice, "147036", NEW_PIN), 423, "PIN_LOCKED")
    assert locked["detail"]["tries_left"] == 0 and locked["detail"]["forgot_pin"] is True
    assert locked["detail"]["locked_until"] and "自动解锁" in locked["message"] and "忘记支付密码" in locked["message"]
    # Locked: even the right old PIN is refused, and the page says until when.
    again = error(change(alice, PIN, NEW_PIN), 423, "PIN_LOCKED")
    assert again["detail"]["locked_until"] == locked["detail"]["locked_until"]
    security = alice.get("/api/security").json()
    assert security["voucher"]["pin_locked"] is True and security["voucher"]["pin_locked_until"]
    assert OutboxMessage.objects.filter(kind="pin.locked").count() == 1


def test_changes_per_day_are_limited(alice, settings):
    settings.PIN_CHANGE_LIMIT_PER_DAY = 2
    assert change(alice, PIN, NEW_PIN).status_code == 200
    assert change(alice, NEW_PIN, OTHER_PIN).status_code == 200
    body = error(change(alice, OTHER_PIN, "582963"), 429, "TOO_MANY_ATTEMPTS")
    assert 0 < body["detail"]["retry_after"] <= 86400
    pin_verify(voucher_id=_voucher().pk, pin=OTHER_PIN, actor="test")  # the third did not happen


def test_a_change_on_one_channel_holds_on_the_other(client, alice):
    on_alipay = AppClient(client, "alipay").login()
    on_alipay.activate(ALICE, pin=PIN)  # a second channel: the same PIN
    assert change(alice, PIN, NEW_PIN).status_code == 200
    # The alipay session sees the same change: its old PIN is refused there, the new one works.
    error(change(on_alipay, PIN, OTHER_PIN), 400, "PIN_INCORRECT")
    assert change(on_alipay, NEW_PIN, OTHER_PIN).json()["channel_name"] == "支付宝"
    error(change(alice, NEW_PIN, "582963"), 400, "PIN_INCORRECT")
    events = alice.get("/api/security").json()["events"]
    assert [(e["title"], e["channel_name"]) for e in events[:3]] == [
        ("修改支付密码：原密码错误", "微信"), ("修改支付密码", "支付宝"), ("修改支付密码：原密码错误", "支付宝")]


def test_payments_waiting_for_the_old_pin_are_cancelled(client, alice):
    pos = Pos(client, PHARMACY)
    assert pos.decode(code_issue(_voucher()).code)["code"] == 0
    bill = pos.bill(LARGE)
    assert pos.settle(bill, msgid="SEC-PAY-1")["infcode"] == InfCode.CONFIRMATION_PENDING
    waiting = alice.get("/api/payments/pending").json()
    assert len(waiting) == 1
    result = change(alice, PIN, NEW_PIN).json()
    assert result["payments_cancelled"] == 1
    assert alice.get("/api/payments/pending").json() == []
    # The old-PIN confirmation cannot be given any more; the terminal's retry is refused, nothing charged.
    late = alice.post(f"/api/payments/{waiting[0]['id']}/confirm", {"pin": NEW_PIN})
    assert late.status_code in (404, 409) and late.json()["code"] in ("PAYMENT_NOT_PENDING", "PAYMENT_NOT_FOUND")
    retry = pos.settle(bill, msgid="SEC-PAY-1")
    assert retry["infcode"] == InfCode.CONFIRMATION_REFUSED and "已修改支付密码" in retry["err_msg"]
    payment = Payment.objects.get(public_id=waiting[0]["id"])
    assert payment.status == "failed" and not payment.setl_id


def test_a_frozen_voucher_cannot_change_its_pin(alice):
    assert alice.post("/api/voucher/freeze").json() == {"status": "frozen", "already": False}
    error(change(alice, PIN, NEW_PIN), 403, "VOUCHER_FROZEN")
    pin_verify(voucher_id=_voucher().pk, pin=PIN, actor="test")


def test_a_retried_change_with_its_idempotency_key_gets_the_first_answer(alice):
    headers = {**alice._headers(), "Idempotency-Key": "change-1"}
    body = {"old_pin": PIN, "new_pin": NEW_PIN, "new_pin_confirm": NEW_PIN}

    def post(data):
        return alice.client.post("/api/pin/change", data=data, content_type="application/json", headers=headers)

    first = post(body)
    assert first.status_code == 200, first.content
    again = post(body)  # the answer was lost on the way: the app retries
    assert again.status_code == 200 and again.json() == first.json()
    assert _voucher().pin_failures == 0  # the retry did not count as a wrong old PIN
    assert AuditEvent.objects.filter(action="pin.change", outcome="success").count() == 1
    assert OutboxMessage.objects.filter(kind="pin.changed").count() == 1
    error(post({**body, "new_pin": OTHER_PIN, "new_pin_confirm": OTHER_PIN}), 409, "IDEMPOTENCY_KEY_REUSED")
    # Without the key a repeat is a new change: the old PIN is wrong now.
    error(change(alice, PIN, NEW_PIN), 400, "PIN_INCORRECT")
    bad_key = alice.client.post("/api/pin/change", data=body, content_type="application/json",
                                headers={**alice._headers(), "Idempotency-Key": "键"})
    error(bad_key, 400, "VALIDATION_ERROR")
