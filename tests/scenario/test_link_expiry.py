"""A pay link past its lifetime: the page says so, but an attempt whose provider page was
already opened stays watched, so a payment finished in the tab still open is confirmed."""

from __future__ import annotations

import asyncio
from typing import Any

from yarl import URL

from bot.models import PaymentState
from bot.web import SERVICES
from plugins.i3d.sandbox import SANDBOX
from tests.scenario.harness import Harness, forms_in
from tests.scenario.test_paying import get_link


async def test_reloading_an_opened_link_after_it_expired_keeps_the_payment_watched(
    harness: Harness, i3d_sandbox: Any
) -> None:
    h = harness
    _, pay_url = await get_link(h)
    store = h.bot.app[SERVICES].store
    async with h.http.get(pay_url) as response:  # the payer reaches the bank's page
        (form,) = forms_in(await response.text())
    async with h.http.post(form["action"], data=form["fields"]) as response:
        bank_page = response.url
        (choice,) = forms_in(await response.text())
    (payment,) = store.payments_for_invoices("T0TEAM", "i3d", ["410001"])
    assert payment.state is PaymentState.OPENED
    # The link's 30 minutes pass (a slow bank); the payer clicks the old link again.
    store.db.execute("UPDATE payments SET token_expires_at = 0 WHERE id = ?", [payment.id])
    async with h.http.get(pay_url) as response:
        reload = await response.text()
        assert response.status == 410
    assert "This payment link has expired" in reload
    assert "still being checked" in reload and "do not pay again" in reload
    assert store.payment(payment.id).state is PaymentState.OPENED  # type: ignore[union-attr]
    # The payer confirms in the bank's tab still open and comes back.
    fields = [*choice["fields"], ("action", "pay")]
    async with h.http.post(str(bank_page.join(URL(choice["action"]))), data=fields) as response:
        landing = await response.text()
    assert "Invoice paid" in landing
    assert i3d_sandbox.app[SANDBOX].invoices["410001"].paymentStatus == 1
    for _ in range(50):
        if h.slack.posted_to("C0BILLING"):
            break
        await asyncio.sleep(0.1)
    assert len(h.slack.posted_to("C0BILLING")) == 1
    assert store.payment(payment.id).state is PaymentState.PAID  # type: ignore[union-attr]


async def test_an_unopened_link_past_its_lifetime_ends(harness: Harness) -> None:
    h = harness
    _, pay_url = await get_link(h)
    store = h.bot.app[SERVICES].store
    (payment,) = store.payments_for_invoices("T0TEAM", "i3d", ["410001"])
    store.db.execute("UPDATE payments SET token_expires_at = 0 WHERE id = ?", [payment.id])
    async with h.http.get(pay_url) as response:
        assert response.status == 410
        assert "This link has expired." in await response.text()
    assert store.payment(payment.id).state is PaymentState.EXPIRED  # type: ignore[union-attr]
