"""A bound relative's own code shown by the binder: proxy PIN, the terminal
decodes the relative and settlement charges the relative (never the binder),
the binder confirms with the relative's PIN, records and code views, and
codes that stop decoding when the binding ends. The settlement core runs as
its own HTTP service; the terminal speaks the national envelope."""

from __future__ import annotations

import pytest

from common.envelope import InfCode
from common.money import yuan_to_fen
from family.models import CodeView
from tests.family.helpers import ADULTS, EMPLOYEE, GUARDIAN, SMALL_CHILD, bind, bound_adult, error
from tests.support.app import AppClient
from tests.support.pos import A_ITEMS, DATA, Pos
from wallet.services.pin import pin_check_strength

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url")]



def pharmacy_for(person):
    """A designated pharmacy in the person's own insured region (no cross-region filing needed)."""
    return next(i for i in DATA.institutions if i.kind == "pharmacy" and i.designated
                and i.region == person.insured_region)


PHARMACY = pharmacy_for(SMALL_CHILD)
SMALL = [(A_ITEMS[0].med_list_codg, "25.00", "2")]
LARGE = [(A_ITEMS[1].med_list_codg, "500.00", "2")]  # account part above the 200-yuan confirmation threshold


def strong_pin(person, avoid=()) -> str:
    for candidate in ("369258", "470369", "582047", "913568", "742085"):
        try:
            pin_check_strength(candidate, id_number=person.id_number)
        except Exception:
            continue
        if candidate not in avoid:
            return candidate
    raise AssertionError("no strong PIN candidate")


@pytest.fixture
def binder(client):
    app = AppClient(client, "wechat").login()
    app.activate(EMPLOYEE, pin="258036")
    return app


def _child_with_proxy_pin(binder) -> tuple[str, str]:
    created = bind(binder, SMALL_CHILD, "child", "guardian", GUARDIAN)
    assert created.status_code == 201, created.content
    binding_id = created.json()["id"]
    pin = strong_pin(SMALL_CHILD)
    done = binder.post(f"/api/family/relatives/{binding_id}/pin", {"pin": pin, "pin_confirm": pin})
    assert done.status_code == 200, done.content
    return binding_id, pin


def balance(app, path="/api/account/balance") -> int:
    return yuan_to_fen(app.get(f"{path}?refresh=1").json()["balance"])


def test_proxy_pin_rules_and_the_relatives_own_activation_takes_over(client, binder):
    binding_id = bind(binder, SMALL_CHILD, "child", "guardian", GUARDIAN).json()["id"]
    error(binder.get(f"/api/voucher/code?person={binding_id}"), 409, "FAMILY_NOT_ACTIVE")  # no voucher yet
    pin_path = f"/api/family/relatives/{binding_id}/pin"
    mmdd = SMALL_CHILD.id_number[10:14]
    for pin, code in (("111111", "PIN_WEAK_REPEATED"), ("123456", "PIN_WEAK_SEQUENCE"), ("12345", "PIN_FORMAT"),
                      (mmdd + "97", "PIN_WEAK_BIRTHDAY"), ("１２３４５６", "PIN_FORMAT")):
        error(binder.post(pin_path, {"pin": pin, "pin_confirm": pin}), 400, code)
    pin = strong_pin(SMALL_CHILD)
    error(binder.post(pin_path, {"pin": pin, "pin_confirm": strong_pin(SMALL_CHILD, avoid=[pin])}),
          400, "PIN_CONFIRM_MISMATCH")
    done = binder.post(pin_path, {"pin": pin, "pin_confirm": pin})
    assert done.status_code == 200, done.content
    assert done.json()["proxy"] is True
    view = done.json()["binding"]
    assert (view["proxy_voucher"], view["voucher_active"], view["own_phone"], view["can_show_code"]) == \
        (True, True, False, True)
    changed = strong_pin(SMALL_CHILD, avoid=[pin])
    assert binder.post(pin_path, {"pin": changed, "pin_confirm": changed}).status_code == 200
    assert binder.get(f"/api/voucher/code?person={binding_id}").status_code == 200

    # The child later activates on a phone of their own: a new PIN, not the binder's.
    child = AppClient(client, "alipay").login()
    assert child.real_name(SMALL_CHILD).json()["pin_mode"] == "new"
    own_pin = strong_pin(SMALL_CHILD, avoid=[pin, changed])
    done = child.activate(SMALL_CHILD, pin=own_pin)
    assert done["voucher"] == {"status": "active"}
    error(binder.post(pin_path, {"pin": pin, "pin_confirm": pin}), 409, "FAMILY_PIN_OWNED_BY_RELATIVE")
    view = binder.get(f"/api/family/relatives/{binding_id}").json()
    assert (view["proxy_voucher"], view["own_phone"], view["can_show_code"]) == (False, True, True)
    assert binder.get(f"/api/voucher/code?person={binding_id}").status_code == 200  # still shows it


def test_showing_a_childs_code_charges_the_child_through_the_terminal(client, binder):
    binding_id, _ = _child_with_proxy_pin(binder)
    code = binder.get(f"/api/voucher/code?person={binding_id}").json()["code"]
    own = binder.get("/api/voucher/code").json()["code"]
    assert code != own
    pos = Pos(client, PHARMACY)
    decoded = pos.decode(code)
    assert decoded["code"] == 0, decoded
    assert decoded["data"]["userName"] == SMALL_CHILD.name and decoded["data"]["idNo"] == SMALL_CHILD.id_number
    binder_before = balance(binder)
    settled = pos.settle(pos.bill(SMALL, insutype=SMALL_CHILD.insutype), msgid="FAM-CHILD-1")
    assert settled["infcode"] == 0, settled
    setl = settled["output"]["setlinfo"]
    assert setl["psn_no"] == SMALL_CHILD.psn_no and setl["psn_name"] == SMALL_CHILD.name
    assert setl["certno"] == SMALL_CHILD.id_number
    assert balance(binder) == binder_before  # never the binder's account
    assert binder.get("/api/records").json() == []  # not the binder's record
    records = binder.get(f"/api/family/relatives/{binding_id}/records").json()
    assert [(r["status"], r["medfee_sumamt"], r["acct_pay"]) for r in records] == \
        [("settled", "50.00", str(setl["acct_pay"]))]
    detail = binder.get(f"/api/family/relatives/{binding_id}/records/{records[0]['id']}").json()
    assert detail["setl_id"] == setl["setl_id"] and detail["setlinfo"]["certno"] != SMALL_CHILD.id_number
    child_balance = binder.get(f"/api/family/relatives/{binding_id}/balance?refresh=1").json()
    assert yuan_to_fen(child_balance["balance"]) == yuan_to_fen(setl["balc"])

    # The child (on a phone of their own now) sees who showed the code, and where it was scanned.
    child = AppClient(client, "alipay").login()
    child.activate(SMALL_CHILD, pin=strong_pin(SMALL_CHILD, avoid=["369258"]))
    views = child.get("/api/family/code-views").json()
    assert [(v["kind"], v["binding_id"], v["channel"], v["channel_name"], v["institution"]) for v in views] == \
        [("scanned", binding_id, "wechat", "微信", PHARMACY.name), ("shown", binding_id, "wechat", "微信", "")]
    assert all(v["binder_name_masked"] != EMPLOYEE.name and v["binder_name_masked"].endswith(EMPLOYEE.name[-1])
               for v in views)
    assert binder.get("/api/family/code-views").json() == []  # the binder's own code was never shown by anyone


def adult_with_proxy_pin(binder):
    """An adult employee relative whose account pays a large bill, at a pharmacy
    of their own city, bound by ``binder`` with a proxy PIN the binder sets:
    (the persona, binding id, PIN)."""
    relative = next(p for p in ADULTS if p.insutype == "310" and p.balance_fen >= 50_000
                    and any(i.region == p.insured_region and i.kind == "pharmacy" and i.designated
                            for i in DATA.institutions))
    binding_id = bound_adult(binder, relative)["id"]
    pin = strong_pin(relative, avoid=["258036"])
    assert binder.post(f"/api/family/relatives/{binding_id}/pin", {"pin": pin, "pin_confirm": pin}).status_code == 200
    return relative, binding_id, pin


def test_binder_confirms_a_relatives_large_payment_with_the_relatives_pin(client, binder):
    relative, binding_id, pin = adult_with_proxy_pin(binder)
    pos = Pos(client, pharmacy_for(relative))
    assert pos.decode(binder.get(f"/api/voucher/code?person={binding_id}").json()["code"])["code"] == 0
    bill = pos.bill(LARGE)
    pending = pos.settle(bill, msgid="FAM-LARGE-1")
    assert pending["infcode"] == InfCode.CONFIRMATION_PENDING, pending
    assert binder.get("/api/payments/pending").json() == []  # not the binder's own
    waiting = binder.get(f"/api/family/relatives/{binding_id}/payments/pending").json()
    assert [(w["acct_pay"], w["medfee_sumamt"]) for w in waiting] == [("350.00", "1000.00")]
    stranger = AppClient(client, "alipay").login()
    stranger.activate(ADULTS[-1])
    error(stranger.post(f"/api/payments/{waiting[0]['id']}/confirm", {"pin": pin}), 404, "PAYMENT_NOT_FOUND")
    wrong = error(binder.post(f"/api/payments/{waiting[0]['id']}/confirm", {"pin": "258036"}), 400, "PIN_INCORRECT")
    assert wrong["detail"] == {"tries_left": 4}  # the relative's PIN counts, not the binder's
    right = binder.post(f"/api/payments/{waiting[0]['id']}/confirm", {"pin": pin})
    assert right.status_code == 200 and right.json()["status"] == "confirmed"
    settled = pos.settle(bill, msgid="FAM-LARGE-1")
    assert settled["infcode"] == 0, settled
    assert settled["output"]["setlinfo"]["psn_no"] == relative.psn_no
    assert settled["output"]["setlinfo"]["acct_pay"] == 350


def test_a_code_shown_under_a_binding_stops_decoding_when_it_ends(client, binder):
    binding_id, _ = _child_with_proxy_pin(binder)
    shown = binder.get(f"/api/voucher/code?person={binding_id}").json()["code"]
    before_end = binder.get(f"/api/voucher/code?person={binding_id}").json()["code"]
    pos = Pos(client, PHARMACY)
    assert pos.decode(before_end)["code"] == 0  # decodes while the binding stands
    assert binder.post(f"/api/family/relatives/{binding_id}/end").status_code == 200
    refused = pos.decode(shown)
    assert (refused["code"], refused["errorCode"]) == (int(InfCode.VOUCHER_UNAVAILABLE), "EC_VOUCHER_UNAVAILABLE")
    error(binder.get(f"/api/voucher/code?person={binding_id}"), 404, "FAMILY_NOT_FOUND")
    # The binder's own code is untouched.
    assert pos.decode(binder.get("/api/voucher/code").json()["code"])["code"] == 0
    assert CodeView.objects.filter(kind="scanned").count() == 1
