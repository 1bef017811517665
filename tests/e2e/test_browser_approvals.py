"""Approvals in a real browser: an approver sees the request in App Home and approves in
their DM; an admin changes the brackets in the settings dialog."""

from __future__ import annotations

from bot.demo import Demo
from slack_emulator import EMULATOR
from tests.e2e.test_browser import SCREENSHOTS, _browser_or_skip, page_at
from tests.e2e.test_demo_approvals import ALEX, FRAN, PAT, request_approval


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


async def test_an_admin_adds_a_bracket_in_the_settings_dialog_and_what_was_typed_stays(
    demo: Demo,
) -> None:
    _browser_or_skip()
    from playwright.async_api import expect

    async with page_at(f"{demo.slack_url}/?user={ALEX}", 1200) as page:
        await page.get_by_role("button", name="invoicebot · Home").click()
        await page.get_by_role("button", name="Approval settings").click()
        dialog = page.get_by_role("dialog")
        await expect(dialog).to_contain_text("Bracket 2", timeout=10_000)
        amounts = dialog.locator(".input-block", has_text="From amount").locator("input")
        await expect(amounts).to_have_count(2)
        await expect(amounts.nth(0)).to_have_value("500")
        await amounts.nth(0).fill("lots")

        await dialog.get_by_role("button", name="Add a bracket").click()
        await expect(dialog).to_contain_text("Bracket 3", timeout=10_000)
        await expect(amounts).to_have_count(3)
        await expect(amounts.nth(0)).to_have_value("lots")
        await amounts.nth(2).fill("100")
        needed = dialog.locator(".input-block", has_text="Approvals needed").locator("select")
        await needed.nth(2).select_option("1")
        people = dialog.locator(".input-block", has_text="Who may approve").locator("select")
        await people.nth(2).select_option([FRAN])

        await dialog.get_by_role("button", name="Save").click()
        problem = dialog.locator(".input-block", has_text="From amount").first
        await expect(problem.get_by_role("alert")).to_be_visible(timeout=10_000)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "approval-settings.png"), full_page=True)

        await amounts.nth(0).fill("500")
        await dialog.get_by_role("button", name="Save").click()
        await expect(dialog).to_contain_text("Saved", timeout=10_000)
        await expect(dialog).to_contain_text("€100.00 and above need one approval (@Fran Finance)")
