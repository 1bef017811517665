"""An invoice created and e-mailed from `/invoices new` whose answer is lost (a timeout
after Payfirma made it, the bot stopped before the answer was kept, or its watch not
recorded) is found by the reference the bot sent, never created again, and watched: #billing
hears when the customer pays it. One never found is handed to #billing to look for."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import pytest
from aiohttp.test_utils import TestServer

from bot.models import Emailed, InvoiceDraft, PaymentState
from bot.provider import Unconfirmed
from bot.slack.new_invoice import on_review, review_view
from bot.store import Store
from bot.web import OUTBOX, POLLER, SERVICES
from plugins.payfirma.provider import PayfirmaProvider
from plugins.payfirma.sandbox import SandboxState
from tests.fake_slack import FakeSlack
from tests.payfirma.test_payfirma_core import TEAM, bot
from tests.payfirma.test_payfirma_issuing import draft, line

__all__ = ["bot"]

pytestmark = pytest.mark.parametrize("settings", [{"payers": "U0PAYER"}], indirect=True)

EMAIL = "ap@riverside.example"
LOST = Unconfirmed(
    "Payfirma did not answer within 30 s. The invoice may have been created; check PayHQ "
    "before trying again."
)


def made(sandbox: SandboxState) -> list[Any]:
    return [i for i in sandbox.invoices.values() if i.recipient_email == EMAIL]


async def submit(bot: TestServer, view_id: str = "V0REVIEW", **fields: Any) -> AsyncMock:
    new = draft(line("Shelving", "3", "3.00"), customer_email=EMAIL, **fields)
    view = {**review_view(PayfirmaProvider, new, True), "id": view_id}
    body = {"view": view, "team": {"id": TEAM}, "user": {"id": "U0PAYER"}}
    client = AsyncMock()
    await on_review(bot.app[SERVICES], AsyncMock(), body, client)
    return client


def shown(client: AsyncMock) -> str:
    return str(client.views_update.call_args_list[-1])


def provider(bot: TestServer) -> PayfirmaProvider:
    found = bot.app[SERVICES].connections.get(TEAM, "payfirma")
    assert isinstance(found, PayfirmaProvider)
    return found


def age_claims(store: Store, seconds: float) -> None:
    """The bot was stopped, and started again `seconds` after the submit."""
    at = (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()
    store.db.execute("UPDATE submissions SET at = ?, look_at = 0", [at])


async def settle(bot: TestServer, slack: FakeSlack, channel: str, word: str) -> list[Any]:
    for _ in range(30):
        await bot.app[POLLER].run_once()
        await bot.app[OUTBOX].send_due()
        said = [m for m in slack.posted_to(channel) if word.lower() in m["text"].lower()]
        if said:
            return said
        await asyncio.sleep(0.1)
    return []


async def test_a_create_whose_answer_was_lost_is_found_watched_and_confirmed(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, _ = fake_slack
    payfirma = provider(bot)
    created = payfirma.create_invoice

    async def made_then_lost(new: InvoiceDraft, *, send: bool) -> Any:
        await created(new, send=send)
        raise LOST

    payfirma.create_invoice = made_then_lost  # type: ignore[method-assign]
    client = await submit(bot)
    assert "Not confirmed" in shown(client) and "looking for it at Payfirma" in shown(client)
    (invoice,) = made(sandbox)
    number = str(invoice.invoice_id)
    store = bot.app[SERVICES].store
    assert store.payments_for_invoices(TEAM, "payfirma", [number]) == []
    (told,) = await settle(bot, slack, "C0BILLING", number)
    assert "answer was lost" in told["text"] and "watches it now" in told["text"]
    (creator,) = await settle(bot, slack, "U0PAYER", number)
    assert number in creator["text"] and "Do not create it again" in creator["text"]
    assert sandbox.count("POST", "/invoice") == 1  # found, never created again
    (watched,) = store.payments_for_invoices(TEAM, "payfirma", [number])
    assert watched.state is PaymentState.LINK_ISSUED and isinstance(watched.start, Emailed)
    assert store.submission_outcome(f"{_key()}") == ("created", number)
    # The customer pays the e-mailed invoice; #billing hears it once.
    sandbox.invoices[invoice.invoice_id] = invoice.model_copy(update={"status": "PAID"})
    store.update_payment(watched.id, next_check_at=0)
    (paid,) = await settle(bot, slack, "C0BILLING", "paid")
    assert number in str(paid) and "CA$9.00" in str(paid)
    await bot.app[POLLER].run_once()
    assert len(made(sandbox)) == 1 and len(slack.posted_to("U0PAYER")) == 1


async def test_a_create_whose_connection_dropped_after_payfirma_made_it_is_watched(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """Through the wire: Payfirma makes and e-mails the invoice, the connection drops
    before its answer. The plugin says it may exist; the bot finds it and watches it."""
    slack, _ = fake_slack
    sandbox.inject("lost", path="/invoice", method="POST")  # the read before it goes through
    client = await submit(bot)
    assert "Not confirmed" in shown(client) and "check PayHQ" in shown(client)
    (invoice,) = made(sandbox)
    assert sandbox.emails and sandbox.count("POST", "/invoice") == 1
    number = str(invoice.invoice_id)
    (told,) = await settle(bot, slack, "C0BILLING", number)
    assert "watches it now" in told["text"]
    store = bot.app[SERVICES].store
    (watched,) = store.payments_for_invoices(TEAM, "payfirma", [number])
    assert watched.state is PaymentState.LINK_ISSUED
    assert sandbox.count("POST", "/invoice") == 1


def _key() -> str:
    return f"review_invoice:{TEAM}:V0REVIEW"


async def test_a_create_cut_short_before_its_answer_was_kept_is_found_after_a_restart(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """As a kill -9 between Payfirma's answer and its record: the claim holds no outcome."""
    slack, _ = fake_slack
    payfirma = provider(bot)
    created = payfirma.create_invoice

    async def made_then_stopped(new: InvoiceDraft, *, send: bool) -> Any:
        await created(new, send=send)
        raise asyncio.CancelledError

    payfirma.create_invoice = made_then_stopped  # type: ignore[method-assign]
    with pytest.raises(asyncio.CancelledError):
        await submit(bot)
    (invoice,) = made(sandbox)
    number = str(invoice.invoice_id)
    store = bot.app[SERVICES].store
    reads = sandbox.count("GET", "/invoice")
    await bot.app[POLLER].run_once()  # still "running" for a while: not looked for yet
    assert sandbox.count("GET", "/invoice") == reads
    age_claims(store, 300)
    (told,) = await settle(bot, slack, "C0BILLING", number)
    assert "watches it now" in told["text"]
    (watched,) = store.payments_for_invoices(TEAM, "payfirma", [number])
    assert watched.state is PaymentState.LINK_ISSUED
    (creator,) = await settle(bot, slack, "U0PAYER", number)
    assert "after all" in creator["text"]
    assert sandbox.count("POST", "/invoice") == 1


async def test_an_invoice_whose_watch_was_not_recorded_is_watched_later(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """Created, but the watch's record failed (or the bot stopped before it): watched by
    its number, #billing not troubled; its creator hears it is watched (its dialog may
    not have shown the result, if the bot stopped)."""
    slack, _ = fake_slack
    svc = bot.app[SERVICES]
    watch = svc.checkout.watch_emailed
    svc.checkout.watch_emailed = MagicMock(side_effect=RuntimeError("database is locked"))  # type: ignore[method-assign]
    client = await submit(bot)
    assert "Invoice created" in shown(client)
    svc.checkout.watch_emailed = watch  # type: ignore[method-assign]
    (invoice,) = made(sandbox)
    number = str(invoice.invoice_id)
    assert svc.store.payments_for_invoices(TEAM, "payfirma", [number]) == []
    age_claims(svc.store, 300)
    await bot.app[POLLER].run_once()
    (watched,) = svc.store.payments_for_invoices(TEAM, "payfirma", [number])
    assert watched.state is PaymentState.LINK_ISSUED
    (creator,) = await settle(bot, slack, "U0PAYER", number)
    assert "was created at Payfirma, and #billing hears" in creator["text"]
    assert slack.posted_to("C0BILLING") == []


async def test_an_invoice_created_with_other_totals_is_watched_too(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """It was e-mailed all the same: until it is voided, a payment of it is confirmed."""
    slack, _ = fake_slack
    sandbox.tax_rounding = "invoice"
    new = draft(*(line(f"Widget {n}", "3", "0.33", "12.5") for n in range(1, 12)))
    view = {**review_view(PayfirmaProvider, new, True), "id": "V0REVIEW"}
    body = {"view": view, "team": {"id": TEAM}, "user": {"id": "U0PAYER"}}
    client = AsyncMock()
    svc = bot.app[SERVICES]
    await on_review(svc, AsyncMock(), body, client)
    assert "Created: check it" in shown(client)
    (invoice,) = [i for i in sandbox.invoices.values() if i.recipient_email == new.customer_email]
    number = str(invoice.invoice_id)
    await bot.app[POLLER].run_once()
    (watched,) = svc.store.payments_for_invoices(TEAM, "payfirma", [number])
    assert watched.state is PaymentState.LINK_ISSUED
    assert sandbox.count("POST", "/invoice") == 1
    (creator,) = await settle(bot, slack, "U0PAYER", number)
    assert "lists it at CA$12.25, not the CA$12.21 reviewed" in creator["text"]


async def test_a_create_never_found_is_handed_to_billing(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, _ = fake_slack
    payfirma = provider(bot)

    async def lost(new: InvoiceDraft, *, send: bool) -> Any:
        raise LOST

    payfirma.create_invoice = lost  # type: ignore[method-assign]
    await submit(bot)
    store = bot.app[SERVICES].store
    await bot.app[POLLER].run_once()
    await bot.app[OUTBOX].send_due()
    assert slack.posted_to("C0BILLING") == []  # not found yet: looked for again later
    age_claims(store, 2 * 3600)
    (told,) = await settle(bot, slack, "C0BILLING", "could not find")
    assert "Look for it at Payfirma" in told["text"] and "CA$9.00" in told["text"]
    assert EMAIL in told["text"] and "<@U0PAYER>" in told["text"]
    (creator,) = await settle(bot, slack, "U0PAYER", "could not find")
    assert "before you create it again" in creator["text"]
    age_claims(store, 3 * 3600)
    await bot.app[POLLER].run_once()
    await bot.app[OUTBOX].send_due()
    assert len(slack.posted_to("C0BILLING")) == 1  # told once
    assert made(sandbox) == [] and sandbox.count("POST", "/invoice") == 0


async def test_an_invoice_paid_before_it_is_found_is_confirmed_at_its_total(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """The customer may pay the e-mailed invoice before the lookup finds it: #billing
    hears the amount it was sent for, not the nothing Payfirma says is left to pay."""
    slack, _ = fake_slack
    payfirma = provider(bot)
    created = payfirma.create_invoice

    async def made_then_lost(new: InvoiceDraft, *, send: bool) -> Any:
        await created(new, send=send)
        raise LOST

    payfirma.create_invoice = made_then_lost  # type: ignore[method-assign]
    await submit(bot)
    (invoice,) = made(sandbox)
    sandbox.invoices[invoice.invoice_id] = invoice.model_copy(update={"status": "PAID"})
    number = str(invoice.invoice_id)
    assert await settle(bot, slack, "C0BILLING", "watches it now")
    store = bot.app[SERVICES].store
    (watched,) = store.payments_for_invoices(TEAM, "payfirma", [number])
    assert watched.amount.format() == "CA$9.00"
    store.update_payment(watched.id, next_check_at=0)
    (paid,) = await settle(bot, slack, "C0BILLING", "Paid: Payfirma")
    assert "*CA$9.00*" in str(paid) and "CA$0.00" not in str(paid)
    assert "check in PayHQ what was received" not in str(paid)
