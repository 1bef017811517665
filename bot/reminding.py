"""Reminding customers of overdue invoices: the provider e-mails the invoice again.

A reminder is not a payment attempt (the customer pays through the invoice as before),
so it is recorded as a reminder, at most one a day per invoice whoever asks: claimed
before the provider is asked, so a double click or a racing schedule sends one e-mail.
Only providers that can e-mail an invoice (`Capabilities.send_by_email`) remind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.invoices import covered
from bot.models import Emailed, Invoice, PaymentState
from bot.provider import Direction, Provider, ProviderError, ProviderUnavailable
from bot.runs import CUSTOMER, Reminder, Runs
from bot.settlement import WATCHABLE
from bot.store import Store


def can_remind(provider: Provider | type[Provider]) -> bool:
    capabilities = provider.capabilities
    return capabilities.direction is Direction.RECEIVABLE and capabilities.send_by_email


@dataclass(frozen=True)
class Reminded:
    sent_to: str


@dataclass(frozen=True)
class AlreadyToday:
    earlier: Reminder | None


@dataclass(frozen=True)
class PaidHere:
    """A payment through the bot settled the invoice, though the provider still lists it
    as open: the customer paid (`whole`: all it asks now), and is not sent the invoice
    again, which would ask for all of it; any rest is collected at the provider."""

    whole: bool


LATE_ASKED = frozenset({PaymentState.EXPIRED, PaymentState.SUPERSEDED})
"""Ends whose scheduled check means only that a return is still being asked about."""


@dataclass(frozen=True)
class UnderWay:
    """A payment of the invoice through invoicebot may be taking the money right now:
    no reminder, which would ask for it again."""


def under_way(store: Store, team_id: str, provider: str, invoice_id: str, *, payable: bool) -> bool:
    """Whether a payment of this invoice through invoicebot may be taking the money now:
    a charge or start whose outcome is not known yet, a watched end of a charge or with a
    return still being asked about, or, for a
    payable, a payment page being paid. Its payer was told not to pay again. A customer's
    page opened counts only once they came back from it (the provider's answer is still
    being asked for): a customer's link stays open for days, and a look is not a payment."""
    for payment in store.payments_for_invoices(team_id, provider, [invoice_id]):
        state = payment.state
        if state is PaymentState.UNKNOWN and not isinstance(payment.start, Emailed):
            # An e-mail whose sending is in doubt takes no money: it may have gone, as an
            # e-mailed invoice confirmed sent (not counted either), watched for 90 days.
            return True
        if state is PaymentState.CREATED and payment.charges_at_once:
            return True
        if (
            state in WATCHABLE
            and payment.next_check_at is not None
            and (payment.charges_at_once or store.kept_return(payment.id) is not None)
        ):
            # A watched end allows a new link (a cancel the browser reported, a failure
            # read from the invoice): only a charge, or a return still being asked
            # about, may be taking the money.
            return True
        if state is PaymentState.OPENED and (payable or store.kept_return(payment.id) is not None):
            return True
        if (
            state in LATE_ASKED
            and payment.next_check_at is not None
            and store.kept_return(payment.id) is not None
        ):
            # A return on a page whose link had ended, asked about again for about a day
            # (the provider could not be asked when it came): it may name money taken.
            return True
    return False


class NotSure(ProviderError):
    """The provider's answer was lost: the e-mail may have gone; it is recorded as sent."""


async def remind_customer(
    store: Store,
    runs: Runs,
    provider: Provider,
    invoice: Invoice,
    *,
    team_id: str,
    today: date,
    user_id: str | None,
    automatic: bool = False,
) -> Reminded | AlreadyToday | PaidHere | UnderWay:
    """E-mail `invoice` to its customer again, once a day at most; raises `ProviderError`
    (nothing recorded) when the provider refuses, `NotSure` when its answer was lost."""
    if not can_remind(provider):
        raise ProviderError(f"{provider.title} cannot send reminders.")
    if store.settlement_of(team_id, provider.name, [invoice.id]) is not None:  # read now
        paid = store.settled_amounts(team_id, provider.name, fresh=True).get(invoice.id)
        return PaidHere(whole=covered(invoice, paid))
    if under_way(store, team_id, provider.name, invoice.id, payable=False):
        return UnderWay()
    day = today.isoformat()
    claimed = runs.claim_reminder(
        CUSTOMER,
        team_id,
        provider.name,
        invoice.id,
        invoice.number,
        day,
        user_id=user_id,
        automatic=automatic,
    )
    if claimed is None:
        earlier = runs.reminders(
            team_id, kind=CUSTOMER, provider=provider.name, invoice_id=invoice.id
        )
        return AlreadyToday(next((r for r in earlier if r.day == day), None))
    subject = f"{provider.name}:{invoice.number}"
    try:
        sent_to = await provider.send_invoice(invoice.id)
    except ProviderUnavailable as error:
        with store.transaction():  # the reminder's state and its audit row, or neither
            runs.reminder_sent(claimed, "unknown")
            store.audit(
                "reminder.unknown",
                team_id=team_id,
                user_id=user_id,
                subject=subject,
                error=str(error),
            )
        raise NotSure(
            f"{provider.title} did not confirm sending the reminder for {invoice.number}; it "
            "may have gone out, so invoicebot counts it and sends no other today."
        ) from None
    except ProviderError as error:
        with store.transaction():
            runs.forget_reminder(claimed)
            store.audit(
                "reminder.refused",
                team_id=team_id,
                user_id=user_id,
                subject=subject,
                error=str(error),
            )
        raise
    with store.transaction():
        runs.reminder_sent(claimed, "sent", sent_to)
        store.audit(
            "reminder.sent",
            team_id=team_id,
            user_id=user_id,
            subject=subject,
            invoice_id=invoice.id,
            to=sent_to,
            automatic=automatic,
        )
    return Reminded(sent_to)


def due_for_auto_reminder(
    reminders: list[Reminder], today: date, every_days: int, at_most: int
) -> bool:
    """Every `every_days` since the last reminder of any kind, at most `at_most` automatic."""
    counted = [r for r in reminders if r.state != "failed"]
    if sum(1 for r in counted if r.automatic) >= at_most:
        return False
    if not counted:
        return True
    last = max(date.fromisoformat(r.day) for r in counted)
    return (today - last).days >= every_days
