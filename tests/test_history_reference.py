"""An invoice's history names the reference of its settlement, as #billing and the export do."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from bot.history import Subject, settlement
from bot.models import Money, Payment, PaymentState


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
