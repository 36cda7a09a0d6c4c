"""The code page and the POS page together, in two browser contexts, against
a real wallet ASGI process (WebSocket included; `start_wallet`) that talks to
the live settlement core and serves the H5 build at /app/.

A person shows the code on a phone-sized page (QR + barcode + digits, the
code rotating by itself every CODE_STEP_SECONDS); a cashier on a desktop-sized
POS page signs in as a demo pharmacy (in-browser HMAC signing, 9001), pastes
the code shown on the phone and sees the person; the phone says who scanned
it and shows the next code; another pharmacy's decode of the same code is
refused with EC_CODE_USED, in Chinese.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from common import demodata
from tests.frontend.conftest import new_phone_page
from tests.frontend.ui import (
    activated_person_on_code_page,
    app_url,
    by_testid,
    fill_input,
    new_pos_page,
    pos_decode,
    pos_sign_in_demo,
    shown_code,
)
from tests.support.pos import pharmacy_for, register

pytestmark = [pytest.mark.browser]

EMPLOYEE = demodata.DEMO_PERSONAS["employee"]
DATA = demodata.generate(demodata.DEFAULT_SEED)
# The demo pharmacy the POS page signs in as (one in the person's own region: elsewhere a
# bill needs a cross-province filing) and a second one for the used-code check.
PHARMACIES = [pharmacy_for(EMPLOYEE)] + [i for i in DATA.institutions if i.kind == "pharmacy" and i.designated
                                         and i.fixmedins_code != pharmacy_for(EMPLOYEE).fixmedins_code]
PIN = "258036"


def test_phone_shows_a_rotating_code_and_the_pos_decodes_it_once(browser, start_wallet, screenshot):
    wallet = start_wallet(CODE_STEP_SECONDS="5")
    phone = new_phone_page(browser)
    pos = new_pos_page(browser)
    other = new_pos_page(browser)
    try:
        activated_person_on_code_page(phone, wallet.url, EMPLOYEE, PIN)
        first = shown_code(phone)
        assert re.fullmatch(r"88\d{47}", first)
        expect(by_testid(phone, "code-mode")).to_have_text("实时更新")
        expect(by_testid(phone, "code-countdown")).to_have_text(re.compile(r"^0:0\d 后自动更新$"))
        screenshot(phone, "code-page-wechat")

        # It rotates by itself (a 5 s step): a new code, with its own QR and barcode.
        expect(by_testid(phone, "code-digits")).not_to_have_attribute("data-code", first, timeout=12_000)
        code = shown_code(phone)
        assert code != first

        # The cashier signs in as a demo pharmacy and decodes the code on the phone.
        pos_sign_in_demo(pos, wallet.url, EMPLOYEE)
        expect(by_testid(pos, "pos-institution")).to_have_text(PHARMACIES[0].name)
        code = shown_code(phone)
        pos_decode(pos, code)
        expect(by_testid(pos, "pos-person-name")).to_have_text(EMPLOYEE.name)
        expect(by_testid(pos, "pos-person-id")).to_have_text(EMPLOYEE.id_number)
        expect(by_testid(pos, "pos-person-gender")).to_have_text({"1": "男", "2": "女"}[EMPLOYEE.gender])
        expect(by_testid(pos, "pos-person-birthday")).to_contain_text(EMPLOYEE.birth_date.strftime("%Y"))
        expect(by_testid(pos, "pos-person-region")).to_have_text(EMPLOYEE.insured_region)
        expect(by_testid(pos, "pos-person-insutype")).to_have_text("职工基本医疗保险")
        # styles/pos.scss reaches the panels in components/biz/pos/ (a panel is a white card, not bare text).
        expect(by_testid(pos, "pos-person")).to_have_css("background-color", "rgb(255, 255, 255)")
        screenshot(pos, "pos-decoded")

        # The phone is told at once, and shows the next code.
        expect(by_testid(phone, "code-scanned")).to_contain_text(f"已被 {PHARMACIES[0].name} 扫码")
        expect(by_testid(phone, "code-scanned")).to_have_text(re.compile(r"扫码 \d\d:\d\d:\d\d$"))
        expect(by_testid(phone, "code-digits")).not_to_have_attribute("data-code", code)
        assert shown_code(phone) != code
        screenshot(phone, "code-page-scanned")

        # Another pharmacy (typed-in credentials) scans the same, already used, code.
        register(PHARMACIES[1])
        other.goto(app_url(wallet.url, None, "pages-staff/pos/index"))
        fill_input(other, "pos-code", PHARMACIES[1].fixmedins_code)
        fill_input(other, "pos-secret", PHARMACIES[1].secret)
        by_testid(other, "pos-signin").click()
        expect(by_testid(other, "pos-sign-no")).not_to_have_text("未签到")
        pos_decode(other, code)
        error = by_testid(other, "pos-decode-error")
        expect(error).to_have_attribute("data-code", "EC_CODE_USED")
        expect(error).to_contain_text("该医保码已被使用，请参保人出示新的医保码")
        expect(by_testid(other, "pos-person")).to_have_count(0)
        screenshot(other, "pos-code-used")

        # A wrong secret is refused at sign-in, in Chinese.
        other.goto(app_url(wallet.url, None, "pages-staff/pos/index"))
        other.reload()
        fill_input(other, "pos-code", PHARMACIES[1].fixmedins_code)
        fill_input(other, "pos-secret", "not-the-secret")
        by_testid(other, "pos-signin").click()
        expect(by_testid(other, "pos-signin-error")).to_contain_text("签到失败")

        for page in (phone, pos, other):
            assert page.js_errors == []
    finally:
        for page in (phone, pos, other):
            page.context.close()


def set_visibility(page, state: str) -> None:
    """What uni-h5 listens to for the app's onHide / onShow."""
    page.evaluate("""(state) => {
        Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => state});
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => state === 'hidden'});
        document.dispatchEvent(new Event('visibilitychange'));
    }""", state)


def test_code_page_skin_alipay_and_blank_when_expired(browser, start_wallet, screenshot):
    """The Alipay-like skin, the manual 刷新, onHide/onShow, and a code blanked
    on the client when it is past valid_until with no new one."""
    wallet = start_wallet(CODE_STEP_SECONDS="5")
    phone = new_phone_page(browser)
    try:
        activated_person_on_code_page(phone, wallet.url, EMPLOYEE, PIN, channel="alipay")
        assert "skin-alipay" in phone.evaluate("() => Array.from(document.documentElement.classList)")
        code = shown_code(phone)
        by_testid(phone, "code-refresh").click()
        expect(by_testid(phone, "code-digits")).not_to_have_attribute("data-code", code)
        screenshot(phone, "code-page-alipay")

        # The app goes to the background and comes back while the network to the wallet is
        # cut: the socket is closed on hide; on show a new ticket cannot be had and REST
        # polling fails too, so no new code arrives and the shown one is blanked once it
        # lapses (valid_until, at most two 5 s steps).
        phone.route("**/api/**", lambda route: route.abort())
        set_visibility(phone, "hidden")
        set_visibility(phone, "visible")
        expect(by_testid(phone, "code-mode")).to_have_text("网络不稳定，已切换为定时刷新", timeout=10_000)
        expect(by_testid(phone, "code-blank")).to_be_visible(timeout=15_000)
        expect(by_testid(phone, "code-blank")).to_contain_text("医保码已失效")
        expect(by_testid(phone, "code-qr")).to_have_count(0)
        expect(by_testid(phone, "code-digits")).to_have_text("")
        screenshot(phone, "code-page-blank")

        # The network is back: polling and the reconnect (with a fresh ticket) bring a new code.
        phone.unroute("**/api/**")
        expect(by_testid(phone, "code-qr")).to_be_visible(timeout=20_000)
        shown_code(phone)
        expect(by_testid(phone, "code-mode")).to_have_text("实时更新", timeout=40_000)
    finally:
        phone.context.close()
