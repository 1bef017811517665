"""Two payments for overlapping i3D.net invoice sets (A+B, then B+C once the first link's
time is up while its page stays open): the first is paid, and what the second's payer
is told must not say that C was paid."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from bot.models import PaymentState
from bot.web import OUTBOX, POLLER, SERVICES, STORE
from plugins.i3d.sandbox import SANDBOX
from tests.scenario.harness import Harness, forms_in, text_of
from tests.scenario.test_settling_once import OTHER, browser

A, B, C = "410001", "410002", "410007"


async def start(h: Harness, user: str, ids: list[str]) -> tuple[Any, str]:
    checkout = h.bot.app[SERVICES].checkout
    offer = await checkout.options("T0TEAM", "i3d", ids)
    key, response_url = h.response_url()
    started = await checkout.start(
        team_id="T0TEAM",
        user_id=user,
        provider="i3d",
        invoice_ids=ids,
        method_id="10",
        issuer_id="INGBNL2A",
        expected=offer.total,
        response_url=response_url,
    )
    return started, key


async def reach_psp(http: aiohttp.ClientSession, pay_url: str) -> dict[str, Any]:
    """Open our link and let it post to the PSP; the PSP's decision form."""
    async with http.get(pay_url) as response:
        (form,) = forms_in(await response.text())
    async with http.post(form["action"], data=form["fields"]) as response:
        (choice,) = forms_in(await response.text())
        choice["url"] = response.url
    return choice


async def decide(http: aiohttp.ClientSession, choice: dict[str, Any], decision: str) -> str:
    action = str(choice["url"].join(aiohttp.helpers.URL(choice["action"])))
    fields = [*choice["fields"], next(b for b in choice["buttons"] if b[1] == decision)]
    async with http.post(action, data=fields) as response:
        return await response.text()


async def rounds(h: Harness, count: int = 10) -> None:
    for _ in range(count):
        await h.bot.app[POLLER].run_once()
        await h.bot.app[OUTBOX].send_due()
        await asyncio.sleep(0.1)


async def test_paying_a_and_b_does_not_tell_the_b_and_c_payer_that_c_is_paid(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    h.slack.user_groups["S0PAYERS"] = [OTHER]
    store = h.bot.app[STORE]
    first, _ = await start(h, "U0PAYER", [A, B])
    async with browser() as a, browser() as b:
        page_a = await reach_psp(a, first.pay_url)  # the first payer stays on i3D's page
        store.db.execute(
            "UPDATE payments SET token_expires_at = ? WHERE id = ?",
            [time.time() - 1, first.payment.id],
        )
        second, key_b = await start(h, OTHER, [B, C])
        page_b = await reach_psp(b, second.pay_url)
        assert "Invoices paid" in await decide(a, page_a, "pay")  # A and B are paid
        await rounds(h)
        paid = store.payment(first.payment.id)
        assert paid is not None and paid.state is PaymentState.PAID
        other = store.payment(second.payment.id)
        assert other is not None
        told = [text_of(answer) for answer in h.answers(key_b)]
        async with b.get(h.bot.make_url("/landing/i3d")) as again:
            shown = await again.text()
        # C is not paid: nobody may be told that it was, or that nothing is left to pay.
        c = await h.bot.app[SERVICES].connections.get("T0TEAM", "i3d").get_invoice(C)
        assert c.status.value == "open"
        assert other.state is PaymentState.SUPERSEDED  # it cannot be paid as it was made
        assert told and not any("INV-24-0104 (" in text for text in told), told
        assert "INV-24-0104 is still unpaid" in told[-1], told
        assert "INV-24-0087 has been paid through another payment by <@U0PAYER>" in told[-1]
        assert "INV-24-0104 is still unpaid" in shown, shown
        assert "Paid through another payment" not in shown
        # i3D's page for B+C charges nothing now that B is paid
        assert "INV-24-0104 is still unpaid" in await decide(b, page_b, "pay")
        (tx_b,) = [
            tx for tx in i3d_sandbox.app[SANDBOX].transactions.values() if tx.invoice_ids == [B, C]
        ]
        assert tx_b.status == "failed"  # "settled in the meantime; nothing was charged"
    # and C can be paid on its own
    third, _ = await start(h, OTHER, [C])
    assert third.payment.state is PaymentState.LINK_ISSUED
