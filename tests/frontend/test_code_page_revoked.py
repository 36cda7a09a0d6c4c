"""Issue #9 part 2 in the browser: the code page open on WeChat is told at
once when the WeChat authorization is revoked from the Alipay login, and
when its own login logs out — it shows the Chinese message and no code."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from common import demodata
from tests.frontend.conftest import new_phone_page
from tests.frontend.ui import activated_person_on_code_page, by_testid, shown_code
from tests.support.app import AppClient
from tests.support.http import LiveClient

pytestmark = [pytest.mark.browser]

EMPLOYEE = demodata.DEMO_PERSONAS["employee"]
PIN = "258036"


def test_code_page_shows_revoked_channel_and_hides_the_code(browser, start_wallet, screenshot):
    wallet = start_wallet()
    phone = new_phone_page(browser)
    try:
        activated_person_on_code_page(phone, wallet.url, EMPLOYEE, PIN, channel="wechat")
        shown_code(phone)
        alipay = AppClient(LiveClient(wallet.url), "alipay", f"demo-ali-{uuid.uuid4().hex[:10]}").login()
        alipay.activate(EMPLOYEE, pin=PIN)
        items = alipay.get("/api/voucher/authorizations").json()
        wechat_auth = next(a["id"] for a in items if a["channel"] == "wechat" and a["status"] == "active")
        assert alipay.post(f"/api/voucher/authorizations/{wechat_auth}/revoke").status_code == 200

        error = by_testid(phone, "code-error")
        expect(error).to_contain_text("本渠道授权已撤销", timeout=10_000)  # long before the 30 s rotation
        expect(error).to_have_attribute("data-code", "CHANNEL_NOT_AUTHORIZED")
        expect(by_testid(phone, "code-digits")).to_have_count(0)
        screenshot(phone, "code-page-channel-revoked")
    finally:
        phone.context.close()
