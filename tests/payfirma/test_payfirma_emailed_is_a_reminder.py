"""Send by e-mail on an overdue invoice is that day's reminder: the customer is not
e-mailed the same invoice again by the reminder loop, and the story tells it once."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer

from bot.history import story
from bot.models import PaymentState
from bot.provider import PaymentRejected, ProviderError, RateLimited
from bot.reminding import AlreadyToday, Reminded, remind_customer
from bot.runs import CUSTOMER, Runs
from bot.web import SERVICES
from plugins.payfirma import PayfirmaProvider
from plugins.payfirma.sandbox import SandboxState
from tests.payfirma.test_payfirma_core import TEAM, bot

__all__ = ["bot"]


async def test_an_overdue_invoice_sent_by_e_mail_is_not_reminded_again_that_day(
    bot: TestServer, sandbox: SandboxState
) -> None:
    svc = bot.app[SERVICES]
    today = svc.today()
    await svc.checkout.send_by_email(
        team_id=TEAM, user_id="U0PAYER", provider="payfirma", invoice_id="212948", to=None,
        today=today,
    )  # fmt: skip
    assert len(sandbox.emails) == 1
    provider = svc.connections.get(TEAM, "payfirma")
    invoice = (await provider.get_invoice("212948")).model_copy(update={"provider": "payfirma"})
    assert invoice.is_overdue(today)
    runs = Runs(svc.store)
    done = await remind_customer(
        svc.store, runs, provider, invoice, team_id=TEAM, today=today, user_id=None,
        automatic=True,
    )  # fmt: skip
    assert isinstance(done, AlreadyToday), done
    assert done.earlier is not None and done.earlier.user_id == "U0PAYER"
    assert len(sandbox.emails) == 1, "one e-mail to the customer that day"
    said = [event.text for event in story(svc.store, TEAM, invoice.number, {})]
    assert sum("e-mailed to" in line for line in said) == 1, said
    assert not any("Customer reminded" in line for line in said), "one e-mail, told once"


async def test_an_invoice_not_yet_due_sent_by_e_mail_is_no_reminder(
    bot: TestServer, sandbox: SandboxState
) -> None:
    svc = bot.app[SERVICES]
    await svc.checkout.send_by_email(
        team_id=TEAM, user_id="U0PAYER", provider="payfirma", invoice_id="212947", to=None,
        today=svc.today(),
    )  # fmt: skip
    assert Runs(svc.store).reminders(TEAM, kind=CUSTOMER) == []


async def test_an_overdue_invoice_sent_elsewhere_leaves_the_customers_reminder_due(
    bot: TestServer, sandbox: SandboxState
) -> None:
    """Sent to another address than the customer's on file (a colleague, the sender):
    the customer got nothing, so the day's reminder still goes to them."""
    svc = bot.app[SERVICES]
    today = svc.today()
    provider = svc.connections.get(TEAM, "payfirma")
    invoice = (await provider.get_invoice("212948")).model_copy(update={"provider": "payfirma"})
    assert invoice.is_overdue(today) and invoice.payer_email
    assert invoice.payer_email.lower() != "books@our-team.example"
    await svc.checkout.send_by_email(
        team_id=TEAM, user_id="U0PAYER", provider="payfirma", invoice_id="212948",
        to="books@our-team.example", today=today,
    )  # fmt: skip
    assert Runs(svc.store).reminders(TEAM, kind=CUSTOMER) == []
    done = await remind_customer(
        svc.store, Runs(svc.store), provider, invoice, team_id=TEAM, today=today,
        user_id=None, automatic=True,
    )  # fmt: skip
    assert isinstance(done, Reminded), done


async def test_the_story_of_an_invoice_sent_elsewhere_names_where_it_went(
    bot: TestServer, sandbox: SandboxState
) -> None:
    """Sent to another address than the customer's, the story says which: read as sent
    "to the customer", the reminder that followed would look like a second e-mail."""
    svc = bot.app[SERVICES]
    await svc.checkout.send_by_email(
        team_id=TEAM, user_id="U0PAYER", provider="payfirma", invoice_id="212948",
        to="books@our-team.example", today=svc.today(),
    )  # fmt: skip
    said = [event.text for event in story(svc.store, TEAM, "212948", {})]
    assert any("e-mailed to books@our-team.example by <@U0PAYER>" in line for line in said), said
    assert not any("to the customer" in line for line in said), said


async def test_an_overdue_invoice_sent_to_the_address_on_file_as_typed_is_its_reminder(
    bot: TestServer, sandbox: SandboxState
) -> None:
    """The dialog fills the address on file in: sent to it as shown (in any case), it is
    the customer's e-mail, and the day's reminder."""
    svc = bot.app[SERVICES]
    today = svc.today()
    provider = svc.connections.get(TEAM, "payfirma")
    invoice = await provider.get_invoice("212948")
    assert invoice.payer_email
    await svc.checkout.send_by_email(
        team_id=TEAM, user_id="U0PAYER", provider="payfirma", invoice_id="212948",
        to=f" {invoice.payer_email.upper()} ".strip(), today=today,
    )  # fmt: skip
    (reminder,) = Runs(svc.store).reminders(TEAM, kind=CUSTOMER)
    assert reminder.user_id == "U0PAYER"


class Stopped(BaseException):
    """kill -9: nothing after this point runs, no handler sees it."""


REFUSALS = [PaymentRejected("Payfirma refused it."), RateLimited("Payfirma asks us to wait.")]


def refusing(monkeypatch: pytest.MonkeyPatch, refusal: ProviderError) -> None:
    async def refuse(self: PayfirmaProvider, invoice_id: str, to: str | None) -> str:
        raise refusal

    monkeypatch.setattr(PayfirmaProvider, "send_invoice", refuse)


async def send_overdue(bot: TestServer) -> None:
    svc = bot.app[SERVICES]
    await svc.checkout.send_by_email(
        team_id=TEAM, user_id="U0PAYER", provider="payfirma", invoice_id="212948", to=None,
        today=svc.today(),
    )  # fmt: skip


@pytest.mark.parametrize("refusal", REFUSALS, ids=["refused", "rate limited"])
async def test_a_refused_send_fails_its_payment_and_frees_the_days_reminder(
    bot: TestServer, sandbox: SandboxState, monkeypatch: pytest.MonkeyPatch, refusal: ProviderError
) -> None:
    svc = bot.app[SERVICES]
    refusing(monkeypatch, refusal)
    with pytest.raises(type(refusal)):
        await send_overdue(bot)
    (payment,) = svc.store.payments_for_invoices(TEAM, "payfirma", ["212948"])
    assert payment.state is PaymentState.FAILED
    assert Runs(svc.store).reminders(TEAM, kind=CUSTOMER) == []
    assert sandbox.emails == []


@pytest.mark.parametrize("refusal", REFUSALS, ids=["refused", "rate limited"])
async def test_a_stop_between_failing_a_refused_send_and_freeing_its_reminder_keeps_neither(
    bot: TestServer, monkeypatch: pytest.MonkeyPatch, refusal: ProviderError
) -> None:
    """The attempt failed with the day's reminder still counted would keep the customer's
    reminder from going out that day, though nothing did: both are written, or neither
    (the attempt then stays as interrupted, which a restart hands to the poller)."""
    svc = bot.app[SERVICES]
    refusing(monkeypatch, refusal)

    def stop(self: Runs, reminder_id: int) -> None:
        raise Stopped

    monkeypatch.setattr(Runs, "forget_reminder", stop)
    with pytest.raises(Stopped):
        await send_overdue(bot)
    (payment,) = svc.store.payments_for_invoices(TEAM, "payfirma", ["212948"])
    assert payment.state is PaymentState.CREATED
    (reminder,) = Runs(svc.store).reminders(TEAM, kind=CUSTOMER)
    assert reminder.payment_id == payment.id
