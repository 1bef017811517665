"""A payer's message ends on the latest outcome: an earlier one that Slack answered with
an error and that is retried after a later one was queued is dropped, not sent last."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.credentials import CredentialBox, generate_key
from bot.models import FormPost, Money, OutcomeStatus, Payment, PaymentOutcome, PaymentState
from bot.notifier import SlackNotifier
from bot.outbox import OutboxSender
from bot.payments import Payments
from bot.plugins import make_plugin_manager
from bot.settlement import Settlement
from bot.store import Store
from tests.fake_slack import BOT_TOKEN, FakeSlack

S = PaymentState


@pytest.mark.parametrize("slack_answers", ["a blip", "worn out"])
async def test_a_retried_cancel_is_not_sent_after_the_paid_that_replaced_it(
    tmp_path: Path, fake_slack: tuple[FakeSlack, TestServer], slack_answers: str
) -> None:
    """A blip: one 503, then the URL works. Worn out: the URL is refused for good (30
    minutes, 5 uses), so each outcome is said anew in the payer's DM."""
    slack, slack_server = fake_slack
    shown: list[str] = []
    answers = iter([503]) if slack_answers == "a blip" else itertools.repeat(404)

    async def response_url(request: web.Request) -> web.Response:
        body = await request.json()
        status = next(answers, 200)
        if status == 200:
            shown.append(body["text"])
        return web.Response(status=status, text="ok")

    app = web.Application()
    app.router.add_post("/hook", response_url)
    hooks = TestServer(app, host="127.0.0.1")
    await hooks.start_server()
    store = Store(tmp_path / "db.sqlite", CredentialBox(generate_key()))
    pm = make_plugin_manager(entry_point_plugins=False)
    pm.register(SlackNotifier("C0BILLING", {"i3d": "i3D.net"}), name="bot.notifier")
    settlement = Settlement(Payments(store, pm), connections=None)  # type: ignore[arg-type]
    payment, _ = settlement.payments.record(
        Payment(
            team_id="T1",
            provider="i3d",
            invoice_ids=("1001",),
            invoice_numbers=("INV-1",),
            amount=Money.of("12.50", "EUR"),
            method_id="2",
            method_name="PayPal",
            user_id="U1",
            response_url=str(hooks.make_url("/hook")),
        )
    )
    store.update_payment(
        payment.id, start=FormPost(url="https://psp.example", fields=[]).model_dump_json()
    )
    store.compare_and_set_state(
        payment.id, {S.CREATED}, S.OPENED, opened_at="2026-12-03T11:00:00+00:00"
    )

    def now() -> Payment:
        current = store.payment(payment.id)
        assert current is not None
        return current

    async with aiohttp.ClientSession() as http:
        client = AsyncWebClient(
            token=BOT_TOKEN, base_url=str(slack_server.make_url("/api/")), retry_handlers=[]
        )
        sender = OutboxSender(store, client, http, first_delay=0.2)
        # The browser comes back saying cancelled: ended, still watched.
        settlement.apply(
            now(), PaymentOutcome(status=OutcomeStatus.CANCELLED, message="Cancelled.")
        )
        await sender.send_due()  # Slack answers 503: retried later
        # The provider's page took the money after all.
        settlement.apply(now(), PaymentOutcome(status=OutcomeStatus.PAID, message="Paid."))
        await sender.send_due()
        await asyncio.sleep(0.5)
        await sender.send_due()  # the cancel's retry is due now
        await sender.send_due()  # a DM queued by the round before goes now
    assert now().state is S.PAID
    told = shown if slack_answers == "a blip" else [m["text"] for m in slack.posted_to("U1")]
    assert len(told) == 1 and "paid" in told[0].lower() and "cancel" not in told[0].lower()
    assert slack.posted_to("U1") == [] or slack_answers == "worn out"
    await hooks.close()
    store.close()
