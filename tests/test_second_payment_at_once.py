"""A second payment heard while another process settles the invoice: two bot processes
on one PostgreSQL, one settling an invoice on its own word (an e-mailed invoice shows
paid), the other hearing at that very moment of money the provider ties to a customer's
link for the same invoice. Whichever commits first, the second payment is told."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bot import hookimpl
from bot.credentials import CredentialBox, generate_key
from bot.models import Emailed, OutcomeStatus, Payment, PaymentOutcome, PaymentState, Redirect
from bot.payments import Payments
from bot.plugins import make_plugin_manager
from bot.settlement import Settlement
from bot.store import Store
from tests.test_settlement import Recorder, attempt, state_of

S = PaymentState


class SlowToAnnounce:
    """Holds the settling transaction open a moment, as a busy process does."""

    def __init__(self) -> None:
        self.settling = threading.Event()

    @hookimpl
    def payment_confirmed(self, payment: Payment, outbox: Any, superseded: list[Payment]) -> None:
        self.settling.set()
        time.sleep(0.5)


@pytest.fixture
def store(database: str) -> Iterator[Store]:
    store = Store(database, CredentialBox(generate_key()))
    yield store
    store.close()


def test_money_tied_to_a_link_superseded_while_it_was_heard_is_told_as_paid_twice(
    database: str, store: Store
) -> None:
    if "postgresql" not in database:
        pytest.skip("a sqlite file is served by one process, which cannot interleave here")
    recorder, slow = Recorder(), SlowToAnnounce()
    pm = make_plugin_manager(entry_point_plugins=False)
    pm.register(recorder, name="recorder")
    pm.register(slow, name="slow")
    settlement = Settlement(Payments(store, pm), connections=None)  # type: ignore[arg-type]
    link = attempt(
        settlement, S.OPENED, start=Redirect(url="https://hpp.example/1"), opened_minutes_ago=1
    )
    mailed = attempt(settlement, S.LINK_ISSUED, start=Emailed(to="c@example.com"))

    def process(which: str) -> None:
        own = Store(database, store.box)
        other = Settlement(Payments(own, pm), connections=None)  # type: ignore[arg-type]
        try:
            if which == "poller":  # the invoice shows paid: credited to the e-mail
                other.apply(mailed, PaymentOutcome(status=OutcomeStatus.PAID, message="paid"))
            else:  # the customer's return: the provider ties its charge to the link
                slow.settling.wait(5)
                other.apply(
                    link,
                    PaymentOutcome(
                        status=OutcomeStatus.PAID,
                        message="approved",
                        reference="tx-2",
                        attributed=True,
                    ),
                )
        finally:
            own.close()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(process, ["poller", "landing"]))
    assert state_of(settlement, mailed) is S.PAID
    assert state_of(settlement, link) is S.SUPERSEDED
    assert len(recorder.confirmed) == 1
    twice = store.payment(link.id)
    assert twice is not None
    assert recorder.paid_twice == [(link.id, "tx-2")], "the second payment went unsaid"
    assert twice.paid_at and twice.receipt == "tx-2"
