"""Paying with confirmation on the phone, end to end in two browser contexts
against a real wallet ASGI process and the live settlement core.

The cashier builds a bill whose personal-account part exceeds
PAYMENT_CONFIRM_THRESHOLD_FEN, pre-settles (confirm_required 1) and settles;
the POS repeats the same msgid + body while the gateway answers 1009 and
shows 等待参保人在手机上确认…; the phone shows the confirmation sheet (a wrong
PIN first: tries_left), the right PIN settles; both screens show the result;
the person's records show it with its explanation; the cashier reverses it
and the record says 已撤销. Every amount on screen is compared, as a string,
with what the API answers.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from common import demodata
from common.money import yuan_to_fen
from tests.frontend.conftest import new_phone_page
from tests.frontend.ui import (
    add_line,
    activated_person_on_code_page,
    app_url,
    by_testid,
    enter_pin,
    new_pos_page,
    pos_decode,
    pos_sign_in_demo,
    shown_code,
)
from tests.support.app import AppClient
from tests.support.http import LiveClient
from tests.support.pos import A_ITEMS

pytestmark = [pytest.mark.browser]

EMPLOYEE = demodata.DEMO_PERSONAS["employee"]
PIN = "258036"
ITEM = A_ITEMS[1]  # class A, no price cap: 500.00 × 2 = 1000.00, account part 350.00 > 200.00
SPLIT = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")


def test_large_bill_confirmed_on_the_phone_then_reversed(browser, start_wallet, screenshot):
    wallet = start_wallet(PAYMENT_CONFIRM_THRESHOLD_FEN="20000")
    phone = new_phone_page(browser)
    pos = new_pos_page(browser)
    try:
        openid = activated_person_on_code_page(phone, wallet.url, EMPLOYEE, PIN)
        api = AppClient(LiveClient(wallet.url), "wechat", openid).login()
        before = api.get("/api/account/balance?refresh=1").json()["balance"]

        pos_sign_in_demo(pos, wallet.url, EMPLOYEE)
        pos_decode(pos, shown_code(phone))
        expect(by_testid(pos, "pos-person-name")).to_have_text(EMPLOYEE.name)
        expect(by_testid(pos, "pos-person-balance")).to_have_text(before)

        add_line(pos, ITEM.med_list_codg, "500.00", "2")
        line = pos.locator(f"[data-testid='pos-line'][data-code='{ITEM.med_list_codg}']")
        expect(line.locator("[data-testid='pos-line-amount']")).to_have_text("1000.00")
        expect(by_testid(pos, "pos-bill-total")).to_have_text("1000.00")

        by_testid(pos, "pos-presettle").click()
        expect(by_testid(pos, "pos-presettle-result")).to_be_visible()
        expect(by_testid(pos, "pos-confirm-required")).to_have_attribute("data-required", "1")
        pre = {f: by_testid(pos, f"pos-pre-{f}").inner_text() for f in SPLIT}
        assert pre["medfee_sumamt"] == "1000.00" and pre["acct_pay"] == "350.00", pre
        screenshot(pos, "pos-presettled")

        by_testid(pos, "pos-settle").click()
        status = by_testid(pos, "pos-settle-status")
        expect(status).to_have_attribute("data-state", "waiting")
        expect(status).to_contain_text("等待参保人在手机上确认…")

        # The phone is asked.
        sheet = by_testid(phone, "pay-confirm-sheet")
        expect(sheet).to_be_visible()
        pending = api.get("/api/payments/pending").json()
        assert len(pending) == 1
        payment_id = pending[0]["id"]
        expect(sheet).to_have_attribute("data-id", payment_id)
        expect(by_testid(phone, "pay-confirm-institution")).to_have_text(pending[0]["institution"])
        for testid, field in (("pay-confirm-total", "medfee_sumamt"), ("pay-confirm-acct", "acct_pay"),
                              ("pay-confirm-cash", "psn_cash_pay"), ("pay-confirm-fund", "fund_pay_sumamt")):
            expect(by_testid(phone, testid)).to_have_text(pending[0][field])
        assert pending[0]["acct_pay"] == pre["acct_pay"] and pending[0]["medfee_sumamt"] == pre["medfee_sumamt"]
        expect(by_testid(phone, "pay-confirm-countdown")).to_have_text(re.compile(r"^请在 \d+:\d\d 内确认$"))
        screenshot(phone, "pay-confirm-sheet")

        # A wrong PIN first: refused, with the tries left; the POS keeps waiting.
        enter_pin(phone, "147036")
        expect(by_testid(phone, "pay-confirm-error")).to_have_attribute("data-code", "PIN_INCORRECT")
        expect(by_testid(phone, "pay-tries-left")).to_have_text("还可以尝试 4 次")
        expect(status).to_have_attribute("data-state", "waiting")
        expect(by_testid(pos, "pos-settle-status")).not_to_have_attribute("data-attempts", "1")  # it repeats

        enter_pin(phone, PIN)

        # Both screens show the result.
        result = by_testid(phone, "pay-result")
        expect(result).to_be_visible(timeout=20_000)
        expect(result).to_have_attribute("data-kind", "success")
        expect(by_testid(phone, "pay-result-title")).to_have_text("支付成功")
        receipt = by_testid(pos, "pos-receipt")
        expect(receipt).to_be_visible(timeout=20_000)
        # The page's desktop styles reach inside its panel components (the receipt slip is 320 px, dashed).
        expect(receipt).to_have_css("width", "320px")
        expect(receipt).to_have_css("border-top-style", "dashed")
        setl_id = by_testid(pos, "pos-receipt-setl-id").inner_text()
        assert setl_id

        detail = api.get(f"/api/records/{payment_id}").json()
        assert detail["status"] == "settled" and detail["setl_id"] == setl_id
        info = detail["setlinfo"]
        for field in SPLIT:
            expect(by_testid(pos, f"pos-receipt-{field}")).to_have_text(info[field])
        expect(by_testid(pos, "pos-receipt-balc")).to_have_text(info["balc"])
        expect(by_testid(phone, "pay-result-total")).to_have_text(info["medfee_sumamt"])
        expect(by_testid(phone, "pay-result-acct")).to_have_text(info["acct_pay"])
        expect(by_testid(phone, "pay-result-fund")).to_have_text(info["fund_pay_sumamt"])
        expect(by_testid(phone, "pay-result-cash")).to_have_text(info["psn_cash_pay"])
        assert info["acct_pay"] == "350.00"
        after = api.get("/api/account/balance?refresh=1").json()["balance"]
        assert yuan_to_fen(before) - yuan_to_fen(after) == 35000
        screenshot(phone, "pay-result-success")
        screenshot(pos, "pos-receipt")

        # The record, with its items and explanation.
        by_testid(phone, "pay-result-record").click()
        expect(by_testid(phone, "record-detail")).to_be_visible()
        expect(by_testid(phone, "detail-status")).to_have_text("已结算")
        expect(by_testid(phone, "detail-setl-id")).to_have_text(setl_id)
        expect(by_testid(phone, "detail-institution")).to_have_text(detail["institution"])
        for field in ("medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "acct_pay", "psn_cash_pay", "act_pay_dedc"):
            expect(by_testid(phone, f"split-{field}")).to_have_text(info[field])
        item = phone.locator(f"[data-testid='detail-item'][data-code='{ITEM.med_list_codg}']")
        expect(item.locator("[data-testid='item-det_item_fee_sumamt']")).to_have_text(
            detail["items"][0]["det_item_fee_sumamt"])
        lines = by_testid(phone, "explanation-line")
        expect(lines).to_have_count(len(detail["explanation"]))
        assert detail["explanation"]
        screenshot(phone, "record-detail-settled")

        # The cashier reverses it.
        by_testid(pos, "pos-reverse").click()
        expect(by_testid(pos, "confirm-dialog")).to_contain_text(setl_id)
        by_testid(pos, "confirm-ok").click()
        expect(by_testid(pos, "pos-reversed")).to_have_text("已撤销")
        expect(by_testid(pos, "pos-receipt")).to_have_attribute("data-reversed", "true")
        screenshot(pos, "pos-reversed")

        phone.reload()
        expect(by_testid(phone, "detail-status")).to_have_text("已撤销")
        expect(by_testid(phone, "detail-reversed-at")).to_be_visible()
        phone.goto(app_url(wallet.url, "wechat", "pages/records/index"))
        record = phone.locator(f"[data-testid='record-item'][data-id='{payment_id}']")
        expect(record).to_have_attribute("data-status", "reversed")
        expect(record.locator("[data-testid='record-status']")).to_have_text("已撤销")
        expect(record.locator("[data-testid='record-total']")).to_have_text(f"¥{info['medfee_sumamt']}")
        expect(record.locator("[data-testid='record-acct']")).to_have_text(info["acct_pay"])
        screenshot(phone, "records-list")

        # The balance on the home page is back to where it was.
        phone.goto(app_url(wallet.url, "wechat", "pages/home/index"))
        expect(by_testid(phone, "home-balance")).to_have_text(before)
        expect(by_testid(phone, "home-balance-as-of")).to_contain_text("更新于")
        for page in (phone, pos):
            assert page.js_errors == []
    finally:
        for page in (phone, pos):
            page.context.close()
