"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

Never `playwright install`: the browser is the system one. The H5 app must be
built first (`make frontend`, or `cd frontend && npm ci && npm run build:h5`);
Django's live_server serves it at /app/.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
H5_INDEX = REPO / "frontend" / "dist" / "build" / "h5" / "index.html"
SCREENSHOTS = REPO / "var" / "screenshots"
VIEWPORT = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def launch_chromium(extra_args: tuple[str, ...] = ()):
    """Start Debian's Chromium under Playwright; yields the Browser.

    Playwright's sync API runs an asyncio loop in this thread, which makes
    Django's async-safety guard refuse the ORM calls pytest-django makes
    around live_server tests (database flush). Those calls are synchronous
    and legitimate, so the guard is lifted only while the browser exists.
    """
    if not H5_INDEX.is_file():
        pytest.fail(
            f"The H5 build is missing ({H5_INDEX.relative_to(REPO)}). "
            "Build it first: `make frontend` or `cd frontend && npm ci && npm run build:h5`.",
            pytrace=False,
        )
    executable = shutil.which("chromium")
    if not executable:
        pytest.fail("Debian's chromium is not installed (apt-get install chromium); "
                    "never use `playwright install`.", pytrace=False)
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=executable, args=[*CHROMIUM_ARGS, *extra_args])
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module, closed at the end of the module. It has
    no camera: pages that ask for one fall back (e.g. the liveness simulator)."""
    with launch_chromium() as chromium:
        yield chromium


def new_phone_page(browser, **context_options):
    """A fresh phone-sized page (own storage), collecting JS errors in page.js_errors."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=2, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", is_mobile=True, has_touch=True,
                                  **context_options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    return page


@pytest.fixture
def page(browser):
    """A fresh phone-sized page (own storage, so the stored channel does not leak)."""
    page = new_phone_page(browser)
    try:
        yield page
    finally:
        page.context.close()


@pytest.fixture
def screenshot():
    """Save a screenshot under var/screenshots/<name>.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
