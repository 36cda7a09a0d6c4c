"""Activation UI states the real backend cannot be steered into cheaply —
rate limits, a core outage, a wrong / locked existing PIN, an expired
session — against a scripted API (fake_wallet.py). The real end-to-end
wizard is test_activation_wizard.py; the camera preview is
test_liveness_camera.py."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.frontend.fake_wallet import ID_NUMBER, NAME, FakeWallet, open_wizard
from tests.frontend.ui import by_testid, enter_pin, expect_error, submit_identity

pytestmark = [pytest.mark.browser]

def pass_liveness(page):
    expect(by_testid(page, "liveness-simulator")).to_be_visible()
    by_testid(page, "liveness-sim-pass").click()
    expect(by_testid(page, "pin-pad")).to_be_visible()


@pytest.mark.parametrize(
    ("code", "status", "message", "detail", "advice"),
    [
        ("NOT_ENROLLED", 400, "未查询到您的参保信息", {}, "请确认已参保或联系参保地医保经办机构"),
        ("ENROLMENT_SUSPENDED", 400, "您的参保状态为暂停", {}, "恢复参保后再试"),
        ("TOO_MANY_ATTEMPTS", 429, "操作过于频繁", {"retry_after": 600}, "约10分钟后再试"),
        ("ALREADY_ACTIVATED", 409, "您已在本渠道激活", {}, "返回首页即可使用"),
        ("LOGIN_BOUND_TO_OTHER_PERSON", 409, "该账号已绑定其他参保人", {}, "请使用本人账号登录"),
    ],
)
def test_real_name_refusals_have_their_own_screen(page, live_server, screenshot, code, status, message, detail, advice):
    wallet = FakeWallet()
    wallet.fail("/api/activation/real-name", status, code, message, detail)
    open_wizard(page, live_server, wallet)
    submit_identity(page, NAME, ID_NUMBER)
    expect_error(page, code)
    expect(by_testid(page, "error-message")).to_have_text(message)
    expect(by_testid(page, "error-advice")).to_contain_text(advice)
    expect(by_testid(page, "error-panel")).to_have_attribute("data-inline", "false")
    expect(by_testid(page, "error-action")).to_be_visible()
    if code == "TOO_MANY_ATTEMPTS":
        screenshot(page, "activation-too-many-attempts")
    assert page.js_errors == []


def test_client_side_id_check_and_inline_id_error(page, live_server):
    wallet = FakeWallet()
    open_wizard(page, live_server, wallet)
    submit_identity(page, NAME, "4401001988")
    expect(by_testid(page, "real-name-hint")).to_have_text("身份证号应为18位，当前为10位")
    assert "/api/activation/real-name" not in wallet.paths()

    wallet.fail("/api/activation/real-name", 400, "ID_NUMBER_INVALID", "身份证号校验位不正确")
    submit_identity(page, NAME, "440100198803297801")
    expect_error(page, "ID_NUMBER_INVALID")
    expect(by_testid(page, "error-panel")).to_have_attribute("data-inline", "true")
    # The form is still there, with what was typed: fix it and go on.
    expect(by_testid(page, "real-name-id").locator("input")).to_have_value("440100198803297801")
    submit_identity(page, NAME, ID_NUMBER)
    expect(by_testid(page, "liveness-step")).to_be_visible()
    expect(by_testid(page, "activation-person-id")).to_have_text("440***********780X")


def test_core_outage_offers_retry(page, live_server):
    wallet = FakeWallet()
    wallet.fail("/api/activation/real-name", 503, "CORE_UNAVAILABLE", "医保信息系统暂时无法连接")
    open_wizard(page, live_server, wallet)
    submit_identity(page, NAME, ID_NUMBER)
    expect_error(page, "CORE_UNAVAILABLE")
    expect(by_testid(page, "error-action")).to_have_text("重试")
    by_testid(page, "error-action").click()
    expect(by_testid(page, "liveness-step")).to_be_visible()
    assert wallet.paths().count("/api/activation/real-name") == 2


def test_liveness_actions_are_shown_in_chinese(page, live_server):
    wallet = FakeWallet(actions=["open_mouth", "blink", "raise_eyebrows"])
    open_wizard(page, live_server, wallet)
    submit_identity(page, NAME, ID_NUMBER)
    expect(by_testid(page, "step-liveness")).to_have_attribute("data-state", "current")
    expect(by_testid(page, "liveness-action-0")).to_contain_text("张张嘴")
    expect(by_testid(page, "liveness-action-1")).to_contain_text("眨眨眼")
    expect(by_testid(page, "liveness-action-2")).to_contain_text("按提示完成动作")
    expect(by_testid(page, "liveness-expiry")).to_have_text(re.compile(r"请在 \d:\d\d 内完成"))
    # No camera in this browser: the simulator screen, never a frame upload.
    expect(by_testid(page, "liveness-step")).to_have_attribute("data-mode", "simulator")


def test_liveness_not_live_then_retry_with_a_new_challenge(page, live_server):
    wallet = FakeWallet()
    open_wizard(page, live_server, wallet)
    submit_identity(page, NAME, ID_NUMBER)
    by_testid(page, "liveness-sim-not-live").click()
    expect_error(page, "LIVENESS_NOT_LIVE")
    expect(by_testid(page, "error-action")).to_have_text("重新进行人脸识别")
    by_testid(page, "error-action").click()
    pass_liveness(page)
    starts = [p for p in wallet.paths() if p == "/api/activation/liveness/start"]
    assert len(starts) == 2
    sim_calls = [body for method, path, body in wallet.calls if path.startswith("/liveness-sim/")]
    assert sim_calls == [{"outcome": "not_live"}, {"outcome": "pass"}]


def test_new_pin_mismatch_is_caught_locally(page, live_server):
    wallet = FakeWallet()
    open_wizard(page, live_server, wallet)
    submit_identity(page, NAME, ID_NUMBER)
    pass_liveness(page)
    expect(by_testid(page, "pin-title")).to_have_text("设置支付密码")
    enter_pin(page, "258036")
    expect(by_testid(page, "pin-title")).to_have_text("再次输入")
    enter_pin(page, "258037")
    expect_error(page, "PIN_CONFIRM_MISMATCH")
    expect(by_testid(page, "pin-title")).to_have_text("设置支付密码")
    assert "/api/activation/pin" not in wallet.paths()
    enter_pin(page, "258036")
    enter_pin(page, "258036")
    expect(by_testid(page, "activation-done")).to_be_visible()
    pin_call = [body for _, path, body in wallet.calls if path == "/api/activation/pin"][-1]
    assert pin_call == {"activation_id": "act-1", "pin": "258036", "pin_confirm": "258036"}


def test_existing_pin_incorrect_then_locked(page, live_server, screenshot):
    wallet = FakeWallet(pin_mode="existing")
    wallet.fail("/api/activation/pin", 400, "PIN_INCORRECT", "支付密码错误", {"tries_left": 4})
    wallet.fail("/api/activation/pin", 423, "PIN_LOCKED", "支付密码已锁定",
                {"locked_until": "2026-01-05T10:30:00+08:00"})
    open_wizard(page, live_server, wallet, channel="alipay")
    submit_identity(page, NAME, ID_NUMBER)
    pass_liveness(page)
    expect(by_testid(page, "pin-title")).to_have_text("输入已设置的支付密码")
    enter_pin(page, "111222")
    expect_error(page, "PIN_INCORRECT")
    expect(by_testid(page, "error-advice")).to_contain_text("还可以尝试 4 次")
    expect(by_testid(page, "pin-boxes")).to_have_attribute("data-filled", "0")
    screenshot(page, "activation-pin-incorrect-alipay")
    enter_pin(page, "111333")
    expect_error(page, "PIN_LOCKED")
    advice = by_testid(page, "error-advice")
    expect(advice).to_contain_text("锁定至 2026-01-05 10:30")
    expect(advice).to_contain_text("12393")  # help, not a PIN reset that does not exist yet
    expect(advice).not_to_contain_text("找回")
    expect(advice).to_contain_text("医保服务热线")
    expect(by_testid(page, "pin-pad")).to_have_count(0)
    screenshot(page, "activation-pin-locked-alipay")
    pin_calls = [body for _, path, body in wallet.calls if path == "/api/activation/pin"]
    assert pin_calls == [{"activation_id": "act-1", "pin": "111222"}, {"activation_id": "act-1", "pin": "111333"}]


def test_expired_session_goes_to_sign_in(page, live_server):
    wallet = FakeWallet()
    open_wizard(page, live_server, wallet)
    wallet.fail("/api/activation/real-name", 401, "UNAUTHENTICATED", "登录已失效")
    wallet.fail("/api/auth/refresh", 401, "UNAUTHENTICATED", "登录已失效")
    submit_identity(page, NAME, ID_NUMBER)
    expect(by_testid(page, "login-page")).to_be_visible()
    expect(by_testid(page, "login-expired")).to_have_text("登录已失效，请重新登录")
    assert "/api/auth/refresh" in wallet.paths()


def test_token_is_refreshed_once_and_the_request_retried(page, live_server):
    wallet = FakeWallet()
    open_wizard(page, live_server, wallet)
    wallet.fail("/api/activation/real-name", 401, "UNAUTHENTICATED", "登录已失效")
    submit_identity(page, NAME, ID_NUMBER)
    expect(by_testid(page, "liveness-step")).to_be_visible()
    assert wallet.paths().count("/api/auth/refresh") == 1
