"""App Home's "Due this week": open credit notes past their date take none of its places."""

from __future__ import annotations

from datetime import UTC, timedelta
from types import SimpleNamespace
from typing import Any, cast
from unittest.mock import AsyncMock

from bot.approvals_policy import Policy
from bot.models import Invoice, InvoicePage, InvoiceQuery, InvoiceStatus, Money, today_utc
from bot.slack.home import HOME_LIST, home_view
from bot.snapshots import Snapshots
from tests.test_paging import Ledger


class Credited(Ledger):
    """HOME_LIST open credit notes dated last month, and one bill due in two days."""

    def __init__(self) -> None:
        super().__init__(0)

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
        bill = Invoice(
            provider=self.name,
            id="bill",
            number="INV-DUE-SOON",
            amount_due=Money.of("121.00", "EUR"),
            total_incl_vat=Money.of("121.00", "EUR"),
            due=today + timedelta(days=2),
            status=InvoiceStatus.OPEN,
        )
        return [*credits, bill]

    async def list_invoices(self, query: InvoiceQuery) -> InvoicePage:
        return InvoicePage(invoices=self.everything())


async def test_old_credit_notes_do_not_hide_a_bill_due_this_week() -> None:
    ledger = Credited()
    svc = SimpleNamespace(
        snapshots=Snapshots(),
        connections=SimpleNamespace(connected=lambda team_id: [ledger]),
        store=SimpleNamespace(
            recent_payments=lambda *args: [],
            recent_settlements=lambda *args: [],
            settled_amounts=lambda *args: {},
        ),
        approvals=SimpleNamespace(policy=lambda team_id: Policy()),
        access=SimpleNamespace(may_pay=AsyncMock(return_value=False)),
        today=today_utc,
        zone=lambda: UTC,
    )
    said = str(await home_view(cast(Any, svc), "T0TEAM", "U0PAYER"))
    week = said[said.index("Due this week") :]
    assert "INV-DUE-SOON" in week, week
