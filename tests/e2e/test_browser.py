"""A person in a real browser: the demo's local Slack, the pay page, the sandbox, #billing.

Headless Chromium from the system (Debian's `chromium`), driven by Playwright; it saves
screenshots (tests/artifacts/): of #billing, of which the README shows a copy, and of how
the emulator draws Slack's text.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.demo import Demo
from slack_emulator import ManualClock, create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_or_skip() -> None:
    missing = []
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package")
    if not Path(CHROMIUM).exists():
        missing.append(f"Chromium at {CHROMIUM} (Debian package `chromium`)")
    if missing:
        reason = "browser test needs " + " and ".join(missing) + "; .ci/run installs them"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


async def test_a_payer_pays_in_a_real_browser(demo: Demo) -> None:
    _browser_or_skip()
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = await browser.new_context(viewport={"width": 1280, "height": 860})
        page = await context.new_page()
        await page.goto(f"{demo.slack_url}/?user=U0PAYER")
        await page.fill("#input", "/invoices i3d")
        await page.press("#input", "Enter")
        row = page.locator(".block.section", has_text="INV-24-0101")
        await row.get_by_role("button", name="Pay").click()
        await page.get_by_label("Choose how to pay").select_option("10")
        await page.get_by_label("Choose your bank").select_option("INGBNL2A")
        await page.get_by_role("button", name="Get payment link").click()
        dialog = page.get_by_role("alertdialog")
        await expect(dialog).to_contain_text("iDEAL (ING)")
        await dialog.get_by_role("button", name="Get link").click()

        async with context.expect_page() as opened:
            await page.get_by_role("button", name="Open payment page").click()
        payment = await opened.value
        await payment.get_by_role("button", name="Pay").click()
        await expect(payment.locator("h1")).to_have_text("Invoice paid")

        await page.get_by_role("button", name="#billing").click()
        confirmation = page.locator(".message", has_text="paid i3D.net invoice INV-24-0101")
        await expect(confirmation).to_have_count(1)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "billing-confirmation.png"))
        await browser.close()


# Wednesday 2 December 2026, 04:45 UTC; the emulator's users live in Amsterdam (05:45).
DUE = 1796186700
HOSTILE = "&lt;img src=x onerror=window.pwned=1&gt; <img src=x onerror=window.pwned=1>"


async def test_the_page_draws_slack_text_as_slack_does() -> None:
    _browser_or_skip()
    from playwright.async_api import async_playwright, expect

    clock = ManualClock(DUE + 3 * 3600)
    app = create_app(
        request_url="http://127.0.0.1:9/slack/events",
        signing_secret="browser-test-secret",
        bot_token="xoxb-browser-test",
        clock=clock,
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        slack = AsyncWebClient(token="xoxb-browser-test", base_url=str(server.make_url("/api/")))
        line = (
            f":red_circle: due <!date^{DUE}^{{date_short_pretty}} at {{time}}|2026-12-02 04:45 UTC>"
        )
        await slack.chat_postMessage(
            channel="C0GENERAL",
            text=f"{line}, pay at https://pay.test/inv/1. {HOSTILE}",
        )
        await slack.chat_postMessage(
            channel="C0GENERAL",
            text="INV-1 is due",
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*INV-1* {line}"}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": f"_{HOSTILE}_"}]},
            ],
        )
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = await browser.new_page(viewport={"width": 1000, "height": 420})
            await page.goto(f"{server.make_url('/')}?user=U0PAYER")
            plain, rich = page.locator(".message").nth(0), page.locator(".message").nth(1)
            await expect(plain).to_contain_text(
                "🔴 due Today at 5:45 AM, pay at https://pay.test/inv/1."
            )
            await expect(rich).to_contain_text("INV-1 🔴 due Today at 5:45 AM")
            for message in (plain, rich):
                await expect(message).not_to_contain_text(":red_circle:")
                await expect(message).not_to_contain_text("2026-12-02 04:45 UTC")
                await expect(message.locator(".mention")).to_have_count(0)
                await expect(message).to_contain_text("<img src=x onerror=window.pwned=1>")
                await expect(message.locator("img")).to_have_count(0)
            link = plain.get_by_role("link", name="https://pay.test/inv/1")
            await expect(link).to_have_attribute("href", "https://pay.test/inv/1")
            await expect(rich.locator("b")).to_have_text("INV-1")
            assert await page.evaluate("window.pwned") is None
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / "emulator-text.png"))
            # As Slack shows a channel: a reply sits in its thread, under the first message.
            clock.advance(2)  # past the channel's one message a second
            request = await slack.chat_postMessage(channel="C0GENERAL", text="Approve INV-2?")
            clock.advance(2)
            await slack.chat_postMessage(
                channel="C0GENERAL", text="Approved (1 of 2).", thread_ts=request["ts"]
            )
            await page.reload()
            thread = page.locator(".thread")
            await expect(thread).to_have_count(1)
            await expect(thread).to_contain_text("1 reply")
            await expect(thread.locator(".message")).to_contain_text("Approved (1 of 2).")
            await expect(page.locator("#messages > .message")).to_have_count(3)
            await browser.close()
    finally:
        await server.close()


@asynccontextmanager
async def page_at(url: str, height: int) -> AsyncIterator[Any]:
    """A Chromium page 1280 pixels wide, opened at `url`, closed afterwards."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = await browser.new_context(viewport={"width": 1280, "height": height})
        page = await context.new_page()
        await page.goto(url)
        try:
            yield page
        finally:
            await browser.close()


async def test_app_home_in_a_real_browser(demo: Demo) -> None:
    _browser_or_skip()
    from playwright.async_api import expect

    async with page_at(f"{demo.slack_url}/?user=U0PAYER", 1400) as page:
        await page.get_by_role("button", name="invoicebot · Home").click()
        await expect(page.get_by_text("Due this week")).to_be_visible(timeout=15_000)
        await expect(page.get_by_text("To collect")).to_be_visible()
        await expect(page.get_by_role("button", name="Pay").first).to_be_visible()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "app-home.png"), full_page=True)
