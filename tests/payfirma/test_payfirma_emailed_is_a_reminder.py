"""Send by e-mail on an overdue invoice is that day's reminder: the customer is not
e-mailed the same invoice again by the reminder loop, and the story tells it once."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from bot.history import story
from bot.reminding import AlreadyToday, remind_customer
from bot.runs import CUSTOMER, Runs
from bot.web import SERVICES
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
    assert sum("e-mailed to the customer" in line for line in said) == 1, said
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
