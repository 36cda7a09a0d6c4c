"""Small helpers for driving the H5 app by its data-testid hooks.

uni components are custom elements without roles (`uni-button` is no
button, `uni-input` wraps the real `<input>`), so tests address elements by
`data-testid` (listed in docs/subsystems/frontend.md).
"""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect


def by_testid(page: Page | Locator, testid: str) -> Locator:
    return page.locator(f"[data-testid='{testid}']")


def app_url(base: str, channel: str | None = None, route: str = "") -> str:
    """`/app/?channel=x#/pages/...`: the channel before the hash, the route after it."""
    query = f"?channel={channel}" if channel else ""
    fragment = f"#/{route.lstrip('/')}" if route else ""
    return f"{base}/app/{query}{fragment}"


# uni-app's H5 <input>/<textarea> hands the page at most one input event per
# 100 ms and delivers a later one only when that window ends. A field typed into
# again within the window shows the new text at once, but the page's model gets
# it up to 100 ms later: a tap in between validates the old text. A refill
# therefore waits the window out before it types.
UNI_INPUT_THROTTLE_MS = 100


def fill_field(field: Locator, value: str) -> None:
    """Type `value` into a real <input> or <textarea>, so that the page's model has it."""
    if field.input_value():
        field.page.wait_for_timeout(UNI_INPUT_THROTTLE_MS + 20)
    field.fill(value)
    expect(field).to_have_value(value)


def fill_input(page: Page, testid: str, value: str) -> None:
    """Fill the real <input> inside a uni-input carrying `testid`."""
    fill_field(by_testid(page, testid).locator("input"), value)


def sign_in(page: Page, base: str, channel: str, openid: str) -> None:
    """The demo sign-in (stands in for the channel's OAuth), ending on the home page."""
    page.goto(app_url(base, channel, "pages/login/index"))
    expect(by_testid(page, f"login-channel-{channel}")).to_have_attribute("aria-checked", "true")
    fill_input(page, "login-openid", openid)
    by_testid(page, "login-submit").click()
    expect(by_testid(page, "voucher-not-activated").or_(by_testid(page, "voucher-card"))).to_be_visible()


def start_activation(page: Page) -> None:
    by_testid(page, "home-activate").click()
    expect(by_testid(page, "real-name-form")).to_be_visible()
    expect(by_testid(page, "step-identity")).to_have_attribute("data-state", "current")


def submit_identity(page: Page, name: str, id_number: str) -> None:
    fill_input(page, "real-name-name", name)
    fill_input(page, "real-name-id", id_number)
    by_testid(page, "real-name-submit").click()


def enter_pin(page: Page, digits: str) -> None:
    for digit in digits:
        by_testid(page, f"pin-key-{digit}").click()


def expect_error(page: Page, code: str) -> Locator:
    panel = by_testid(page, "error-panel")
    expect(by_testid(page, "error-code")).to_have_text(code)
    expect(panel).to_have_attribute("role", "alert")
    expect(by_testid(page, "error-message")).not_to_be_empty()
    expect(by_testid(page, "error-advice")).not_to_be_empty()
    return panel


# --- code page and POS (test_code_and_pos.py, test_pay_with_confirmation.py) -------------

POS_VIEWPORT = {"width": 1280, "height": 800}


def add_line(pos: Page, code: str, price: str, quantity: str) -> None:
    """On the POS page: find `code` in the catalogue, add it, set its price and quantity."""
    fill_input(pos, "pos-catalogue-search", code)
    pos.locator(f"[data-testid='pos-catalogue-item'][data-code='{code}']").click()
    line = pos.locator(f"[data-testid='pos-line'][data-code='{code}']")
    expect(line).to_be_visible()
    fill_field(line.locator("[data-testid='pos-line-price'] input"), price)
    fill_field(line.locator("[data-testid='pos-line-qty'] input"), quantity)


def fill_textarea(page: Page, testid: str, value: str) -> None:
    """Fill the real <textarea> inside a uni-textarea carrying `testid`."""
    fill_field(by_testid(page, testid).locator("textarea"), value)


def activated_person_on_code_page(page: Page, base: str, person, pin: str, channel: str = "wechat") -> str:
    """Sign in through the UI, activate the same login through the API (saves
    the wizard's time; the wizard has its own tests), open 出示医保码.
    Returns the openid."""
    import uuid

    from tests.support.app import AppClient
    from tests.support.http import LiveClient

    openid = f"demo-code-{uuid.uuid4().hex[:10]}"
    sign_in(page, base, channel, openid)
    AppClient(LiveClient(base), channel, openid).login().activate(person, pin=pin)
    page.goto(app_url(base, channel, "pages/home/index"))
    expect(by_testid(page, "voucher-card")).to_be_visible()
    by_testid(page, "home-show-code").click()
    expect(by_testid(page, "code-page")).to_be_visible()
    return openid


def shown_code(page: Page) -> str:
    """The code the phone shows now (its digits, spaces removed), once the
    QR and barcode of that very code are on screen."""
    # Read the three in one evaluation in the page: reading them one after
    # another races the rotation (the digits of code N, then a QR already
    # showing code N+1 that will never again show N).
    handle = page.wait_for_function(
        """() => {
            const get = (id) => document.querySelector(`[data-testid='${id}']`);
            const digits = get("code-digits"), qr = get("code-qr"), bar = get("code-barcode");
            if (!digits || !qr || !bar) return null;
            const code = digits.getAttribute("data-code");
            if (!code || qr.getAttribute("data-code") !== code || bar.getAttribute("data-code") !== code) return null;
            return {code, text: digits.innerText.replace(/ /g, "")};
        }"""
    )
    shown = handle.json_value()
    assert shown["text"] == shown["code"]
    return shown["code"]


def new_pos_page(browser):
    context = browser.new_context(viewport=POS_VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    return page


def pos_sign_in_demo(page: Page, base: str, person=None) -> None:
    """Sign the POS page in as a demo pharmacy — for ``person``, one in their
    own region or province (tests.support.pos.pharmacy_for: elsewhere a bill
    needs a cross-province filing), chosen from the page's demo list."""
    from tests.support.pos import pharmacy_for

    page.goto(app_url(base, None, "pages-staff/pos/index"))
    if person is not None:
        code = pharmacy_for(person).fixmedins_code
        by_testid(page, "pos-demo-choose").click()
        page.locator(f"[data-testid='pos-demo-option'][data-code='{code}']").click()
        expect(by_testid(page, "pos-demo-chosen")).to_have_attribute("data-code", code)
    by_testid(page, "pos-use-demo").click()
    expect(by_testid(page, "pos-sign-no")).not_to_have_text("未签到")
    expect(by_testid(page, "pos-qr-input")).to_be_visible()


def pos_decode(page: Page, code: str) -> None:
    fill_textarea(page, "pos-qr-input", code)
    by_testid(page, "pos-decode").click()
