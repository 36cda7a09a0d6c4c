"""The activation wizard end to end, in the browser, against the real API:
live_server (the wallet, serving the H5 build at /app/) + the settlement core
as a real HTTP service seeded with the demo data (core_url) + the local
liveness simulator.

One person activates in both skins: WeChat-like first (new PIN, after one
weak PIN is refused), then Alipay-like (the PIN set on WeChat is asked for),
and 授权管理 then lists two active authorizations. Failure paths: a region
that has not opened the service, and a face that does not match.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from common.demodata import DEMO_PERSONAS
from tests.frontend.conftest import new_phone_page
from tests.frontend.ui import (
    app_url,
    by_testid,
    enter_pin,
    expect_error,
    sign_in,
    start_activation,
    submit_identity,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("core_url")]

STRONG_PIN = "258036"
BRAND = {"wechat": "rgb(7, 193, 96)", "alipay": "rgb(22, 119, 255)"}
ACTION_LABELS = re.compile(r"^\d(眨眨眼|左右转头|张张嘴|点点头|按提示完成动作)$")


def masked(id_number: str) -> re.Pattern:
    """The masked ID as the API shows it: first 3 and last 4 kept (DESIGN.md)."""
    return re.compile(rf"^{id_number[:3]}\*+{id_number[-4:]}$")


def openid(channel: str) -> str:
    return f"demo-{channel}-{uuid.uuid4().hex[:10]}"


def expect_skin(page, channel: str) -> None:
    assert f"skin-{channel}" in page.evaluate("() => Array.from(document.documentElement.classList)")
    expect(by_testid(page, "real-name-submit")).to_have_css("background-color", BRAND[channel])


def walk_to_liveness(page, person) -> None:
    submit_identity(page, person.name, person.id_number)
    expect(by_testid(page, "step-liveness")).to_have_attribute("data-state", "current")
    expect(by_testid(page, "activation-person-name")).to_have_text(person.name)
    expect(by_testid(page, "activation-person-id")).to_have_text(masked(person.id_number))
    expect(by_testid(page, "liveness-simulator")).to_be_visible()  # this Chromium has no camera
    actions = by_testid(page, "liveness-actions").locator("[role=listitem]")
    expect(actions.first).to_be_visible()
    assert 2 <= actions.count() <= 3
    for text in actions.all_inner_texts():
        assert ACTION_LABELS.match(re.sub(r"\s+", "", text)), text


def pass_liveness(page) -> None:
    by_testid(page, "liveness-sim-pass").click()
    expect(by_testid(page, "pin-pad")).to_be_visible()
    expect(by_testid(page, "step-pin")).to_have_attribute("data-state", "current")


def expect_done(page, channel_name: str) -> None:
    expect(by_testid(page, "activation-done")).to_be_visible()
    expect(by_testid(page, "activation-done")).to_contain_text("激活成功")
    expect(by_testid(page, "step-done")).to_have_attribute("data-state", "current")
    expect(by_testid(page, "done-channel")).to_have_text(channel_name)
    expect(by_testid(page, "done-status")).to_have_text("有效")
    expect(by_testid(page, "done-created")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$"))


def expect_activated_home(page, person) -> None:
    expect(by_testid(page, "voucher-card")).to_be_visible()
    # The name as the national app shows it: all but the last character masked.
    expect(by_testid(page, "person-name")).to_have_text("*" * (len(person.name) - 1) + person.name[-1])
    expect(by_testid(page, "person-id")).to_have_text(masked(person.id_number))
    expect(by_testid(page, "voucher-status")).to_have_text("已激活")
    expect(by_testid(page, "link-authorizations")).to_be_visible()
    expect(by_testid(page, "link-diagnosis")).to_be_visible()
    # The operators' readiness checks are not shown to the person (they are on /staff/sync/).
    expect(by_testid(page, "service-status")).to_have_count(0)


def test_one_person_activates_in_both_skins(browser, live_server, screenshot):
    person = DEMO_PERSONAS["employee"]

    # --- WeChat-like skin: a new PIN ------------------------------------------
    page = new_phone_page(browser)
    try:
        sign_in(page, live_server.url, "wechat", openid("wechat"))
        expect(by_testid(page, "voucher-not-activated")).to_be_visible()
        expect(by_testid(page, "home-activate")).to_have_text("激活医保电子凭证")
        screenshot(page, "activation-home-not-activated-wechat")
        start_activation(page)
        expect_skin(page, "wechat")
        walk_to_liveness(page, person)
        screenshot(page, "activation-liveness-simulator-wechat")
        pass_liveness(page)

        expect(by_testid(page, "pin-step")).to_have_attribute("data-mode", "new")
        expect(by_testid(page, "pin-title")).to_have_text("设置支付密码")
        # A weak PIN (all the same digit) is refused by the server, shown, and entry starts over.
        enter_pin(page, "111111")
        expect(by_testid(page, "pin-title")).to_have_text("再次输入")
        enter_pin(page, "111111")
        expect_error(page, "PIN_WEAK_REPEATED")
        expect(by_testid(page, "error-advice")).to_contain_text("111111")
        expect(by_testid(page, "pin-title")).to_have_text("设置支付密码")
        expect(by_testid(page, "pin-boxes")).to_have_attribute("data-filled", "0")
        screenshot(page, "activation-pin-weak-wechat")

        enter_pin(page, STRONG_PIN)
        expect(by_testid(page, "pin-boxes")).to_have_attribute("data-filled", "0")
        expect(by_testid(page, "pin-title")).to_have_text("再次输入")
        expect(by_testid(page, "error-panel")).to_have_count(0)
        enter_pin(page, STRONG_PIN)
        expect_done(page, "微信")
        screenshot(page, "activation-done-wechat")

        by_testid(page, "done-home").click()
        expect_activated_home(page, person)
        screenshot(page, "activation-home-activated-wechat")
        assert page.js_errors == []
    finally:
        page.context.close()

    # --- Alipay-like skin: the PIN is the voucher's, set on WeChat -------------
    page = new_phone_page(browser)
    try:
        sign_in(page, live_server.url, "alipay", openid("alipay"))
        start_activation(page)
        expect_skin(page, "alipay")
        walk_to_liveness(page, person)
        pass_liveness(page)
        expect(by_testid(page, "pin-step")).to_have_attribute("data-mode", "existing")
        expect(by_testid(page, "pin-title")).to_have_text("输入已设置的支付密码")
        screenshot(page, "activation-pin-existing-alipay")
        enter_pin(page, STRONG_PIN)
        expect_done(page, "支付宝")
        screenshot(page, "activation-done-alipay")

        by_testid(page, "done-home").click()
        expect_activated_home(page, person)

        # --- 授权管理: two active authorizations, Alipay is the current one ----
        by_testid(page, "link-authorizations").click()
        items = by_testid(page, "auth-item")
        expect(items).to_have_count(2)
        for channel, name in [("wechat", "微信"), ("alipay", "支付宝")]:
            item = page.locator(f"[data-testid='auth-item'][data-channel='{channel}']")
            expect(by_testid(item, "auth-channel")).to_have_text(name)
            expect(by_testid(item, "auth-status")).to_have_text("有效")
            expect(by_testid(item, "auth-created")).to_have_text(re.compile(r"^授权时间 \d{4}-\d\d-\d\d \d\d:\d\d$"))
            expect(by_testid(item, "auth-revoke")).to_be_visible()
        alipay = page.locator("[data-testid='auth-item'][data-channel='alipay']")
        wechat = page.locator("[data-testid='auth-item'][data-channel='wechat']")
        expect(by_testid(alipay, "auth-current")).to_have_text("当前")
        expect(by_testid(wechat, "auth-current")).to_have_count(0)
        screenshot(page, "activation-authorizations-alipay")

        # 解除授权 asks first; 取消 changes nothing; 解除授权 revokes and the list reloads.
        by_testid(wechat, "auth-revoke").click()
        expect(by_testid(page, "confirm-dialog")).to_be_visible()
        expect(by_testid(page, "confirm-title")).to_have_text("解除微信授权？")
        by_testid(page, "confirm-cancel").click()
        expect(by_testid(page, "confirm-dialog")).to_have_count(0)
        expect(by_testid(wechat, "auth-status")).to_have_text("有效")
        by_testid(wechat, "auth-revoke").click()
        by_testid(page, "confirm-ok").click()
        expect(by_testid(page, "confirm-dialog")).to_have_count(0)
        expect(by_testid(wechat, "auth-status")).to_have_text("已解除")
        expect(wechat).to_have_attribute("data-status", "revoked")
        expect(by_testid(wechat, "auth-revoke")).to_have_count(0)
        expect(by_testid(wechat, "auth-revoked-at")).to_be_visible()
        expect(by_testid(alipay, "auth-status")).to_have_text("有效")

        # --- 医保支付为何不可用: everything checks out on Alipay ----------------
        page.go_back()
        expect(by_testid(page, "voucher-card")).to_be_visible()
        by_testid(page, "link-diagnosis").click()
        expect(by_testid(page, "diagnosis-available")).to_have_text("医保支付可用")
        checks = by_testid(page, "diagnosis-checks").locator("[role=listitem]")
        expect(checks.first).to_be_visible()
        assert checks.count() >= 3
        expect(by_testid(page, "diag-check-activated-state")).to_have_text("正常")
        expect(by_testid(page, "diag-check-channel_authorization-title")).to_contain_text("支付宝")
        screenshot(page, "activation-diagnosis-alipay")
        assert page.js_errors == []
    finally:
        page.context.close()


def test_wechat_after_revocation_diagnosis_explains(browser, live_server):
    """After its authorization is revoked (from another channel), WeChat's
    diagnosis says payment is unavailable and why."""
    person = DEMO_PERSONAS["resident"]
    pages = {}
    try:
        for channel in ("wechat", "alipay"):
            page = pages[channel] = new_phone_page(browser)
            sign_in(page, live_server.url, channel, openid(channel))
            start_activation(page)
            walk_to_liveness(page, person)
            pass_liveness(page)
            enter_pin(page, STRONG_PIN)
            if channel == "wechat":
                enter_pin(page, STRONG_PIN)
            expect(by_testid(page, "activation-done")).to_be_visible()

        page = pages["alipay"]
        by_testid(page, "done-authorizations").click()
        wechat = page.locator("[data-testid='auth-item'][data-channel='wechat']")
        by_testid(wechat, "auth-revoke").click()
        by_testid(page, "confirm-ok").click()
        expect(by_testid(wechat, "auth-status")).to_have_text("已解除")

        page = pages["wechat"]
        page.goto(app_url(live_server.url, "wechat", "pages/diagnosis/index"))
        expect(by_testid(page, "diagnosis-available")).to_have_text("医保支付暂不可用")
        expect(by_testid(page, "diag-check-channel_authorization-state")).to_have_text("异常")
        expect(by_testid(page, "diag-check-channel_authorization-advice")).not_to_be_empty()
        # And the home page offers to activate again.
        page.goto(app_url(live_server.url, "wechat"))
        expect(by_testid(page, "home-activate")).to_be_visible()
    finally:
        for page in pages.values():
            page.context.close()


def test_region_not_open_has_its_own_screen(browser, live_server, screenshot):
    person = DEMO_PERSONAS["not_open"]
    page = new_phone_page(browser)
    try:
        sign_in(page, live_server.url, "alipay", openid("alipay"))
        start_activation(page)
        submit_identity(page, person.name, person.id_number)
        expect_error(page, "REGION_NOT_OPEN")
        expect(by_testid(page, "error-advice")).to_contain_text("您的参保地暂未开通医保电子凭证服务")
        expect(by_testid(page, "error-panel")).to_have_attribute("data-inline", "false")
        expect(by_testid(page, "step-identity")).to_have_attribute("data-state", "current")
        screenshot(page, "activation-region-not-open-alipay")
        by_testid(page, "error-action").click()
        expect(by_testid(page, "voucher-not-activated")).to_be_visible()
        assert page.js_errors == []
    finally:
        page.context.close()


def test_face_mismatch_then_a_new_challenge_passes(browser, live_server, screenshot):
    person = DEMO_PERSONAS["elderly"]
    page = new_phone_page(browser)
    try:
        sign_in(page, live_server.url, "wechat", openid("wechat"))
        start_activation(page)
        walk_to_liveness(page, person)
        by_testid(page, "liveness-sim-face-mismatch").click()
        expect_error(page, "LIVENESS_FACE_MISMATCH")
        expect(by_testid(page, "error-advice")).to_contain_text("重新进行人脸识别")
        expect(by_testid(page, "error-action")).to_have_text("重新进行人脸识别")
        screenshot(page, "activation-face-mismatch-wechat")
        by_testid(page, "error-action").click()
        expect(by_testid(page, "liveness-simulator")).to_be_visible()
        pass_liveness(page)
        expect(by_testid(page, "pin-title")).to_have_text("设置支付密码")
    finally:
        page.context.close()


def test_server_refuses_an_invalid_check_digit(browser, live_server):
    """The client checks only length and characters; the server checks the GB 11643 digit."""
    person = DEMO_PERSONAS["employee"]
    wrong = person.id_number[:17] + ("0" if person.id_number[17] != "0" else "1")
    page = new_phone_page(browser)
    try:
        sign_in(page, live_server.url, "wechat", openid("wechat"))
        start_activation(page)
        submit_identity(page, person.name, wrong)
        expect_error(page, "ID_NUMBER_INVALID")
        expect(by_testid(page, "error-panel")).to_have_attribute("data-inline", "true")
        expect(by_testid(page, "real-name-form")).to_be_visible()
    finally:
        page.context.close()
