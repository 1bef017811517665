"""An invoice paid through invoicebot that the provider lists open again: a settlement
here bridges a provider's delay in booking the payment for a while, never for ever."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from bot.models import OutcomeStatus, PaymentOutcome
from bot.provider import Capabilities
from bot.settlement import Settlement
from bot.slack.listing import settled_here
from tests.test_settlement import S, attempt, recorder, settlement, store  # noqa: F401


def _provider(shows: bool) -> Any:
    return SimpleNamespace(name="i3d", capabilities=Capabilities(invoice_shows_page_payments=shows))


def _paid(settlement: Settlement, invoice: str, ago: timedelta) -> None:  # noqa: F811
    page = attempt(settlement, S.OPENED, opened_minutes_ago=1, invoices=(invoice,))
    when = datetime.now(UTC) - ago
    settlement.apply(page, PaymentOutcome(status=OutcomeStatus.PAID, paid_at=when))


def test_a_provider_listing_a_paid_invoice_open_again_is_believed_after_a_while(
    settlement: Settlement,  # noqa: F811
) -> None:
    """Paid two hours ago and listed open again for the amount paid (a chargeback, a
    reversed payment): the list shows it open, as the provider does. One paid a minute
    ago still shows paid while the provider books it."""
    _paid(settlement, "1001", timedelta(hours=2))
    _paid(settlement, "1002", timedelta(minutes=1))
    svc = SimpleNamespace(store=settlement.store)
    shown = settled_here(svc, "T1", [_provider(shows=True)])  # type: ignore[arg-type]
    assert sorted(shown["i3d"]) == ["1002"]


def test_a_provider_whose_invoice_never_shows_a_pages_money_keeps_the_settlement(
    settlement: Settlement,  # noqa: F811
) -> None:
    """Payfirma never marks an invoice its card page was paid on: its "open" says
    nothing of that money, and the settlement here stands."""
    _paid(settlement, "1001", timedelta(days=3))
    svc = SimpleNamespace(store=settlement.store)
    shown = settled_here(svc, "T1", [_provider(shows=False)])  # type: ignore[arg-type]
    assert sorted(shown["i3d"]) == ["1001"]


def test_an_invoice_listed_open_again_after_it_was_paid_here_says_so(
    settlement: Settlement,  # noqa: F811
) -> None:
    """The list line of a reopened invoice says it was paid with invoicebot, so a payer
    who is refused a second payment of it sees why, and #billing can look at the
    provider for a chargeback."""
    from bot.models import Invoice, InvoiceStatus, Money
    from bot.slack.blocks.listing import invoice_line
    from bot.slack.listing import settled_on

    _paid(settlement, "1001", timedelta(hours=2))
    reopened = Invoice(
        provider="i3d",
        id="1001",
        number="INV-1001",
        amount_due=Money.of("12.50", "EUR"),
        total_incl_vat=Money.of("12.50", "EUR"),
        status=InvoiceStatus.OPEN,
    )
    never = reopened.model_copy(update={"id": "1003", "number": "INV-1003"})
    svc = SimpleNamespace(store=settlement.store, zone=lambda: UTC)
    since = datetime.now(UTC) - timedelta(hours=1)
    days = settled_on(svc, "T1", [reopened, never], {"i3d": since})  # type: ignore[arg-type]
    paid_day = (datetime.now(UTC) - timedelta(hours=2)).date()
    assert days == {("i3d", "1001"): paid_day}
    assert settled_on(svc, "T1", [reopened], {}) == {}  # type: ignore[arg-type]
    today = datetime.now(UTC).date()
    line = invoice_line(reopened, "i3D.net", today, days[("i3d", "1001")])
    assert f"open again, though paid with invoicebot on {paid_day.isoformat()}" in line
    assert "open again" not in invoice_line(never, "i3D.net", today)


async def test_app_home_says_an_overdue_invoice_is_open_again_after_it_was_paid_here() -> None:
    from bot.models import today_utc
    from bot.slack.home import home_view
    from tests.test_paging import Ledger, home_services, in_people_order

    ledger = Ledger(60)
    today = today_utc()
    invoices = {i.id: i for i in ledger.everything()}
    overdue = [i for i in in_people_order(ledger, open_only=True) if invoices[i].is_overdue(today)]
    paid_on = datetime.now(UTC) - timedelta(days=2)
    svc = home_services(ledger)
    svc.store.settled_dates = lambda team, provider, ids: {  # type: ignore[attr-defined]
        key: paid_on.isoformat() for key in ids if key == overdue[0]
    }
    said = str(await home_view(svc, "T0TEAM", "U0PAYER"))
    note = f"open again, though paid with invoicebot on {paid_on.date().isoformat()}"
    assert said.count(note) == 1


def test_an_invoice_paid_here_moments_ago_for_less_than_asked_is_not_said_open_again(
    settlement: Settlement,  # noqa: F811
) -> None:
    """Paid ten minutes ago, and the provider asks more than was paid (it has not booked
    the payment yet, perhaps): listed open as the provider has it, but not said to be
    open again, which lists and Pay say only once `PAID_BRIDGE` has passed."""
    from bot.invoices import bridged_since
    from bot.models import Invoice, InvoiceStatus, Money
    from bot.slack.listing import settled_on

    _paid(settlement, "1001", timedelta(minutes=10))
    asked = Invoice(
        provider="i3d",
        id="1001",
        number="INV-1001",
        amount_due=Money.of("99.00", "EUR"),
        total_incl_vat=Money.of("99.00", "EUR"),
        status=InvoiceStatus.OPEN,
    )
    svc = SimpleNamespace(store=settlement.store, zone=lambda: UTC)
    since = bridged_since(_provider(shows=True))
    assert since is not None
    assert settled_on(svc, "T1", [asked], {"i3d": since}) == {}  # type: ignore[arg-type]
