"""An invoice's history tells its settlement as #billing and the export do: reference, own share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from bot.history import Subject, settlement
from bot.models import InvoiceAmount, Money, Payment, PaymentState


def test_a_settlement_confirmed_by_the_poller_names_the_providers_reference() -> None:
    """i3D.net's poller learns the transaction id (`provider_reference`) but no receipt:
    #billing and the export's `reference` column show it, so the story does too."""
    paid = Payment(
        id="p1",
        team_id="T1",
        provider="i3d",
        invoice_ids=("410007",),
        invoice_numbers=("INV-24-0104",),
        amount=Money.of("1427.80", "EUR"),
        method_id="20",
        method_name="Credit card",
        user_id="U0PAYER",
        state=PaymentState.PAID,
        settlement_id="s1",
        provider_reference="tx_814a2df36f7f90b3",
        paid_at=datetime(2026, 12, 5, 5, 3, tzinfo=UTC),
    )
    subject = Subject("T1", "INV-24-0104", [paid], {"i3d": "i3D.net"})
    (settled,) = settlement(cast(Any, None), subject)
    assert "(reference tx_814a2df36f7f90b3)" in settled.text, settled.text


def test_an_invoice_paid_together_with_another_says_its_own_share() -> None:
    """Its story is read to book this one invoice: "Settled: €459.80" on a €121.00
    invoice reads as €459.80 paid for it; #billing names each invoice's amount."""
    paid = Payment(
        id="p1",
        team_id="T1",
        provider="i3d",
        invoice_ids=("410002", "410001"),
        invoice_numbers=("INV-24-0087", "INV-24-0101"),
        amount=Money.of("459.80", "EUR"),
        method_id="20",
        method_name="Credit card",
        user_id="U0PAYER",
        state=PaymentState.PAID,
        settlement_id="s1",
        paid_at=datetime(2026, 12, 5, 5, 17, tzinfo=UTC),
        lines=(
            InvoiceAmount(number="INV-24-0087", amount=Money.of("363.00", "EUR")),
            InvoiceAmount(number="INV-24-0101", amount=Money.of("121.00", "EUR")),
        ),
        credits=(InvoiceAmount(number="CRN-24-0003", amount=Money.of("24.20", "EUR")),),
    )
    subject = Subject("T1", "INV-24-0101", [paid], {"i3d": "i3D.net"})
    (settled,) = settlement(cast(Any, None), subject)
    assert "€121.00 of €459.80" in settled.text and "INV-24-0087" in settled.text, settled.text


def test_a_settlement_names_the_bank_as_billing_and_the_export_do() -> None:
    """#billing says "iDEAL (ING)" and the export's `method` column too: the story read
    beside them and the bank statement names the same bank."""
    paid = Payment(
        id="p1",
        team_id="T1",
        provider="i3d",
        invoice_ids=("410001",),
        invoice_numbers=("INV-24-0101",),
        amount=Money.of("96.80", "EUR"),
        method_id="10",
        method_name="iDEAL",
        issuer_name="ING",
        user_id="U0PAYER",
        state=PaymentState.PAID,
        settlement_id="s1",
        paid_at=datetime(2026, 12, 5, 5, 3, tzinfo=UTC),
    )
    subject = Subject("T1", "INV-24-0101", [paid], {"i3d": "i3D.net"})
    (settled,) = settlement(cast(Any, None), subject)
    assert "by iDEAL (ING)" in settled.text, settled.text


def test_a_settlement_says_what_the_provider_noted_beside_it() -> None:
    """#billing and the export's `note` say the invoice is listed paid at another amount:
    the story read when the customer disputes it must say so too."""
    said = "Payfirma lists invoice 1207 paid at CAD 80.00, not the CAD 100.00 it was sent for"
    paid = Payment(
        id="p1",
        team_id="T1",
        provider="payfirma",
        invoice_ids=("1207",),
        invoice_numbers=("1207",),
        amount=Money.of("100.00", "CAD"),
        method_id="link",
        method_name="Card",
        user_id="U0PAYER",
        state=PaymentState.PAID,
        settlement_id="s1",
        paid_at=datetime(2026, 12, 5, 5, 3, tzinfo=UTC),
        last_error=f"{said}: check in PayHQ what was received.",
    )
    subject = Subject("T1", "1207", [paid], {"payfirma": "Payfirma"})
    (settled,) = settlement(cast(Any, None), subject)
    assert said in settled.text, settled.text
