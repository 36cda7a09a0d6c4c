"""Forgot PIN, end to end in the browser (issue #15 part 1), against a real
wallet ASGI process and the live settlement core, in both skins.

A person has locked the payment PIN (five wrong tries). From the home grid
(支付密码) the security page says it is locked and until when; 忘记支付密码
runs the person's own liveness check (the simulator, as the activation
tests use: this Chromium has no camera), then the new PIN twice; the page
says the PIN is reset and unlocked and names the channel. The person then
shows the code, the cashier's POS page settles a bill that needs the PIN on
the phone: the old PIN is refused, the new one pays.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from playwright.sync_api import expect

from common import demodata
from common.money import yuan_to_fen
from tests.frontend.conftest import new_phone_page
from tests.frontend.test_pay_with_confirmation import add_line
from tests.frontend.ui import (
    app_url,
    by_testid,
    enter_pin,
    new_pos_page,
    pos_decode,
    pos_sign_in_demo,
    shown_code,
    sign_in,
)
from tests.support.app import AppClient
from tests.support.http import LiveClient
from tests.support.pos import A_ITEMS

pytestmark = [pytest.mark.browser]

DATA = demodata.generate(demodata.DEFAULT_SEED)
OLD_PIN, NEW_PIN = "258036", "471902"
ITEM = A_ITEMS[1]  # class A, no price cap
CHANNEL_NAMES = {"wechat": "微信", "alipay": "支付宝"}


def _person():
    """The demo POS is a pharmacy of the first open region (Beijing): an
    employee insured there, with money in the personal account."""
    today = dt.date.today()
    return next(p for p in DATA.persons if p.insured_region == "110100" and p.insutype == "310"
                and p.enrolment_status == "active" and p.age(today) >= 18 and p.balance_fen >= 20000)


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_a_locked_person_resets_the_pin_with_liveness_then_pays_with_it(browser, start_wallet, screenshot, channel):
    person = _person()
    # Any account part needs the PIN on the phone (threshold 1.00 yuan).
    wallet = start_wallet(PAYMENT_CONFIRM_THRESHOLD_FEN="100")
    phone = new_phone_page(browser)
    pos = new_pos_page(browser)
    try:
        openid = f"demo-forgot-{uuid.uuid4().hex[:10]}"
        sign_in(phone, wallet.url, channel, openid)
        api = AppClient(LiveClient(wallet.url), channel, openid).login()
        api.activate(person, pin=OLD_PIN)
        for _ in range(5):  # five wrong PINs (e.g. at the counter): locked for 24 h
            api.post("/api/pin/change", {"old_pin": "147036", "new_pin": NEW_PIN, "new_pin_confirm": NEW_PIN})
        locked_until = api.get("/api/security").json()["voucher"]["pin_locked_until"]
        assert locked_until

        # Home → 支付密码: the locked state says until when and offers 忘记支付密码.
        phone.goto(app_url(wallet.url, channel, "pages/home/index"))
        expect(by_testid(phone, "voucher-card")).to_be_visible()
        entry = by_testid(phone, "entry-pin")
        expect(entry).to_have_attribute("data-status", "open")
        entry.click()
        expect(by_testid(phone, "security-page")).to_be_visible()
        expect(by_testid(phone, "security-locked")).to_be_visible()
        expect(by_testid(phone, "security-locked-until")).not_to_be_empty()
        expect(by_testid(phone, "security-change")).to_have_count(0)  # no change while locked: forgot instead
        expect(phone.locator("[data-testid='security-channel'][data-channel='%s']" % channel)).to_be_visible()
        screenshot(phone, f"security-locked-{channel}")

        # 忘记支付密码: own face, then the new PIN twice.
        by_testid(phone, "security-forgot").click()
        expect(by_testid(phone, "pin-forgot-page")).to_have_attribute("data-stage", "liveness")
        expect(by_testid(phone, "liveness-simulator")).to_be_visible()
        screenshot(phone, f"pin-forgot-liveness-{channel}")
        by_testid(phone, "liveness-sim-pass").click()
        expect(by_testid(phone, "pin-forgot-page")).to_have_attribute("data-stage", "pin")
        expect(by_testid(phone, "pin-step")).to_have_attribute("data-step", "new")
        enter_pin(phone, "123456")  # a sequence: refused by the server after the second entry
        expect(by_testid(phone, "pin-step")).to_have_attribute("data-step", "confirm")
        enter_pin(phone, "123456")
        expect(by_testid(phone, "pin-forgot-error")).to_have_attribute("data-code", "PIN_WEAK_SEQUENCE")
        expect(by_testid(phone, "pin-step")).to_have_attribute("data-step", "new")
        enter_pin(phone, NEW_PIN)
        enter_pin(phone, NEW_PIN)
        done = by_testid(phone, "pin-forgot-done")
        expect(done).to_be_visible()
        expect(by_testid(phone, "pin-forgot-unlocked")).to_be_visible()
        expect(by_testid(phone, "pin-forgot-message")).to_contain_text(f"通过{CHANNEL_NAMES[channel]}刷脸重设了支付密码")
        screenshot(phone, f"pin-forgot-done-{channel}")
        security = api.get("/api/security").json()
        assert security["voucher"]["pin_locked"] is False
        assert security["events"][0]["action"] == "pin.reset" and security["events"][0]["by"] == "本人"

        # Pay with it: the code page, the POS settles, the phone is asked for the PIN.
        by_testid(phone, "pin-forgot-code").click()
        expect(by_testid(phone, "code-page")).to_be_visible()
        before = api.get("/api/account/balance?refresh=1").json()["balance"]
        pos_sign_in_demo(pos, wallet.url)
        pos_decode(pos, shown_code(phone))
        expect(by_testid(pos, "pos-person-name")).to_have_text(person.name)
        add_line(pos, ITEM.med_list_codg, "50.00", "2")
        by_testid(pos, "pos-settle").click()
        expect(by_testid(pos, "pos-settle-status")).to_have_attribute("data-state", "waiting")
        expect(by_testid(phone, "pay-confirm-sheet")).to_be_visible()
        enter_pin(phone, OLD_PIN)  # the forgotten PIN no longer pays
        expect(by_testid(phone, "pay-confirm-error")).to_have_attribute("data-code", "PIN_INCORRECT")
        enter_pin(phone, NEW_PIN)
        result = by_testid(phone, "pay-result")
        expect(result).to_be_visible(timeout=20_000)
        expect(result).to_have_attribute("data-kind", "success")
        expect(by_testid(pos, "pos-receipt")).to_be_visible(timeout=20_000)
        acct = by_testid(pos, "pos-receipt-acct_pay").inner_text()
        after = api.get("/api/account/balance?refresh=1").json()["balance"]
        assert yuan_to_fen(before) - yuan_to_fen(after) == yuan_to_fen(acct) > 0
        screenshot(phone, f"pin-forgot-paid-{channel}")
        assert not phone.js_errors and not pos.js_errors
    finally:
        phone.context.close()
        pos.context.close()
