"""Send by e-mail after the invoice's amount changed, while a customer's link made for the
old amount is out: the e-mail asks the new amount, and the link must not go on asking
the old one (its page would charge it, and the invoice would be recorded paid for less)."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.checkout import CheckoutRefused
from bot.models import Money, PaymentState
from bot.web import SERVICES
from plugins.payfirma.sandbox import SandboxState
from tests.payfirma.test_payfirma_core import TEAM, bot, copy_link, reprice

__all__ = ["bot"]


async def send(bot: TestServer, total: str) -> object:
    return await bot.app[SERVICES].checkout.send_by_email(
        team_id=TEAM,
        user_id="U0OTHER",
        provider="payfirma",
        invoice_id="212948",
        to=None,
        expected=Money.of(total, "CAD"),
    )


async def test_an_unopened_link_for_the_old_amount_is_withdrawn_when_the_new_is_emailed(
    bot: TestServer, sandbox: SandboxState
) -> None:
    link = await copy_link(bot, "U0PAYER")
    reprice(sandbox, 212948, "151.00")
    await send(bot, "151.00")
    assert len(sandbox.emails) == 1
    old = bot.app[SERVICES].store.payment(link.payment.id)
    assert old is not None and old.state is PaymentState.CANCELLED
    assert "changed to CA$151.00" in (old.last_error or "")
    async with (
        aiohttp.ClientSession() as browser,
        browser.get(link.pay_url, allow_redirects=False) as page,
    ):
        assert page.status == 410, "the old link no longer reaches Payfirma's page"


async def test_an_opened_link_for_the_old_amount_holds_the_email_back(
    bot: TestServer, sandbox: SandboxState
) -> None:
    """Its page may be taking the old amount right now: an e-mail asking the new one
    could have the customer pay twice. Nothing is sent, and the person is told why."""
    link = await copy_link(bot, "U0PAYER")
    async with (
        aiohttp.ClientSession() as browser,
        browser.get(link.pay_url, allow_redirects=False) as page,
    ):
        assert page.status == 303  # the customer is on Payfirma's page
    reprice(sandbox, 212948, "151.00")
    with pytest.raises(CheckoutRefused, match=r"changed from CA\$57.75 to CA\$151.00") as refused:
        await send(bot, "151.00")
    assert "Nothing new was started or sent" in refused.value.message
    assert sandbox.emails == []
    (only,) = bot.app[SERVICES].store.payments_for_invoices(TEAM, "payfirma", ["212948"])
    assert only.id == link.payment.id and only.state is PaymentState.OPENED
