"""The H5 home page, as a person on a phone sees it, served by Django at /app/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser]

STATUS_TEXTS = re.compile(r"^(正常|部分降级|不可用)$")
SKINS = {
    # channel: (Chinese name, root class, --c-brand, brand colour as computed)
    "wechat": ("微信", "skin-wechat", "#07c160", "rgb(7, 193, 96)"),
    "alipay": ("支付宝", "skin-alipay", "#1677ff", "rgb(22, 119, 255)"),
    "nhsa": ("国家医保APP", "skin-wechat", "#07c160", "rgb(7, 193, 96)"),
}


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


@pytest.mark.parametrize("channel", ["alipay", "wechat", "nhsa"])
def test_home_shows_channel_skin_and_service_status(page, live_server, screenshot, channel):
    label, root_class, brand, brand_rgb = SKINS[channel]
    open_home(page, live_server, channel)

    expect(page).to_have_title(re.compile("医保电子凭证"))
    expect(by_testid(page, "channel-name")).to_have_text(label)

    skin = root_skin(page)
    assert root_class in skin["classes"], skin
    assert skin["brand"] == brand, skin
    assert skin["bannerBg"] == brand_rgb, skin

    # /readyz answers (200 or 503 depending on which services run here); the
    # status is shown in Chinese either way, with one row per check.
    status = by_testid(page, "service-status")
    expect(status).to_have_text(STATUS_TEXTS)
    expect(by_testid(page, "check-database")).to_contain_text("数据库")
    expect(by_testid(page, "check-database-state")).to_have_text("正常")
    for testid, name in [("check-redis", "缓存"), ("check-core", "结算核心"), ("check-outbox", "同步队列")]:
        expect(by_testid(page, testid)).to_contain_text(name)
        expect(by_testid(page, f"{testid}-state")).to_have_text(re.compile(r"^(正常|异常)$"))
    expect(by_testid(page, "retry")).to_have_count(0)

    shot = screenshot(page, f"home-{channel}")
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


BUTTONS = {
    # channel: (height, border-radius) — WeUI 48px/8px, Ant Design Mini pill
    "wechat": ("48px", "8px"),
    "alipay": ("44px", "999px"),
}


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_network_failure_shows_error_and_retry_recovers(page, live_server, screenshot, channel):
    page.route("**/readyz", lambda route: route.abort("internetdisconnected"))
    open_home(page, live_server, channel)

    error = by_testid(page, "status-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("网络连接失败")
    expect(error).to_have_attribute("role", "alert")
    expect(by_testid(page, "service-status")).to_have_text("无法获取")
    retry = by_testid(page, "retry")
    expect(retry).to_be_visible()
    expect(retry).to_have_text("重试")
    expect(retry).to_have_attribute("aria-label", "重试获取服务状态")
    height, radius = BUTTONS[channel]
    expect(retry).to_have_css("background-color", SKINS[channel][3])
    expect(retry).to_have_css("height", height)
    expect(retry).to_have_css("border-top-left-radius", radius)
    screenshot(page, f"home-network-error-{channel}")

    page.unroute("**/readyz")
    retry.click()
    expect(by_testid(page, "service-status")).to_have_text(STATUS_TEXTS)
    expect(by_testid(page, "check-database-state")).to_have_text("正常")
    expect(error).to_have_count(0)


def test_every_asset_is_served_under_app(page, live_server):
    """The build uses /app/ as its base, so no request escapes it (except the API)."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    open_home(page, live_server, "wechat")
    expect(by_testid(page, "service-status")).to_have_text(STATUS_TEXTS)
    paths = [url.removeprefix(live_server.url) for url in urls if url.startswith(live_server.url)]
    assert paths, urls
    stray = [p for p in paths if not p.startswith("/app/") and p != "/readyz"]
    assert stray == [], stray
