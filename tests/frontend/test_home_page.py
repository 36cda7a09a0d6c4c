"""The H5 home page, as a person on a phone sees it, served by Django at /app/:
what the national app shows (the voucher card with the masked name and the
status, 出示医保码, the balance, the records, and 亲情账户 / 异地就医备案 /
支付密码 → the security page), in both skins. The
operators' readiness checks are not on it (they are on /staff/sync/)."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from common.demodata import DEMO_PERSONAS
from tests.frontend.ui import app_url, sign_in

pytestmark = [pytest.mark.browser]

SKINS = {
    # channel: (Chinese name, root class, --c-brand, brand colour as computed)
    "wechat": ("微信", "skin-wechat", "#07c160", "rgb(7, 193, 96)"),
    "alipay": ("支付宝", "skin-alipay", "#1677ff", "rgb(22, 119, 255)"),
    "nhsa": ("国家医保APP", "skin-wechat", "#07c160", "rgb(7, 193, 96)"),
}
BUTTONS = {
    # channel: (height, border-radius) — WeUI 48px/8px, Ant Design Mini pill
    "wechat": ("48px", "8px"),
    "alipay": ("44px", "999px"),
}
READINESS_HOOKS = ["service-status", "check-list", "check-database", "status-error", "retry"]
SOON: dict[str, str] = {}  # every service has landed (支付密码: issue #15)


def by_testid(page, testid: str):
    return page.locator(f"[data-testid='{testid}']")


def root_skin(page) -> dict:
    return page.evaluate(
        """() => {
            const root = document.documentElement
            const banner = document.querySelector("[data-testid='brand-banner']")
            return {
                classes: Array.from(root.classList),
                brand: getComputedStyle(root).getPropertyValue('--c-brand').trim().toLowerCase(),
                pageBg: getComputedStyle(root).getPropertyValue('--c-bg-page').trim().toLowerCase(),
                bannerBg: getComputedStyle(banner).backgroundColor,
            }
        }"""
    )


def open_home(page, live_server, channel: str | None):
    query = f"?channel={channel}" if channel else ""
    page.goto(f"{live_server.url}/app/{query}")
    expect(by_testid(page, "brand-banner")).to_be_visible()


def expect_no_readiness(page) -> None:
    for testid in READINESS_HOOKS:
        expect(by_testid(page, testid)).to_have_count(0)
    expect(page.get_by_text("服务状态")).to_have_count(0)
    expect(page.get_by_text("各项检查")).to_have_count(0)


@pytest.mark.parametrize("channel", ["alipay", "wechat", "nhsa"])
def test_signed_out_home_shows_channel_and_skin_without_readiness(page, live_server, screenshot, channel):
    label, root_class, brand, brand_rgb = SKINS[channel]
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    open_home(page, live_server, channel)

    expect(page).to_have_title(re.compile("医保电子凭证"))
    expect(by_testid(page, "channel-name")).to_have_text(label)
    expect(by_testid(page, "voucher-signed-out")).to_contain_text("登录后即可激活和使用医保电子凭证")

    skin = root_skin(page)
    assert root_class in skin["classes"], skin
    assert skin["brand"] == brand, skin
    assert skin["bannerBg"] == brand_rgb, skin

    expect_no_readiness(page)
    assert not [url for url in requests if "/readyz" in url], requests

    shot = screenshot(page, f"home-signed-out-{channel}")
    assert shot.stat().st_size > 10_000
    assert page.js_errors == []


def test_channel_is_remembered_without_query(page, live_server):
    open_home(page, live_server, "alipay")
    expect(by_testid(page, "channel-name")).to_have_text("支付宝")
    open_home(page, live_server, None)
    expect(by_testid(page, "channel-name")).to_have_text("支付宝")
    assert "skin-alipay" in root_skin(page)["classes"]


def test_default_channel_is_wechat(page, live_server):
    open_home(page, live_server, None)
    expect(by_testid(page, "channel-name")).to_have_text("微信")
    assert "skin-wechat" in root_skin(page)["classes"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("core_url")
@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_activated_home_shows_what_the_national_app_shows(page, live_server, screenshot, channel):
    from tests.support.app import AppClient
    from tests.support.http import LiveClient

    person = DEMO_PERSONAS["employee"]
    openid = f"demo-home-{uuid.uuid4().hex[:10]}"
    sign_in(page, live_server.url, channel, openid)
    AppClient(LiveClient(live_server.url), channel, openid).login().activate(person, pin="258036")
    page.goto(app_url(live_server.url, channel, "pages/home/index"))

    card = by_testid(page, "voucher-card")
    expect(card).to_be_visible()
    # The voucher card: the name masked but for its last character, the masked ID, the status.
    expect(by_testid(page, "person-name")).to_have_text("*" * (len(person.name) - 1) + person.name[-1])
    expect(card).not_to_contain_text(person.name)
    expect(by_testid(page, "person-id")).to_have_text(re.compile(r"^\d{3}\*+[\dX]{4}$"))
    expect(by_testid(page, "voucher-status")).to_have_text("已激活")
    expect(by_testid(page, "voucher-status")).to_have_attribute("data-status", "active")

    # 出示医保码: the skin's primary button.
    show = by_testid(page, "home-show-code")
    expect(show).to_have_text("出示医保码")
    height, radius = BUTTONS[channel]
    expect(show).to_have_css("background-color", SKINS[channel][3])
    expect(show).to_have_css("height", height)
    expect(show).to_have_css("border-top-left-radius", radius)

    # The balance, from the core through the wallet.
    expect(by_testid(page, "home-balance")).to_have_text(re.compile(r"^\d+\.\d{2}$"))
    expect(by_testid(page, "home-balance-as-of")).to_contain_text("更新于")

    # The service grid: every entry opens its pages.
    records = by_testid(page, "link-records")
    expect(records).to_have_attribute("data-status", "open")
    expect(records).to_have_attribute("role", "link")
    family = by_testid(page, "entry-family")  # 亲情账户 (issue #13)
    expect(family).to_have_attribute("data-status", "open")
    expect(family).to_have_attribute("role", "link")
    filing = by_testid(page, "entry-filing")  # 异地就医备案 (issue #14)
    expect(filing).to_have_attribute("data-status", "open")
    expect(filing).to_have_attribute("role", "link")
    pin = by_testid(page, "entry-pin")  # 支付密码 (issue #15)
    expect(pin).to_have_attribute("data-status", "open")
    expect(pin).to_have_attribute("role", "link")
    for testid, label in SOON.items():
        entry = by_testid(page, testid)
        expect(entry).to_contain_text(label)
        expect(entry).to_have_attribute("data-status", "soon")
        expect(entry).to_have_attribute("aria-disabled", "true")
        expect(entry).not_to_have_attribute("role", "link")
        expect(by_testid(page, f"{testid}-soon")).to_have_text("即将开放")
    expect(by_testid(page, "link-authorizations")).to_be_visible()
    expect(by_testid(page, "link-diagnosis")).to_be_visible()
    expect_no_readiness(page)
    shot = screenshot(page, f"home-activated-{channel}")
    assert shot.stat().st_size > 10_000

    # 支付密码 opens the security page; the records entry opens the records.
    pin.click()
    expect(by_testid(page, "security-page")).to_be_visible()
    expect(by_testid(page, "security-status")).to_have_attribute("data-status", "active")
    page.go_back()
    expect(card).to_be_visible()
    records.click()
    expect(by_testid(page, "records-page")).to_be_visible()
    page.go_back()
    by_testid(page, "home-show-code").click()
    expect(by_testid(page, "code-page")).to_be_visible()
    assert page.js_errors == []


def test_every_asset_is_served_under_app(page, live_server):
    """The build uses /app/ as its base, so no request escapes it (except the API)."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    open_home(page, live_server, "wechat")
    expect(by_testid(page, "channel-name")).to_have_text("微信")
    paths = [url.removeprefix(live_server.url) for url in urls if url.startswith(live_server.url)]
    assert paths, urls
    stray = [p for p in paths if not p.startswith("/app/")]
    assert stray == [], stray
