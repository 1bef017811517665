"""Through the core: a saved-card charge whose answer is lost is UNKNOWN, never failed,
and the poller's later "paid" gives the one normal confirmation."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestServer
from slack_sdk.webhook import WebhookResponse

from bot.checkout import CheckoutRefused, OutcomeUnknown
from bot.models import PaymentState
from bot.provider import NotPayable, ProviderError
from bot.web import OUTBOX, POLLER, SERVICES
from plugins.pingproxies.sandbox import SandboxState
from tests.fake_slack import FakeSlack
from tests.pingproxies.conftest import TEAM, pay_option_path, pay_path, retrieve_path

CARD = "pm_sbxVisa4242"


async def settle_quietly(bot: TestServer) -> None:
    """Let the poller and the outbox run (in the background and here) a few rounds."""
    for _ in range(10):
        await asyncio.sleep(0.1)
        await bot.app[POLLER].run_once()
        await bot.app[OUTBOX].send_due()


async def charge(bot: TestServer, user: str = "U0PAYER", response_url: str | None = None) -> None:
    svc = bot.app[SERVICES]
    options = await svc.checkout.options(TEAM, "pingproxies", ["inv_sbx0101"])
    await svc.checkout.start(
        team_id=TEAM,
        user_id=user,
        provider="pingproxies",
        invoice_ids=["inv_sbx0101"],
        method_id=CARD,
        issuer_id=None,
        expected=options.total,
        response_url=response_url,
    )


async def test_a_charge_answered_too_late_is_unknown_then_confirmed_once(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, _ = fake_slack
    sandbox.inject("lost_answer", path=pay_path("inv_sbx0101"))
    with pytest.raises(OutcomeUnknown) as raised:
        await charge(bot)
    assert "does not know yet" in str(raised.value) and "Do not pay again" in str(raised.value)
    assert "try again" not in str(raised.value).lower(), "never both 'try again' and 'do not'"
    store = bot.app[SERVICES].store
    (payment,) = store.payments_for_invoices(TEAM, "pingproxies", ["inv_sbx0101"])
    assert payment.state is PaymentState.UNKNOWN
    with pytest.raises((CheckoutRefused, NotPayable)):
        await charge(bot, "U0OTHER")  # nobody pays again while the outcome is unknown
    assert sandbox.count("POST", pay_path("inv_sbx0101")) == 1
    await settle_quietly(bot)
    paid = store.payment(payment.id)
    assert paid is not None and paid.state is PaymentState.PAID
    assert len(slack.posted_to("C0BILLING")) == 1


async def test_a_decline_whose_answer_was_lost_ends_failed_without_a_confirmation(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, _ = fake_slack
    svc = bot.app[SERVICES]
    options = await svc.checkout.options(TEAM, "pingproxies", ["inv_sbx0101"])
    sandbox.inject("lost_answer", path=pay_path("inv_sbx0101"))
    with pytest.raises(OutcomeUnknown):
        await svc.checkout.start(
            team_id=TEAM,
            user_id="U0PAYER",
            provider="pingproxies",
            invoice_ids=["inv_sbx0101"],
            method_id="pm_sbxVisa0002",
            issuer_id=None,
            expected=options.total,
        )
    await settle_quietly(bot)
    (payment,) = svc.store.payments_for_invoices(TEAM, "pingproxies", ["inv_sbx0101"])
    assert payment.state is PaymentState.FAILED
    assert slack.posted_to("C0BILLING") == []


async def test_a_charge_whose_pay_options_could_not_be_read_failed_and_may_be_retried(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """A server error on the read before Invoice Pay: nothing was sent that could charge,
    so the payer hears "try again", not "do not pay again", and the invoice is not held."""
    slack, _ = fake_slack
    svc = bot.app[SERVICES]
    options = await svc.checkout.options(TEAM, "pingproxies", ["inv_sbx0101"])
    sandbox.inject("error", count=3, path=pay_option_path("inv_sbx0101"))
    with pytest.raises(ProviderError) as raised:
        await svc.checkout.start(
            team_id=TEAM,
            user_id="U0PAYER",
            provider="pingproxies",
            invoice_ids=["inv_sbx0101"],
            method_id=CARD,
            issuer_id=None,
            expected=options.total,
        )
    assert not isinstance(raised.value, OutcomeUnknown)
    told = str(raised.value)
    assert "Nothing was charged." in told and "try again" in told.lower()
    assert "Do not pay again" not in told
    assert sandbox.count("POST", pay_path("inv_sbx0101")) == 0
    (failed,) = svc.store.payments_for_invoices(TEAM, "pingproxies", ["inv_sbx0101"])
    assert failed.state is PaymentState.FAILED
    await charge(bot)  # the same payer tries again at once, and it goes through
    assert sandbox.count("POST", pay_path("inv_sbx0101")) == 1
    await settle_quietly(bot)
    payments = svc.store.payments_for_invoices(TEAM, "pingproxies", ["inv_sbx0101"])
    assert sorted(payment.state for payment in payments) == sorted(
        [PaymentState.FAILED, PaymentState.PAID]
    )
    assert len(slack.posted_to("C0BILLING")) == 1


async def unconfirmed_charge(
    bot: TestServer, sandbox: SandboxState, response_url: str | None = None
) -> None:
    """A saved-card charge the provider took but whose check could not read the invoice,
    which PingProxies still lists open, as a capture still processing leaves it."""
    svc = bot.app[SERVICES]
    unpaid = sandbox.invoices["inv_sbx0101"]
    sandbox.latency = 0.2
    charging = asyncio.create_task(charge(bot, response_url=response_url))
    for _ in range(400):  # until the charge is sent and waiting on the latency
        if sandbox.count("POST", pay_path("inv_sbx0101")):
            break
        await asyncio.sleep(0.01)
    sandbox.inject("error", count=50, path=retrieve_path("inv_sbx0101"))
    await charging  # captured; the check that follows cannot read the invoice
    sandbox.latency = 0.0
    sandbox.clear_faults()
    sandbox.invoices["inv_sbx0101"] = unpaid
    (payment,) = svc.store.payments_for_invoices(TEAM, "pingproxies", ["inv_sbx0101"])
    assert payment.state is PaymentState.LINK_ISSUED and payment.next_check_at is not None


async def test_a_charge_waiting_for_its_confirmation_blocks_another_after_the_link_lifetime(
    bot: TestServer, sandbox: SandboxState
) -> None:
    """A saved card's charge the provider has not confirmed yet may still take the money
    however long that takes: no second charge goes out once the link lifetime has passed,
    and the payer reads that a card payment is waiting, not that a link can be cancelled."""
    store = bot.app[SERVICES].store
    await unconfirmed_charge(bot, sandbox)
    (payment,) = store.payments_for_invoices(TEAM, "pingproxies", ["inv_sbx0101"])
    for when in ("within its lifetime", "after it"):
        with pytest.raises(CheckoutRefused) as refused:
            await charge(bot, "U0OTHER")
        told = str(refused.value)
        assert "waiting for the provider to confirm" in told, when
        assert "Do not pay again" in told and "cancel" not in told, when
        store.db.execute("UPDATE payments SET token_expires_at = 0 WHERE id = ?", [payment.id])
    assert sandbox.count("POST", pay_path("inv_sbx0101")) == 1


async def test_a_charge_never_confirmed_is_told_to_its_payer_when_watching_ends(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """A saved card's charge the provider never confirms blocks the invoice until it is
    given up on; its payer, told the message changes when the charge is confirmed, then
    reads that it never was and to check the invoice before paying again."""
    slack, hooks = fake_slack
    svc = bot.app[SERVICES]
    await unconfirmed_charge(bot, sandbox, str(hooks.make_url("/hooks/payer")))
    (payment,) = svc.store.payments_for_invoices(TEAM, "pingproxies", ["inv_sbx0101"])
    svc.store.db.execute("UPDATE payments SET token_expires_at = 0 WHERE id = ?", [payment.id])
    svc.checkout.settlement.give_up_after = 0.0
    await settle_quietly(bot)
    assert svc.store.payment(payment.id).state is PaymentState.EXPIRED  # type: ignore[union-attr]
    told = [r["text"] for r in slack.responses.get("payer", [])]
    assert told and "never confirmed" in told[-1], told
    (billing,) = slack.posted_to("C0BILLING")  # money of unknown fate, whatever the setting
    assert "Card charge never confirmed" in billing["text"]
    assert "<@U0PAYER>" in str(billing) and "statement" in billing["text"]


async def test_a_charge_with_no_message_to_replace_is_told_in_the_payers_messages(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """A charge started without a response URL (or one that can no longer be opened):
    its payer, who was told a charge is waiting, hears in their messages with the app
    that it was never confirmed, once, however often the poller comes round."""
    slack, _ = fake_slack
    svc = bot.app[SERVICES]
    await unconfirmed_charge(bot, sandbox)
    (payment,) = svc.store.payments_for_invoices(TEAM, "pingproxies", ["inv_sbx0101"])
    svc.store.db.execute("UPDATE payments SET token_expires_at = 0 WHERE id = ?", [payment.id])
    svc.checkout.settlement.give_up_after = 0.0
    await settle_quietly(bot)
    await settle_quietly(bot)
    assert svc.store.payment(payment.id).state is PaymentState.EXPIRED  # type: ignore[union-attr]
    (told,) = slack.posted_to("U0PAYER")
    assert "never confirmed" in told["text"] and "before paying again" in told["text"]
    (billing,) = slack.posted_to("C0BILLING")
    assert "Card charge never confirmed" in billing["text"]


async def test_pay_says_a_charge_is_waiting_before_any_menu(
    bot: TestServer, sandbox: SandboxState
) -> None:
    """Pay in a list and `/invoices pay <number>` tell of the unconfirmed charge at once,
    rather than a menu whose "Charge now" would only be refused after its confirm."""
    from bot.slack.actions import show_menu
    from bot.slack.commands import _pay_invoice
    from bot.slack.values import PayTarget

    svc = bot.app[SERVICES]
    await unconfirmed_charge(bot, sandbox)
    unpaid = sandbox.invoices["inv_sbx0101"]
    said: list[dict[str, object]] = []

    async def respond(**message: object) -> WebhookResponse:
        said.append(message)
        return WebhookResponse(url="", status_code=200, body="ok", headers={})

    body = {"team": {"id": TEAM}, "user": {"id": "U0OTHER"}}
    target = PayTarget("pingproxies", ("inv_sbx0101",))
    await show_menu(svc, body, respond, target)  # type: ignore[arg-type]
    (answer,) = said
    assert "waiting for the provider to confirm" in str(answer)
    assert "choose_method" not in str(answer)
    typed = await _pay_invoice(svc, TEAM, "U0OTHER", unpaid.invoice_number)
    assert "waiting for the provider to confirm" in str(typed)
    assert sandbox.count("POST", pay_path("inv_sbx0101")) == 1


async def test_a_charge_the_database_cannot_settle_at_once_is_shown_charged_and_settles_later(
    bot: TestServer,
    sandbox: SandboxState,
    fake_slack: tuple[FakeSlack, TestServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The card was charged and the charge recorded, but the database refuses the
    settlement's write at once (locked): the payer is shown the charge waiting to be
    confirmed, not an error, and the poller's later settlement is the one confirmation."""
    import sqlite3

    slack, _ = fake_slack
    store = bot.app[SERVICES].store
    real = store.add_settlement
    locked = [True]

    def add_settlement(*args: object, **kwargs: object) -> None:
        if locked[0]:
            raise sqlite3.OperationalError("database is locked")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "add_settlement", add_settlement)
    svc = bot.app[SERVICES]
    options = await svc.checkout.options(TEAM, "pingproxies", ["inv_sbx0101"])
    started = await svc.checkout.start(
        team_id=TEAM,
        user_id="U0PAYER",
        provider="pingproxies",
        invoice_ids=["inv_sbx0101"],
        method_id=CARD,
        issuer_id=None,
        expected=options.total,
    )
    assert started.payment.state is PaymentState.LINK_ISSUED
    with pytest.raises((CheckoutRefused, NotPayable)):
        await charge(bot, "U0OTHER")  # the charge still blocks a second one
    locked[0] = False
    store.update_payment(started.payment.id, next_check_at=0)  # the poller's lease, run out
    await settle_quietly(bot)
    assert store.payment(started.payment.id).state is PaymentState.PAID  # type: ignore[union-attr]
    assert len(slack.posted_to("C0BILLING")) == 1
    assert sandbox.count("POST", pay_path("inv_sbx0101")) == 1
