"""An approver in a real browser: the request in App Home, then Approve in their DM."""

from __future__ import annotations

from bot.demo import Demo
from slack_emulator import EMULATOR
from tests.e2e.test_browser import SCREENSHOTS, _browser_or_skip, page_at
from tests.e2e.test_demo_approvals import FRAN, PAT, request_approval


async def test_an_approver_sees_the_request_at_home_and_approves_in_their_dm(demo: Demo) -> None:
    _browser_or_skip()
    from playwright.async_api import expect

    await request_approval(demo.slack[EMULATOR], PAT, "INV-24-0105", note="New servers")
    async with page_at(f"{demo.slack_url}/?user={FRAN}", 1200) as page:
        await page.get_by_role("button", name="invoicebot · Home").click()
        await expect(page.get_by_text("Waiting for your approval")).to_be_visible(timeout=15_000)
        await expect(page.get_by_text("INV-24-0105").first).to_be_visible()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "approvals-home.png"), full_page=True)

        await page.get_by_role("button", name="invoicebot (DM)").click()
        request = page.locator(".message", has_text="Approval requested")
        await expect(request).to_contain_text("€6,025.80")
        await expect(request).to_contain_text("New servers")
        await request.get_by_role("button", name="Approve").click()
        await expect(request).to_contain_text("You approved this request", timeout=10_000)
        await expect(request.get_by_role("button", name="Approve")).to_have_count(0)
        await expect(request).to_contain_text("1 of 2")
        await page.screenshot(path=str(SCREENSHOTS / "approval-dm.png"), full_page=True)
