"""The export as a bookkeeper reconciles it against the bank statement."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from bot.models import Invoice, InvoiceStatus, Money, OutcomeStatus, PaymentOutcome
from bot.provider import Capabilities, Direction
from bot.records import PAID_TWICE, Range, export
from bot.reminding import remind_customer
from bot.runs import Runs
from bot.settlement import Settlement
from tests.test_settlement import S, attempt, recorder, settlement, store  # noqa: F401


def test_a_second_payment_of_a_settled_invoice_is_in_the_settlements_file(
    settlement: Settlement,  # noqa: F811
) -> None:
    first = attempt(settlement, S.OPENED, opened_minutes_ago=2)
    settlement.apply(
        first,
        PaymentOutcome(status=OutcomeStatus.PAID, message="ok", reference="r1", attributed=True),
    )
    late = attempt(settlement, S.OPENED, opened_minutes_ago=1)
    settlement.apply(
        late,
        PaymentOutcome(status=OutcomeStatus.PAID, message="ok", reference="r2", attributed=True),
    )
    today = datetime.now(UTC).date()
    done = export(settlement.store, "T1", Range(today, today), ZoneInfo("UTC"), {"i3d": "i3D.net"})
    rows = list(csv.DictReader(io.StringIO(done.settlements_csv)))
    # The bank shows two debits of 12.50, under r1 and r2: both are in the file, the
    # second saying it is to be refunded, and the sums are the money that moved.
    by_reference = {row["reference"]: row for row in rows}
    assert sorted(by_reference) == ["r1", "r2"]
    assert by_reference["r1"]["note"] == ""
    assert by_reference["r2"]["note"] == PAID_TWICE
    assert by_reference["r2"]["settlement_id"] == by_reference["r1"]["settlement_id"]
    assert by_reference["r2"]["amount"] == "12.50"
    assert done.totals["payable", "EUR"] == Decimal("25.00")
    assert (done.count, done.twice) == (1, 1)  # one settlement, one second payment


def test_the_audit_row_of_a_settlement_names_its_invoices(
    settlement: Settlement,  # noqa: F811
) -> None:
    """`invoice.settled` is the row a bookkeeper looks for: its subject is a settlement
    id nobody can look up, so its `invoices` column must name what was settled."""
    paid = attempt(settlement, S.OPENED, opened_minutes_ago=1, invoices=("1001", "1002"))
    settlement.apply(
        paid,
        PaymentOutcome(status=OutcomeStatus.PAID, message="ok", reference="r1", attributed=True),
    )
    today = datetime.now(UTC).date()
    done = export(settlement.store, "T1", Range(today, today), ZoneInfo("UTC"), {})
    rows = list(csv.DictReader(io.StringIO(done.audit_csv)))
    (settled,) = [row for row in rows if row["action"] == "invoice.settled"]
    assert settled["invoices"] == "INV-1001, INV-1002"


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


async def test_no_reminder_e_mails_a_customer_whose_card_charge_is_being_confirmed(
    settlement: Settlement,  # noqa: F811
) -> None:
    """The customer's payment through invoicebot is in doubt (invoicebot keeps asking
    the provider): e-mailing them the invoice again asks them to pay twice."""
    charge = attempt(settlement, S.UNKNOWN, invoices=("1001",))
    settlement.store.update_payment(charge.id, direction="receivable", provider="payfirma")
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
        user_id=None,
        automatic=True,
    )
    assert provider.sent == [], done
