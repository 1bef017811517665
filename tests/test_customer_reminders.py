"""Customer reminders wait only while a payment through invoicebot may be taking the
money: a charge in doubt holds them back; an e-mail in doubt or a cancel on the page
does not."""

from __future__ import annotations

import contextlib
import time
from datetime import date
from typing import Any, cast

from bot.models import (
    Emailed,
    Invoice,
    InvoiceStatus,
    Money,
    OutcomeStatus,
    PaymentOutcome,
    Redirect,
)
from bot.payments import CUSTOMER_LINK_LIFETIME
from bot.provider import Capabilities, Direction
from bot.reminding import Reminded, UnderWay, remind_customer
from bot.runs import Runs
from bot.settlement import Settlement
from tests.test_late_returns import APPROVED, Lookup
from tests.test_settlement import S, attempt, recorder, settlement, store  # noqa: F401


class Collecting:
    """A provider whose customers pay it, that can e-mail an invoice again."""

    name = "payfirma"
    title = "Payfirma"
    capabilities = Capabilities(direction=Direction.RECEIVABLE, send_by_email=True)

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_invoice(self, invoice_id: str) -> str:
        self.sent.append(invoice_id)
        return "customer@example.com"


async def remind(
    settlement: Settlement,  # noqa: F811
    *,
    automatic: bool = False,
) -> tuple[Collecting, Any]:
    """Remind the customer of overdue invoice 1001 (Payfirma); the provider and the answer."""
    provider = Collecting()
    invoice = Invoice(
        provider="payfirma",
        id="1001",
        number="INV-1001",
        amount_due=Money.of("12.50", "EUR"),
        total_incl_vat=Money.of("12.50", "EUR"),
        due=date(2026, 11, 1),
        status=InvoiceStatus.OPEN,
    )
    done = await remind_customer(
        settlement.store,
        Runs(settlement.store),
        cast(Any, provider),
        invoice,
        team_id="T1",
        today=date(2026, 12, 4),
        user_id=None if automatic else "U1",
        automatic=automatic,
    )
    return provider, done


async def test_no_reminder_e_mails_a_customer_whose_card_charge_is_being_confirmed(
    settlement: Settlement,  # noqa: F811
) -> None:
    """The customer's payment through invoicebot is in doubt (invoicebot keeps asking
    the provider): e-mailing them the invoice again asks them to pay twice."""
    charge = attempt(settlement, S.UNKNOWN, invoices=("1001",))
    settlement.store.update_payment(charge.id, direction="receivable", provider="payfirma")
    provider, done = await remind(settlement, automatic=True)
    assert provider.sent == [], done


async def test_an_e_mail_whose_answer_was_lost_does_not_stop_reminders(
    settlement: Settlement,  # noqa: F811
) -> None:
    """`Send by e-mail` timed out: the attempt is UNKNOWN (the e-mail may have gone) and
    is watched for the link's week plus `EMAILED_WATCH` (90 days). No money is being
    taken through invoicebot; an e-mailed invoice the provider confirmed sending
    (LINK_ISSUED) does not stop reminders either."""
    sent = attempt(settlement, S.UNKNOWN, start=Emailed(to="ap@acme.example"))
    settlement.store.update_payment(sent.id, direction="receivable", provider="payfirma")
    provider, done = await remind(settlement)
    assert isinstance(done, Reminded), done
    assert provider.sent == ["1001"]


async def test_a_customer_who_cancelled_on_the_page_is_still_reminded(
    settlement: Settlement,  # noqa: F811
) -> None:
    """The customer opened the week-long link, pressed Cancel at the provider's page (the
    browser said so, the provider did not): the end is watched until the link expires
    and a day more. Nothing is being paid; a reminder must not wait eight days."""
    link = attempt(settlement, S.OPENED, opened_minutes_ago=60, invoices=("1001",))
    settlement.store.update_payment(link.id, direction="receivable", provider="payfirma")
    settlement.store.db.execute(
        "UPDATE payments SET token_expires_at = ? WHERE id = ?",
        [time.time() + CUSTOMER_LINK_LIFETIME, link.id],
    )
    settlement.apply(
        settlement.store.payment(link.id) or link,
        PaymentOutcome(status=OutcomeStatus.CANCELLED, message="cancelled", attributed=False),
    )
    ended = settlement.store.payment(link.id)
    assert ended is not None and ended.state is S.CANCELLED and ended.next_check_at is not None
    _, done = await remind(settlement)
    assert isinstance(done, Reminded), done


async def test_a_customer_whose_late_return_is_being_checked_is_not_reminded(
    settlement: Settlement,  # noqa: F811
) -> None:
    """The customer came back from the provider's page after the link's watch ended, and
    the provider could not be asked just then: the return is asked about again for a
    day, its page saying "Payment not confirmed yet". E-mailing the invoice meanwhile asks for the
    money a second time."""
    provider = Lookup({"LK9": APPROVED})
    provider.down = True
    settlement.connections = provider  # type: ignore[assignment]
    page = attempt(settlement, S.OPENED, start=Redirect(url="https://hpp.example/pay"))
    settlement.store.update_payment(page.id, direction="receivable", provider="payfirma")
    opened = settlement.store.payment(page.id)
    assert opened is not None
    settlement._end(opened, S.EXPIRED, "the provider never confirmed this payment")
    expired = settlement.store.payment(page.id)
    assert expired is not None
    await settlement.check(expired, {"lookup_id": "LK9"})
    asking = settlement.store.payment(page.id)
    assert asking is not None and asking.next_check_at is not None
    assert settlement.store.kept_return(page.id) is not None
    sent, done = await remind(settlement, automatic=True)
    assert sent.sent == [] and isinstance(done, UnderWay), done
    assert not isinstance(done, Reminded)


async def test_a_sent_reminder_and_its_audit_row_are_written_together(
    settlement: Settlement,  # noqa: F811
    monkeypatch: Any,
) -> None:
    """A stop between the reminder's state and its audit row left a reminder the export
    never showed: both are written in one transaction, or neither."""
    kept = settlement.store
    real = kept.audit

    def failing(action: str, **fields: Any) -> None:
        if action == "reminder.sent":
            raise RuntimeError("stopped here")
        real(action, **fields)

    monkeypatch.setattr(kept, "audit", failing)
    with contextlib.suppress(RuntimeError):
        await remind(settlement)
    states = [r.state for r in Runs(kept).reminders("T1", provider="payfirma")]
    assert "sent" not in states, states
