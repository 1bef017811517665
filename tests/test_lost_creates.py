"""What #billing and the creator of a lost create read: escaped, and plain about totals."""

from __future__ import annotations

from bot.lost_creates import found_messages, not_found_messages
from bot.models import Invoice, InvoiceStatus, Money
from tests.payfirma.test_payfirma_issuing import draft, line

EMAIL = "ap@riverside.example"


def test_an_invoice_found_at_other_totals_is_said_to_be_corrected_and_names_are_escaped() -> None:
    new = draft(
        line("Shelving", "3", "3.00"), customer_name="Riverside <Books>", customer_email=EMAIL
    )
    invoice = Invoice(
        provider="payfirma",
        id="212953",
        number="212953",
        status=InvoiceStatus.OPEN,
        total_excl_vat=Money.of("9.50", "CAD"),
        total_incl_vat=Money.of("9.50", "CAD"),
        amount_due=Money.of("9.50", "CAD"),
    )
    billing, creator = found_messages(new, invoice, "Payfirma", "U0PAYER")
    for said in (billing, creator):
        assert "Riverside &lt;Books&gt;" in said and "<Books>" not in said
        assert said.endswith(
            "Payfirma lists it at CA$9.50, not the CA$9.00 reviewed: correct or void it at "
            "Payfirma."
        )
    for said in not_found_messages(new, "Payfirma", "U0PAYER"):
        assert "Riverside &lt;Books&gt;" in said and "CA$9.00" in said
