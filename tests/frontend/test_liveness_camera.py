"""The liveness step with a camera: Chromium's fake capture device stands in
for the phone's front camera. The preview is local only; the result still
comes from the provider (the simulator answers "pass" after the prompts)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import launch_chromium, new_phone_page
from tests.frontend.fake_wallet import FakeWallet
from tests.frontend.fake_wallet import ID_NUMBER, NAME, open_wizard
from tests.frontend.ui import by_testid, expect_error, submit_identity

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def browser():
    """This module's Chromium has a fake camera (a test pattern). One
    Playwright per module: the sync API allows one per thread."""
    with launch_chromium(("--use-fake-device-for-media-stream",)) as chromium:
        yield chromium


@pytest.fixture
def camera_page(browser):
    """A phone page that was granted the camera."""
    page = new_phone_page(browser, permissions=["camera"])
    try:
        yield page
    finally:
        page.context.close()


def test_camera_preview_prompts_the_actions_then_passes(camera_page, live_server, screenshot):
    page = camera_page
    wallet = FakeWallet(actions=["blink", "open_mouth"])
    open_wizard(page, live_server, wallet)
    submit_identity(page, NAME, ID_NUMBER)
    step = by_testid(page, "liveness-step")
    expect(step).to_have_attribute("data-mode", "camera")
    expect(by_testid(page, "liveness-video")).to_have_count(1)
    expect(by_testid(page, "liveness-prompt")).to_contain_text("请眨眨眼")
    screenshot(page, "activation-liveness-camera")
    expect(by_testid(page, "liveness-prompt")).to_contain_text("请张张嘴")
    expect(by_testid(page, "pin-pad")).to_be_visible(timeout=10_000)
    sim_calls = [body for _, path, body in wallet.calls if path.startswith("/liveness-sim/")]
    assert sim_calls == [{"outcome": "pass"}]
    # The camera is released once the step is done.
    assert page.evaluate("() => document.querySelectorAll('video').length") == 0
    assert page.js_errors == []


def test_camera_mode_can_switch_to_the_simulator(camera_page, live_server):
    page = camera_page
    wallet = FakeWallet()
    open_wizard(page, live_server, wallet)
    submit_identity(page, NAME, ID_NUMBER)
    expect(by_testid(page, "liveness-step")).to_have_attribute("data-mode", "camera")
    by_testid(page, "liveness-use-simulator").click()
    expect(by_testid(page, "liveness-simulator")).to_be_visible()
    by_testid(page, "liveness-sim-face-mismatch").click()
    expect_error(page, "LIVENESS_FACE_MISMATCH")
