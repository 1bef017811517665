"""What #billing and the creator of a lost create read: escaped, and plain about totals."""

from __future__ import annotations

import json

from bot.lost_creates import found_messages, not_found_messages
from bot.models import REFERENCE_CHARS, Invoice, InvoiceStatus, Money
from bot.slack.new_invoice import reference, review_view
from plugins.payfirma.provider import PayfirmaProvider
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


def test_the_review_carries_no_reference_and_each_form_gets_its_own() -> None:
    """Set at the submit from the form's own key: one per form, never from the metadata."""
    new = draft(line("Shelving", "3", "3.00"), reference="ib-forged")
    meta = json.loads(review_view(PayfirmaProvider, new, True)["private_metadata"])
    assert "reference" not in meta["draft"]
    one, other = reference("review_invoice:T1:V1"), reference("review_invoice:T1:V2")
    assert one != other and one == reference("review_invoice:T1:V1")
    assert len(one) <= REFERENCE_CHARS
