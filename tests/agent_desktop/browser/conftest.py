"""Browser tests: Debian's chromium driven by Playwright against a whole running service.

The service and the PJSIP library are the end-to-end suite's fixtures (tests/e2e/conftest.py),
loaded from there rather than copied. Never ``playwright install``: the browser is the
system's /usr/bin/chromium.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

E2E = Path(__file__).resolve().parents[2] / "e2e"
sys.path.insert(0, str(E2E))
_spec = importlib.util.spec_from_file_location("hotline_e2e_conftest", E2E / "conftest.py")
assert _spec is not None and _spec.loader is not None
e2e = importlib.util.module_from_spec(_spec)
sys.modules["hotline_e2e_conftest"] = e2e
_spec.loader.exec_module(e2e)

pjsua = e2e.pjsua
service = e2e.service
sip_port = e2e.sip_port
# Frees each test's PJSUA accounts: the library has 8 slots for the whole session.
_shutdown_phones = e2e._shutdown_phones

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREEN = {"width": 1366, "height": 768}
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


async def new_page(browser: Browser, base: str) -> Page:
    """A fresh browser profile (own cookies) at 1366×768 showing ``base``."""
    context = await browser.new_context(viewport=SCREEN, locale="zh-CN", base_url=base)
    page = await context.new_page()
    return page


async def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path))
    return path


NEW_PASSWORDS = {
    "1001": "Quiet-River-Lantern-42",
    "1002": "Silver-Canyon-Echo-58",
    "boss": "Maple-Drift-Beacon-16",
    "lead-a": "Harbor-Violet-Summit-31",
    "night": "Copper-Meadow-Tundra-77",
    "qa-lin": "Juniper-Falcon-Harbor-84",
}


async def log_in(page: Page, username: str, initial: str, *, shot: str | None = None) -> str:
    """Log in through the page, going through the forced password change (SPEC-R3).

    Returns the new password (the same one becomes the agent's SIP password)."""
    await page.goto("/")
    await page.locator("#login-user").fill(username)
    await page.locator("#login-pass").fill(initial)
    if shot:
        await screenshot(page, shot)
    await page.locator("#login-form button[type=submit]").click()
    await page.locator("#password-form").wait_for(state="visible")
    new = NEW_PASSWORDS[username]
    await page.locator("#pw-new").fill(new)
    await page.locator("#pw-repeat").fill(new)
    await page.locator("#password-form button[type=submit]").click()
    return new
