"""An e-mailed invoice's history says no payment "by e-mail"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from bot.history import Subject, attempts, settlement
from bot.models import Emailed, Money, Payment, PaymentState


def test_the_history_of_an_e_mailed_invoice_says_no_payment_by_e_mail() -> None:
    paid = Payment(
        id="p1",
        team_id="T1",
        provider="payfirma",
        direction="receivable",
        invoice_ids=("212947",),
        invoice_numbers=("INV-55",),
        amount=Money.of("102.50", "CAD"),
        method_id="email",
        method_name="e-mail",
        user_id="U0SENDER",
        start=Emailed(to="ap@acme.example"),
        state=PaymentState.PAID,
        settlement_id="s1",
        paid_at=datetime(2026, 12, 4, 12, tzinfo=UTC),
    )
    subject = Subject("T1", "INV-55", [paid], {"payfirma": "Payfirma"})
    store = cast(Any, type("Store", (), {"moves_of": lambda self, ids: []})())
    said = [event.text for event in [*attempts(store, subject), *settlement(store, subject)]]
    assert said and not [text for text in said if "by e-mail" in text], said
