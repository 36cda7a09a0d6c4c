"""Paying at the counter through the wallet: ecToken checks, the split from
the core, PIN confirmation on the phone, lockout, reversal, the person's
records and balance, and unknown outcomes with the core made to time out."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command

from common import demodata, idnumber
from common.envelope import InfCode
from common.money import yuan_to_fen
from tests.support.app import AppClient
from tests.support.faultproxy import FaultProxy
from tests.support.pos import A_ITEMS, Pos, pharmacies_for
from payments.models import Payment
from wallet.models import Voucher
from codes.services.issue import code_issue
from payments.services.resolve import payment_resolve

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url")]

EMPLOYEE = demodata.DEMO_PERSONAS["employee"]
# Designated pharmacies of the person's own region, then province: a local bill (in
# another province it needs a cross-province filing, 4011). The split follows the
# insured region's (440100) policy wherever the person pays, so the amounts below hold.
PHARMACIES = pharmacies_for(EMPLOYEE)
SMALL = [(A_ITEMS[0].med_list_codg, "25.00", "2")]  # 50.00: account part 17.50, no confirmation
LARGE = [(A_ITEMS[1].med_list_codg, "500.00", "2")]  # 1000.00: account part 350.00 > 200 → confirmation


@pytest.fixture
def person(client):
    app = AppClient(client, "wechat").login()
    app.activate(EMPLOYEE, pin="258036")
    return app


@pytest.fixture
def pos(client, person):
    pos = Pos(client, PHARMACIES[0])
    voucher = Voucher.objects.get(person__psn_no=EMPLOYEE.psn_no)
    assert pos.decode(code_issue(voucher).code)["code"] == 0
    return pos


def balance(app) -> int:
    return yuan_to_fen(app.get("/api/account/balance?refresh=1").json()["balance"])


def test_pre_settle_then_settle_a_small_bill(person, pos):
    before = balance(person)
    bill = pos.bill(SMALL)
    pre = pos.pre_settle(bill)
    assert pre["infcode"] == 0, pre
    info = pre["output"]["setlinfo"]
    assert pre["output"]["confirm_required"] == "0"
    assert (info["medfee_sumamt"], info["fund_pay_sumamt"], info["acct_pay"], info["psn_cash_pay"]) == \
        (Decimal("50.00"), Decimal("32.50"), Decimal("17.50"), Decimal("0.00"))
    # JSON numbers with exactly two decimals in the raw answer, as the national platform sends them
    assert all(info[name].as_tuple().exponent == -2 for name in ("medfee_sumamt", "acct_pay", "psn_cash_pay"))
    settled = pos.settle(bill, msgid="PAY-SMALL-1")
    assert settled["infcode"] == 0, settled
    setl = settled["output"]["setlinfo"]
    assert setl["setl_id"] and setl["acct_pay"] == Decimal("17.50")
    assert balance(person) == before - 1750
    assert yuan_to_fen(setl["balc"]) == before - 1750
    # A terminal retry with the same msgid: the first answer, charged once.
    assert pos.settle(bill, msgid="PAY-SMALL-1") == settled
    assert balance(person) == before - 1750
    # The same msgid with another bill is refused.
    assert pos.settle(pos.bill(LARGE), msgid="PAY-SMALL-1")["infcode"] == InfCode.MSGID_CONFLICT

    records = person.get("/api/records").json()
    assert [(r["status"], r["medfee_sumamt"], r["acct_pay"]) for r in records] == [("settled", "50.00", "17.50")]
    detail = person.get(f"/api/records/{records[0]['id']}").json()
    assert detail["institution"] == PHARMACIES[0].name and detail["setl_id"] == setl["setl_id"]
    assert detail["items"][0]["med_list_codg"] == SMALL[0][0] and detail["explanation"]
    assert detail["setlinfo"]["hifp_pay"] == "32.50"
    # The designated pharmacy is entitled to the full ID number and sees the
    # certificate type it used (01, the e-voucher), not the wallet's internal one;
    # the person's own record view masks it like every response.
    assert idnumber.is_valid(setl["certno"]) and setl["mdtrt_cert_type"] == "01"
    assert detail["setlinfo"]["certno"] == idnumber.mask(setl["certno"]) != setl["certno"]


def test_large_bill_needs_the_pin_on_the_phone(person, pos):
    before = balance(person)
    bill = pos.bill(LARGE)
    assert pos.pre_settle(bill)["output"]["confirm_required"] == "1"
    pending = pos.settle(bill, msgid="PAY-LARGE-1")
    assert pending["infcode"] == InfCode.CONFIRMATION_PENDING, pending
    assert pending["output"]["acct_pay"] == Decimal("350.00")
    assert balance(person) == before  # nothing charged yet
    assert pos.settle(bill, msgid="PAY-LARGE-1")["infcode"] == InfCode.CONFIRMATION_PENDING  # asked again: still pending

    waiting = person.get("/api/payments/pending").json()
    assert [(w["institution"], w["acct_pay"], w["medfee_sumamt"]) for w in waiting] == \
        [(PHARMACIES[0].name, "350.00", "1000.00")]
    wrong = person.post(f"/api/payments/{waiting[0]['id']}/confirm", {"pin": "147036"})
    assert wrong.status_code == 400 and wrong.json()["code"] == "PIN_INCORRECT"
    assert wrong.json()["detail"] == {"tries_left": 4}
    right = person.post(f"/api/payments/{waiting[0]['id']}/confirm", {"pin": "258036"})
    assert right.status_code == 200 and right.json()["status"] == "confirmed"

    settled = pos.settle(bill, msgid="PAY-LARGE-1")
    assert settled["infcode"] == 0, settled
    assert settled["output"]["setlinfo"]["acct_pay"] == Decimal("350.00")
    assert balance(person) == before - 35000
    assert person.get("/api/payments/pending").json() == []
    assert Voucher.objects.get(person__psn_no=EMPLOYEE.psn_no).pin_failures == 0  # a right PIN resets the count


def test_declined_on_the_phone(person, pos):
    bill = pos.bill(LARGE)
    pos.settle(bill, msgid="PAY-DECLINE")
    waiting = person.get("/api/payments/pending").json()
    assert person.post(f"/api/payments/{waiting[0]['id']}/decline").json()["status"] == "declined"
    answer = pos.settle(bill, msgid="PAY-DECLINE")
    assert answer["infcode"] == InfCode.CONFIRMATION_REFUSED and "拒绝" in answer["err_msg"]


def test_five_wrong_pins_lock_payment_until_an_operator_unlocks(person, pos):
    bill = pos.bill(LARGE)
    pos.settle(bill, msgid="PAY-LOCK-1")
    payment_id = person.get("/api/payments/pending").json()[0]["id"]
    codes = [person.post(f"/api/payments/{payment_id}/confirm", {"pin": "147036"}).json() for _ in range(5)]
    assert [c["code"] for c in codes] == ["PIN_INCORRECT"] * 4 + ["PIN_LOCKED"]
    assert [c["detail"].get("tries_left") for c in codes] == [4, 3, 2, 1, 0]
    assert person.post(f"/api/payments/{payment_id}/confirm", {"pin": "258036"}).json()["code"] == "PIN_LOCKED"
    locked = pos.settle(pos.bill(SMALL), msgid="PAY-LOCK-2")
    assert locked["infcode"] == InfCode.PIN_LOCKED  # refused before anything reaches the core
    assert person.get("/api/me").json()["voucher"]["pin_locked"] is True
    call_command("pin_unlock", psn_no=EMPLOYEE.psn_no, operator="ops-li", reason="本人到柜台核实")
    assert pos.settle(pos.bill(SMALL), msgid="PAY-LOCK-3")["infcode"] == 0


def test_pin_locked_while_pending_refuses_the_terminal_at_once(person, pos):
    """Issue #9.6: the lock ends every waiting confirmation; the terminal's
    next retry of the msgid gets 1011, not 'pending' until the deadline."""
    before = balance(person)
    bill = pos.bill(LARGE)
    assert pos.settle(bill, msgid="PAY-LOCKP-1")["infcode"] == InfCode.CONFIRMATION_PENDING
    assert pos.settle(pos.bill(LARGE), msgid="PAY-LOCKP-2")["infcode"] == InfCode.CONFIRMATION_PENDING
    payment_id = Payment.objects.get(message__msgid="PAY-LOCKP-1").public_id
    codes = [person.post(f"/api/payments/{payment_id}/confirm", {"pin": "147036"}).json()["code"] for _ in range(5)]
    assert codes == ["PIN_INCORRECT"] * 4 + ["PIN_LOCKED"]
    for msgid in ("PAY-LOCKP-1", "PAY-LOCKP-2"):  # the payment confirmed against, and the other one waiting
        answer = pos.settle(bill if msgid == "PAY-LOCKP-1" else pos.bill(LARGE), msgid=msgid)
        assert answer["infcode"] == InfCode.PIN_LOCKED, answer
        assert "支付密码已锁定" in answer["err_msg"] and "其他方式支付" in answer["err_msg"]
        assert Payment.objects.get(message__msgid=msgid).status == "failed"
    assert person.get("/api/payments/pending").json() == []
    late = person.post(f"/api/payments/{payment_id}/confirm", {"pin": "258036"}).json()
    assert late["code"] == "PIN_LOCKED" and "12393" in late["message"]
    # Unlocked later, the refused msgid stays refused (final), and nothing was charged.
    call_command("pin_unlock", psn_no=EMPLOYEE.psn_no, operator="ops-li", reason="本人到柜台核实")
    assert pos.settle(bill, msgid="PAY-LOCKP-1")["infcode"] == InfCode.PIN_LOCKED
    assert balance(person) == before


def test_pin_locked_elsewhere_while_pending_refuses_the_terminal(client, person, pos):
    """Locked through another path (activating a second channel with wrong
    PINs): the waiting payment is refused at the terminal's next retry."""
    bill = pos.bill(LARGE)
    assert pos.settle(bill, msgid="PAY-LOCKE-1")["infcode"] == InfCode.CONFIRMATION_PENDING
    other = AppClient(client, "alipay").login()
    activation_id = other.real_name(EMPLOYEE).json()["activation_id"]
    _, signed = other.liveness(activation_id)
    assert other.verify(activation_id, signed).status_code == 200
    codes = [other.pin(activation_id, "147036").json()["code"] for _ in range(5)]
    assert codes[-1] == "PIN_LOCKED"
    answer = pos.settle(bill, msgid="PAY-LOCKE-1")
    assert answer["infcode"] == InfCode.PIN_LOCKED and "支付密码已锁定" in answer["err_msg"], answer
    assert Payment.objects.get(message__msgid="PAY-LOCKE-1").status == "failed"


def test_lockout_message_says_when_it_ends_and_where_to_get_help(person, pos):
    """Issue #9.6: no self-service PIN reset exists yet, so the refusal must
    not point to one; it gives the end of the lock and the hotline."""
    import datetime as dt

    from django.utils import timezone

    pos.settle(pos.bill(LARGE), msgid="PAY-LOCKMSG-1")
    payment_id = person.get("/api/payments/pending").json()[0]["id"]
    answers = [person.post(f"/api/payments/{payment_id}/confirm", {"pin": "147036"}) for _ in range(5)]
    again = person.post("/api/payments/" + payment_id + "/confirm", {"pin": "147036"})
    for response in (answers[-1], again):
        body = response.json()
        assert response.status_code == 423 and body["code"] == "PIN_LOCKED"
        until = dt.datetime.fromisoformat(body["detail"]["locked_until"])
        local = timezone.localtime(until)
        assert f"将于{local.month}月{local.day}日 {local:%H:%M} 自动解锁" in body["message"], body
        assert "12393" in body["message"] and body["detail"]["support_hotline"] == "12393"
        assert "重置" not in body["message"]  # no reset API to point to yet
        assert dt.timedelta(hours=23) < until - timezone.now() <= dt.timedelta(hours=24)
    check = {c["key"]: c for c in person.get("/api/voucher/diagnosis").json()["checks"]}["pin_locked"]
    assert check["ok"] is False and "12393" in check["advice"] and "重置" not in check["advice"]
    assert f"{local:%H:%M} 自动解锁" in check["advice"]


def test_reverse_restores_the_balance_and_the_record_says_so(person, pos):
    before = balance(person)
    settled = pos.settle(pos.bill(SMALL), msgid="PAY-REV-1")
    setl_id = settled["output"]["setlinfo"]["setl_id"]
    reversed_ = pos.reverse(setl_id, msgid="PAY-REV-2")
    assert reversed_["infcode"] == 0, reversed_
    assert balance(person) == before
    record = person.get("/api/records").json()[0]
    assert record["status"] == "reversed" and record["reversed_at"]
    assert pos.reverse(setl_id, msgid="PAY-REV-3")["infcode"] == InfCode.ALREADY_REVERSED


def test_ectoken_of_another_institution_never_reaches_the_core(person, pos, client):
    other = Pos(client, PHARMACIES[1])
    other.token = pos.token
    answer = other.settle(other.bill(SMALL))
    assert answer["infcode"] == InfCode.ECTOKEN_INVALID
    assert not Payment.objects.filter(institution__fixmedins_code=PHARMACIES[1].fixmedins_code).exists()


def test_id_number_settlement_is_not_brokered(person, pos):
    bill = pos.bill(SMALL, mdtrt_cert_type="02", mdtrt_cert_no=EMPLOYEE.id_number)
    assert pos.settle(bill)["infcode"] == InfCode.CERT_TYPE_UNSUPPORTED


# --- unknown outcomes ----------------------------------------------------------------------

@pytest.fixture
def proxy(core_live, settings):
    port = int(core_live.url.split(":")[2].split("/")[0])
    proxy = FaultProxy(port)
    settings.SETTLEMENT_CORE_URL = proxy.url()
    settings.SETTLEMENT_CORE_TIMEOUT = 1.0
    yield proxy
    proxy.close()


def test_timeout_after_sending_is_resolved_before_anyone_is_told_paid(person, pos, proxy):
    before = balance(person)
    bill = pos.bill(SMALL)
    proxy.set("delay_response", delay=2.5, only=b'"infno":"2102"')  # the core settles, the answer arrives too late
    first = pos.settle(bill, msgid="PAY-UNK-1")
    assert first["infcode"] == InfCode.OUTCOME_UNKNOWN and "勿重复收费" in first["err_msg"]
    payment = Payment.objects.get(message__msgid="PAY-UNK-1")
    assert payment.status == "unknown"
    proxy.set("pass")
    again = pos.settle(bill, msgid="PAY-UNK-1")  # the terminal asks again with the same msgid
    assert again["infcode"] == 0, again
    payment.refresh_from_db()
    assert payment.status == "settled" and payment.setl_id == again["output"]["setlinfo"]["setl_id"]
    assert balance(person) == before - 1750  # charged exactly once


def test_request_lost_on_the_way_is_fenced_out_and_nothing_is_charged(person, pos, proxy):
    before = balance(person)
    bill = pos.bill(SMALL)
    proxy.set("blackhole", only=b'"infno":"2102"')  # sent, never arrives, never answered
    first = pos.settle(bill, msgid="PAY-LOST-1")
    assert first["infcode"] == InfCode.OUTCOME_UNKNOWN
    proxy.set("pass")
    again = pos.settle(bill, msgid="PAY-LOST-1")
    assert again["infcode"] == InfCode.ORIGINAL_REVERSED and "未被扣款" in again["err_msg"]
    assert Payment.objects.get(message__msgid="PAY-LOST-1").status == "failed"
    assert balance(person) == before
    # The worker-side resolver is idempotent: asking again changes nothing.
    assert payment_resolve(Payment.objects.get(message__msgid="PAY-LOST-1").pk) == "failed"
