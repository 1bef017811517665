"""A payment page for two i3D.net invoices whose watch ends with i3D listing only one of
them paid: that one is recorded paid and confirmed, and only the other is told as never
confirmed, to the payer and to #billing."""

from __future__ import annotations

import time

from aiohttp.test_utils import TestServer

from bot.models import PaymentState
from bot.pages import SETTLEMENT
from bot.web import STORE
from tests.scenario.harness import Harness, text_of
from tests.scenario.test_overlapping_sets import reach_psp, rounds, start
from tests.scenario.test_settling_once import browser

A, B = "410001", "410002"  # INV-24-0101 and INV-24-0087


async def test_a_watch_ending_with_one_of_two_invoices_paid_tells_each_as_it_is(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    store = h.bot.app[STORE]
    started, key = await start(h, "U0PAYER", [A, B])
    async with browser() as payer:  # it comes back after the watch ended
        await reach_psp(payer, started.pay_url)  # the page was opened, then left
        async with browser() as http:  # i3D books one of them paid (a bank transfer, say)
            booked = i3d_sandbox.make_url("/_sandbox/paid")
            async with http.post(booked, json={"invoice": A}) as answer:
                assert answer.status == 204
        h.bot.app[SETTLEMENT].give_up_after = -3600  # the link's lifetime and a day are over
        store.db.execute(
            "UPDATE payments SET token_expires_at = ?, next_check_at = 0 WHERE id = ?",
            [time.time() - 1, started.payment.id],
        )
        await rounds(h, 3)
        await rounds(h, 3)  # a second look confirms nothing twice
        ended = store.payment(started.payment.id)
        assert ended is not None and ended.state is PaymentState.EXPIRED
        assert store.settlement_of("T0TEAM", "i3d", [A]) is not None
        assert store.settlement_of("T0TEAM", "i3d", [B]) is None
        for _ in range(40):  # #billing's posts are paced
            if len(h.slack.posted_to("C0BILLING")) >= 2:
                break
            await rounds(h, 1)
        billing = [text_of(message) for message in h.slack.posted_to("C0BILLING")]
        assert len(billing) == 2, billing
        paid, unconfirmed = billing
        assert "INV-24-0101" in paid and "INV-24-0087" not in paid
        assert "€121.00" in paid, paid
        assert "Payment never confirmed" in unconfirmed and "INV-24-0087" in unconfirmed
        assert "INV-24-0101" not in unconfirmed
        told = text_of(h.answers(key)[-1])
        assert "never confirmed the payment of invoice INV-24-0087" in told, told
        assert "INV-24-0101 of the same payment was confirmed paid" in told
        # Back on the page (its return, or the link again): no "no payment arrived", and no
        # Try again button it could send the payer to.
        for where in (h.bot.make_url("/landing/i3d"), started.pay_url):
            async with payer.get(where) as again:
                shown = await again.text()
            assert "INV-24-0101 has been paid" in shown, shown
            assert "The payment of INV-24-0087 was never confirmed" in shown
            assert "No payment arrived" not in shown and "Try again" not in shown


async def test_pay_on_the_invoice_paid_in_part_tells_that_payment(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """Pay on the invoice recorded paid when the watch ended is answered from that
    settlement (who paid it and for how much), as for any invoice paid with invoicebot."""
    h = harness
    store = h.bot.app[STORE]
    started, _ = await start(h, "U0PAYER", [A, B])
    async with browser() as payer:
        await reach_psp(payer, started.pay_url)
    booked = i3d_sandbox.make_url("/_sandbox/paid")
    async with browser() as http, http.post(booked, json={"invoice": A}) as ok:
        assert ok.status == 204
    h.bot.app[SETTLEMENT].give_up_after = -3600
    store.db.execute(
        "UPDATE payments SET token_expires_at = ?, next_check_at = 0 WHERE id = ?",
        [time.time() - 1, started.payment.id],
    )
    await rounds(h, 3)
    assert store.settlement_of("T0TEAM", "i3d", [A]) is not None
    _, typed, _ = await h.command("pay inv-24-0101")
    said = text_of((await h.screen_after(typed)).message)
    assert ":white_check_mark: Invoice INV-24-0101 is paid: *€121.00*" in said, said
    assert "Paid through invoicebot by <@U0PAYER>." in said, said
