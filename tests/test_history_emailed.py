"""An e-mailed invoice's history says no payment "by e-mail", nor a link or page."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast

from bot.history import Subject, attempts, settlement
from bot.models import Emailed, Money, Payment, PaymentState
from bot.slack.home import Ledger, home_blocks


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


def _emailed_waiting() -> Payment:
    return Payment(
        id="p2",
        team_id="T1",
        provider="payfirma",
        direction="receivable",
        invoice_ids=("212948",),
        invoice_numbers=("212948",),
        amount=Money.of("57.75", "CAD"),
        method_id="email",
        method_name="e-mail",
        user_id="U0SENDER",
        start=Emailed(to="jordan@mapleleaf.example"),
        state=PaymentState.LINK_ISSUED,
    )


def test_an_e_mailed_invoice_waits_for_its_customer_not_for_a_page_to_be_opened() -> None:
    """No link went out and there is no page to open: the customer pays the invoice."""
    subject = Subject("T1", "212948", [_emailed_waiting()], {"payfirma": "Payfirma"})
    store = cast(Any, type("Store", (), {"moves_of": lambda self, ids: []})())
    (line,) = [event.text for event in attempts(store, subject)]
    assert "(now waiting for the customer to pay)" in line and "link" not in line, line


def test_app_home_says_an_e_mailed_invoice_waits_for_its_customer() -> None:
    ledger = Ledger(settled=[], in_progress=[_emailed_waiting()])
    view = home_blocks(
        providers=[], found=None, ledger=ledger, user_id="U0SENDER", may_pay=True,
        today=date(2026, 12, 5),
    )  # fmt: skip
    waiting = next(b for b in view["blocks"] if "Waiting for payment" in str(b))["text"]["text"]
    assert "e-mail · waiting for the customer to pay" in waiting and "page" not in waiting
