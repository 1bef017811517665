"""App Home's "Due this week": open credit notes past their date take none of its places,
and its days are the digest's (today and the next 7)."""

from __future__ import annotations

from datetime import timedelta

from bot.models import Invoice, InvoicePage, InvoiceQuery, InvoiceStatus, Money, today_utc
from bot.slack.home import HOME_LIST, home_view
from tests.test_paging import Ledger, home_services


class Credited(Ledger):
    """HOME_LIST open credit notes dated last month, and one bill due in two days."""

    def __init__(self, *bills_due_in: int) -> None:
        super().__init__(0)
        self.bills_due_in = bills_due_in or (2,)

    def everything(self) -> list[Invoice]:
        today = today_utc()
        credits = [
            Invoice(
                provider=self.name,
                id=f"crn-{n}",
                number=f"CRN-{n}",
                amount_due=Money.of("-5.00", "EUR"),
                total_incl_vat=Money.of("-5.00", "EUR"),
                due=today - timedelta(days=30 + n),
                status=InvoiceStatus.OPEN,
                is_credit=True,
            )
            for n in range(HOME_LIST)
        ]
        bills = [
            Invoice(
                provider=self.name,
                id=f"bill-{days}",
                number="INV-DUE-SOON" if days == 2 else f"INV-DUE-IN-{days}",
                amount_due=Money.of("121.00", "EUR"),
                total_incl_vat=Money.of("121.00", "EUR"),
                due=today + timedelta(days=days),
                status=InvoiceStatus.OPEN,
            )
            for days in self.bills_due_in
        ]
        return [*credits, *bills]

    async def list_invoices(self, query: InvoiceQuery) -> InvoicePage:
        return InvoicePage(invoices=self.everything())


async def _home(ledger: Credited) -> str:
    return str(await home_view(home_services(ledger), "T0TEAM", "U0PAYER"))


async def _week(ledger: Credited) -> str:
    said = await _home(ledger)
    return said[said.index("Due this week") :]


async def test_old_credit_notes_do_not_hide_a_bill_due_this_week() -> None:
    week = await _week(Credited())
    assert "INV-DUE-SOON" in week, week


async def test_a_bill_due_in_7_days_is_due_this_week_as_in_the_digest() -> None:
    week = await _week(Credited(7, 8))
    assert "INV-DUE-IN-7" in week and "INV-DUE-IN-8" not in week, week


async def test_open_credit_notes_alone_are_worth_their_sum_not_nothing() -> None:
    ledger = Credited()
    ledger.bills_due_in = ()
    said = await _home(ledger)
    assert "nothing (€40.00 in credit notes)" in said and "nothing open" in said, said
