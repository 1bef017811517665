"""One settlement per invoice: which attempt the provider's evidence credits, and what
becomes of the others. Outcomes are fed in as a provider would report them. Every test
runs on sqlite and on PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest

from bot import hookimpl
from bot.credentials import CredentialBox, generate_key
from bot.engine import open_engine
from bot.history import story
from bot.models import (
    Captured,
    Emailed,
    FormPost,
    Money,
    OutcomeStatus,
    Payment,
    PaymentCheck,
    PaymentOutcome,
    PaymentState,
    Redirect,
)
from bot.payments import Payments
from bot.plugins import make_plugin_manager
from bot.provider import Capabilities
from bot.settlement import REPLAYS, Settlement
from bot.slack.blocks.paying import settled
from bot.store import MIGRATIONS, Store, migrate, utc_text

S = PaymentState
PAID = PaymentOutcome(status=OutcomeStatus.PAID, message="the invoice shows paid")
PAID_HERE = PaymentOutcome(status=OutcomeStatus.PAID, message="our transaction", attributed=True)
PENDING = PaymentOutcome(status=OutcomeStatus.PENDING)
UNKNOWN = PaymentOutcome(status=OutcomeStatus.UNKNOWN, message="timed out")
CANCELLED = PaymentOutcome(status=OutcomeStatus.CANCELLED, message="You cancelled the payment.")


class Recorder:
    def __init__(self) -> None:
        self.confirmed: list[tuple[str, list[str]]] = []
        self.ended: list[tuple[str, PaymentState]] = []
        self.in_doubt: list[tuple[str, PaymentState]] = []
        self.paid_twice: list[tuple[str, str | None]] = []
        self.certain: list[bool] = []
        self.unanswered: list[str] = []
        self.unanswered_settled: list[bool] = []

    @hookimpl
    def payment_confirmed(self, payment: Payment, outbox: Any, superseded: list[Payment]) -> None:
        self.confirmed.append((payment.id, [p.id for p in superseded]))
        outbox.enqueue("chat.postMessage", {"text": "paid"}, key=f"paid:{payment.settlement_id}")

    @hookimpl
    def payment_ended(self, payment: Payment, outbox: Any) -> None:
        self.ended.append((payment.id, payment.state))

    @hookimpl
    def payment_in_doubt(self, payment: Payment, outbox: Any) -> None:
        self.in_doubt.append((payment.id, payment.state))

    @hookimpl
    def payment_paid_twice(self, payment: Payment, outbox: Any, certain: bool) -> None:
        self.paid_twice.append((payment.id, payment.receipt))
        self.certain.append(certain)

    @hookimpl
    def payment_return_unanswered(self, payment: Payment, outbox: Any, settled: bool) -> None:
        self.unanswered.append(payment.id)
        self.unanswered_settled.append(settled)


@pytest.fixture
def store(database: str) -> Iterator[Store]:
    store = Store(database, CredentialBox(generate_key()))
    yield store
    store.close()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def settlement(store: Store, recorder: Recorder) -> Iterator[Settlement]:
    pm = make_plugin_manager(entry_point_plugins=False)
    pm.register(recorder, name="recorder")
    try:
        yield Settlement(Payments(store, pm), connections=None)  # type: ignore[arg-type]
    finally:
        pm.unregister(name="recorder")


FORM = FormPost(url="https://psp.example/pay", fields=[])


def attempt(
    settlement: Settlement,
    state: PaymentState,
    *,
    user: str = "U1",
    start: Any = FORM,
    opened_minutes_ago: float | None = None,
    invoices: tuple[str, ...] = ("1001",),
    saved_card: bool = False,
    response_url: str | None = None,
) -> Payment:
    payment, _ = settlement.payments.record(
        Payment(
            team_id="T1",
            provider="i3d",
            invoice_ids=invoices,
            invoice_numbers=tuple(f"INV-{i}" for i in invoices),
            amount=Money.of("12.50", "EUR"),
            method_id="2",
            method_name="iDEAL",
            user_id=user,
            charges_at_once=saved_card,
            response_url=response_url,
        )
    )
    fields: dict[str, Any] = {"state": state.value}
    if start is not None:
        fields["start"] = start.model_dump_json()
    if opened_minutes_ago is not None:
        opened = datetime.now(UTC) - timedelta(minutes=opened_minutes_ago)
        fields["opened_at"] = opened.isoformat(timespec="seconds")
    assignments = ", ".join(f"{column} = ?" for column in fields)
    settlement.store.db.execute(
        f"UPDATE payments SET {assignments} WHERE id = ?",  # noqa: S608
        [*fields.values(), payment.id],
    )
    found = settlement.store.payment(payment.id)
    assert found is not None
    return found


def state_of(settlement: Settlement, payment: Payment) -> PaymentState:
    found = settlement.store.payment(payment.id)
    assert found is not None
    return found.state


def test_a_cancelled_link_next_to_a_paid_one_is_never_credited(
    settlement: Settlement, recorder: Recorder
) -> None:
    """Story: A cancels on the provider's page, B pays; A's landing is reloaded later."""
    a = attempt(settlement, S.OPENED, user="UA", opened_minutes_ago=5)
    settlement.apply(a, CANCELLED)
    b = attempt(settlement, S.OPENED, user="UB", opened_minutes_ago=1)
    settlement.apply(b, PAID)
    settlement.apply(a, PAID)  # A's landing, reloaded: the invoice now shows paid
    assert state_of(settlement, a) is S.CANCELLED
    assert state_of(settlement, b) is S.PAID
    assert recorder.confirmed == [(b.id, [a.id])]  # A hears its cancel is checked no more


def test_a_cancel_the_browser_reported_is_watched_and_a_late_payment_settles_it(
    settlement: Settlement, recorder: Recorder
) -> None:
    """Story: the payer clicks the provider page's Cancel (or Back), then pays on that
    still-open page after all: the money must not be lost behind "cancelled"."""
    link = attempt(settlement, S.OPENED, opened_minutes_ago=2)
    settlement.apply(link, CANCELLED)
    ended = settlement.store.payment(link.id)
    assert ended is not None and ended.state is S.CANCELLED and ended.next_check_at
    due = settlement.store.payments_to_check(time.time() + 60)
    assert [p.id for p in due] == [link.id], "the poller still asks about it"
    settlement.apply(ended, CANCELLED)
    settlement.apply(ended, PAID)
    assert state_of(settlement, link) is S.PAID
    assert recorder.confirmed == [(link.id, [])]


def test_a_cancel_the_provider_ties_to_the_attempt_is_final(settlement: Settlement) -> None:
    link = attempt(settlement, S.OPENED, opened_minutes_ago=2)
    settlement.apply(link, CANCELLED.model_copy(update={"attributed": True}))
    ended = settlement.store.payment(link.id)
    assert ended is not None and ended.state is S.CANCELLED and ended.next_check_at is None
    assert not ended.unconfirmed_end, "its pages may say that nothing was charged"
    settlement.apply(ended, PAID)
    assert state_of(settlement, link) is S.CANCELLED


def test_a_watched_end_stays_unconfirmed_once_its_watch_is_over(
    settlement: Settlement,
) -> None:
    """Paid through another attempt, or past the window: the watch ends, and what the
    browser or the invoice said is still not the provider's word on this attempt."""
    link = attempt(settlement, S.OPENED, user="UA", opened_minutes_ago=5)
    settlement.apply(link, CANCELLED)
    other = attempt(settlement, S.OPENED, user="UB", opened_minutes_ago=1)
    settlement.apply(other, PAID)
    cancelled = settlement.store.payment(link.id)
    assert cancelled is not None and cancelled.state is S.CANCELLED
    assert cancelled.next_check_at is None and cancelled.unconfirmed_end

    settlement.give_up_after = -3600  # past the window already
    charge = attempt(settlement, S.UNKNOWN, start=None, saved_card=True, invoices=("1002",))
    settlement.apply(charge, FAILED_BY_INVOICE)
    watched = settlement.store.payment(charge.id)
    assert watched is not None and watched.next_check_at and watched.unconfirmed_end
    settlement.apply(watched, PENDING)
    given_up = settlement.store.payment(charge.id)
    assert given_up is not None and given_up.state is S.FAILED
    assert given_up.next_check_at is None and given_up.unconfirmed_end


def test_the_invoice_showing_paid_credits_the_last_attempt_opened(
    settlement: Settlement, recorder: Recorder
) -> None:
    """i3D cannot tell attempts apart: whoever reached the payment page last is credited,
    even when the poller happens to ask about the other attempt first."""
    a = attempt(settlement, S.OPENED, user="UA", opened_minutes_ago=9)
    b = attempt(settlement, S.OPENED, user="UB", opened_minutes_ago=2)
    settlement.apply(a, PAID)
    settlement.apply(b, PAID)
    assert state_of(settlement, b) is S.PAID
    assert state_of(settlement, a) is S.SUPERSEDED
    assert recorder.confirmed == [(b.id, [a.id])]
    assert settlement.store.outbox_pending() == 1


def test_a_link_nobody_opened_is_never_credited(settlement: Settlement, recorder: Recorder) -> None:
    unopened = attempt(settlement, S.LINK_ISSUED, user="UA")
    opened = attempt(settlement, S.OPENED, user="UB", opened_minutes_ago=20)
    settlement.apply(unopened, PAID)
    assert state_of(settlement, opened) is S.PAID
    assert state_of(settlement, unopened) is S.SUPERSEDED
    assert recorder.confirmed == [(opened.id, [unopened.id])]


def test_paid_elsewhere_credits_nobody_and_posts_nothing(
    settlement: Settlement, recorder: Recorder
) -> None:
    unopened = attempt(settlement, S.LINK_ISSUED)
    settlement.apply(unopened, PAID)
    assert state_of(settlement, unopened) is S.SUPERSEDED
    assert recorder.confirmed == []
    assert settlement.store.settlements() == []


def test_evidence_naming_an_attempt_credits_it_even_after_a_decline(
    settlement: Settlement, recorder: Recorder
) -> None:
    """A customer declined once, then paid on the same page: the transaction names it."""
    declined = attempt(settlement, S.FAILED, user="UA", opened_minutes_ago=10)
    newer = attempt(settlement, S.OPENED, user="UB", opened_minutes_ago=1)
    settlement.apply(declined, PAID)  # only the invoice shows paid: a failed attempt is not
    assert state_of(settlement, declined) is S.FAILED and recorder.confirmed == []
    settlement.apply(declined, PAID_HERE)
    assert state_of(settlement, declined) is S.PAID
    assert recorder.confirmed == [(declined.id, [newer.id])]


def test_evidence_naming_an_attempt_beats_the_most_recent_one(
    settlement: Settlement, recorder: Recorder
) -> None:
    link = attempt(settlement, S.OPENED, user="UA", opened_minutes_ago=10)
    emailed = attempt(settlement, S.LINK_ISSUED, user="UB", start=Emailed(to="c@example.com"))
    settlement.apply(link, PAID_HERE)
    settlement.apply(emailed, PAID)
    assert state_of(settlement, link) is S.PAID
    assert state_of(settlement, emailed) is S.SUPERSEDED
    assert recorder.confirmed == [(link.id, [emailed.id])]
    (row,) = settlement.store.settlements()
    assert row["evidence"] == "attempt" and row["payment_id"] == link.id


def test_the_same_paid_outcome_twice_settles_once(
    settlement: Settlement, recorder: Recorder
) -> None:
    a = attempt(settlement, S.OPENED, opened_minutes_ago=1)
    first = settlement.settle(a, PAID)
    second = settlement.settle(a, PAID)
    assert first is not None and first.state is S.PAID and second is None
    assert len(recorder.confirmed) == 1
    assert settlement.store.outbox_pending() == 1


def test_a_payment_time_with_the_providers_offset_is_stored_in_utc(
    settlement: Settlement,
) -> None:
    """Times order as text in the store: one kept in the provider's own zone would sort
    among UTC ones by its local clock."""
    a = attempt(settlement, S.OPENED, opened_minutes_ago=1)
    pacific = timezone(timedelta(hours=-8))
    at = datetime(2026, 12, 4, 20, 30, tzinfo=pacific)
    paid = settlement.settle(a, PAID_HERE.model_copy(update={"paid_at": at}))
    assert paid is not None and paid.paid_at == at
    stored = settlement.store.db.execute("SELECT paid_at FROM payments WHERE id = ?", [a.id])
    assert stored.fetchone()[0] == "2026-12-05T04:30:00+00:00"
    [(when, _)] = settlement.store.recent_settlements(a.team_id)
    assert when == at


def test_the_database_refuses_a_second_settlement_of_an_invoice(
    settlement: Settlement,
) -> None:
    a = attempt(settlement, S.OPENED, opened_minutes_ago=1)
    b = attempt(settlement, S.OPENED, opened_minutes_ago=2)
    store = settlement.store
    store.add_settlement("s1", a, evidence="invoice", settled_at="2026-12-02T00:00:00+00:00")
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
        store.add_settlement("s2", b, evidence="invoice", settled_at="2026-12-02T00:00:00+00:00")


def test_paying_several_supersedes_a_single_attempt_on_one_of_them(
    settlement: Settlement, recorder: Recorder
) -> None:
    both = attempt(settlement, S.OPENED, invoices=("1001", "1002"), opened_minutes_ago=1)
    single = attempt(settlement, S.LINK_ISSUED, invoices=("1002",))
    settlement.apply(both, PAID)
    assert state_of(settlement, single) is S.SUPERSEDED
    assert settlement.store.settlement_of("T1", "i3d", ["1002"]) is not None


def test_a_plugin_that_raises_loses_only_its_own_work(
    settlement: Settlement, recorder: Recorder
) -> None:
    class Broken:
        @hookimpl
        def payment_confirmed(self, payment: Payment, outbox: Any) -> None:
            outbox.enqueue("chat.postMessage", {"text": "half"}, key="broken")
            raise RuntimeError("boom")

    pm = settlement.payments.pm
    pm.register(Broken(), name="broken")
    try:
        a = attempt(settlement, S.OPENED, opened_minutes_ago=1)
        settlement.apply(a, PAID)
    finally:
        pm.unregister(name="broken")
    assert state_of(settlement, a) is S.PAID
    keys = [item.key for item in settlement.store.due_outbox(time.time() + 1)]
    assert keys == [f"paid:{settlement.store.payment(a.id).settlement_id}"]  # type: ignore[union-attr]


def test_an_unknown_charge_is_asked_about_until_the_provider_knows(
    settlement: Settlement, recorder: Recorder
) -> None:
    charge = attempt(settlement, S.UNKNOWN, start=None, saved_card=True, response_url="u")
    settlement.apply(charge, UNKNOWN)
    settlement.apply(charge, PENDING)
    assert state_of(settlement, charge) is S.UNKNOWN
    _, attempts = settlement.store.payment_schedule(charge.id)
    assert attempts == 2
    settlement.apply(charge, PAID)
    assert state_of(settlement, charge) is S.PAID
    assert recorder.confirmed == [(charge.id, [])]


def test_an_unknown_charge_the_provider_never_confirms_ends_and_the_payer_hears(
    settlement: Settlement, recorder: Recorder
) -> None:
    settlement.give_up_after = -3600  # past the window already
    charge = attempt(settlement, S.UNKNOWN, start=None, saved_card=True, response_url="u")
    settlement.apply(charge, PENDING)
    assert state_of(settlement, charge) is S.EXPIRED
    assert recorder.ended == [(charge.id, S.EXPIRED)]


class _Shows:
    """Connections as far as an expiry needs them: whether the invoice shows page money."""

    def __init__(self, shows: bool) -> None:
        self.capabilities = Capabilities(invoice_shows_page_payments=shows)

    def provider_class(self, name: str) -> _Shows:
        return self


@pytest.mark.parametrize(
    ("shows", "last_word"),
    [(True, "unknown"), (False, "pending"), (False, "unknown")],
)
def test_an_opened_page_the_provider_never_confirms_ends_and_is_told(
    settlement: Settlement, recorder: Recorder, shows: bool, last_word: str
) -> None:
    """The payer reached the provider's page, and the provider could not be asked at
    the end, or its invoice cannot show a page's money: when the watch ends, the end is
    told (#billing reads it as never confirmed), not dropped like a link nobody opened."""
    settlement.connections = _Shows(shows)  # type: ignore[assignment]
    settlement.give_up_after = -3600  # past the window already
    page = attempt(settlement, S.OPENED, opened_minutes_ago=40)
    unused = attempt(settlement, S.LINK_ISSUED, invoices=("1002",))
    settlement.store.db.execute(
        "UPDATE payments SET token_expires_at = ? WHERE id = ?", [time.time() - 60, unused.id]
    )
    said = PaymentOutcome(status=OutcomeStatus(last_word), message="no answer")
    settlement.apply(page, said)
    settlement.apply(settlement.store.payment(unused.id), said)  # type: ignore[arg-type]
    assert state_of(settlement, page) is S.EXPIRED
    assert state_of(settlement, unused) is S.EXPIRED
    assert recorder.ended == [(page.id, S.EXPIRED)]  # an unused link just expires
    told = settled(settlement.store.payment(page.id))  # type: ignore[arg-type]
    assert "never confirmed" in told["text"] and "before paying again" in told["text"]
    assert "Try again" not in str(told["blocks"])


def test_an_opened_page_whose_invoice_stayed_unpaid_just_expires(
    settlement: Settlement, recorder: Recorder
) -> None:
    """i3D.net and PingProxies mark the invoice paid when their page takes money: one
    still listed unpaid when the watch ends took none, and #billing hears nothing of a
    page its payer only looked at."""
    settlement.connections = _Shows(True)  # type: ignore[assignment]
    settlement.give_up_after = -3600
    page = attempt(settlement, S.OPENED, opened_minutes_ago=40)
    settlement.apply(page, PENDING.model_copy(update={"invoice_unpaid": True}))
    assert state_of(settlement, page) is S.EXPIRED
    assert recorder.ended == []


def test_an_opened_page_whose_money_is_on_its_way_is_told_at_its_end(
    settlement: Settlement, recorder: Recorder
) -> None:
    """Still waiting is not unpaid: the provider may say the page's payment went through
    and is not booked yet, or some of its invoices are paid. A watch that ends on such a
    word is told (#billing reads it as never confirmed), not dropped."""
    settlement.connections = _Shows(True)  # type: ignore[assignment]
    settlement.give_up_after = -3600
    page = attempt(settlement, S.OPENED, opened_minutes_ago=40)
    went_through = "i3D.net reports the payment went through; waiting for it to show paid."
    settlement.apply(page, PaymentOutcome(status=OutcomeStatus.PENDING, message=went_through))
    assert state_of(settlement, page) is S.EXPIRED
    assert recorder.ended == [(page.id, S.EXPIRED)]


def test_an_interrupted_start_unblocks_and_is_asked_about_once(
    settlement: Settlement, recorder: Recorder
) -> None:
    link = attempt(settlement, S.CREATED, start=None)
    card = attempt(settlement, S.CREATED, start=None, saved_card=True)
    assert settlement.reconcile_interrupted(started_before=time.time() + 1) == 2
    assert state_of(settlement, link) is S.UNKNOWN and state_of(settlement, card) is S.UNKNOWN
    assert sorted(recorder.in_doubt) == sorted([(link.id, S.UNKNOWN), (card.id, S.UNKNOWN)])
    due = {p.id for p in settlement.store.payments_to_check(time.time() + 1)}
    assert due == {link.id, card.id}
    settlement.apply(settlement.store.payment(link.id), PENDING)  # type: ignore[arg-type]
    settlement.apply(settlement.store.payment(card.id), PENDING)  # type: ignore[arg-type]
    assert state_of(settlement, link) is S.EXPIRED  # no link was made: nothing to wait for
    assert state_of(settlement, card) is S.UNKNOWN  # the card may still have been charged


def test_a_captured_charge_is_credited_over_an_older_open_link(
    settlement: Settlement, recorder: Recorder
) -> None:
    link = attempt(settlement, S.OPENED, user="UA", opened_minutes_ago=15)
    card = attempt(settlement, S.LINK_ISSUED, user="UB", start=Captured(), saved_card=True)
    settlement.apply(card, PAID)
    assert recorder.confirmed == [(card.id, [link.id])]


def test_a_database_paid_before_settlements_existed_is_carried_over(database: str) -> None:
    """The migration turns each paid payment into its settlement, so nothing repeats."""
    db = open_engine(database)
    migrate(db, MIGRATIONS[:1])
    db.execute(
        "INSERT INTO payments (id, team_id, provider, invoice_ids, invoice_numbers, amount, "
        "currency, state, created_at, token_expires_at, paid_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            "p1",
            "T1",
            "i3d",
            '["1001"]',
            '["INV-1001"]',
            "1.00",
            "EUR",
            "paid",
            "2026-01-01T00:00:00+00:00",
            1.0,
            "2026-01-01T00:05:00+00:00",
        ],
    )
    db.close()
    store = Store(database)
    try:
        assert store.settlement_of("T1", "i3d", ["1001"]) == "p1"
    finally:
        store.close()


FAILED_BY_INVOICE = PaymentOutcome(status=OutcomeStatus.FAILED, message="Your card was declined.")


def test_a_lost_charge_judged_by_a_stale_invoice_error_is_watched_and_settles_late(
    settlement: Settlement, recorder: Recorder
) -> None:
    """The invoice still carries an earlier card's decline when our charge's answer is
    lost: the attempt reads as failed, but it stays watched and a late "paid" counts."""
    charge = attempt(settlement, S.UNKNOWN, start=None, saved_card=True)
    settlement.apply(charge, FAILED_BY_INVOICE)
    failed = settlement.store.payment(charge.id)
    assert failed is not None and failed.state is S.FAILED and failed.next_check_at
    due = settlement.store.payments_to_check(time.time() + 60)
    assert [p.id for p in due] == [charge.id]
    settlement.apply(failed, PENDING)
    settlement.apply(failed, PAID)
    assert state_of(settlement, charge) is S.PAID
    assert recorder.confirmed == [(charge.id, [])]


def test_a_charge_still_checked_when_another_payment_settles_is_told_it_is_not_any_more(
    settlement: Settlement, recorder: Recorder
) -> None:
    """Its payer read that invoicebot keeps checking whether the card was charged and
    tells them if it was: when another payment settles the invoice, the check stops, and
    the payer hears so (with the settlement's other messages), not silence."""
    charge = attempt(settlement, S.UNKNOWN, start=None, saved_card=True)
    settlement.apply(charge, FAILED_BY_INVOICE)
    link = attempt(settlement, S.OPENED, user="U2", opened_minutes_ago=1)
    paid = settlement.settle(link, PAID_HERE)  # the provider names the link's transaction
    assert paid is not None and paid.id == link.id
    assert recorder.confirmed == [(link.id, [charge.id])]
    stopped = settlement.store.payment(charge.id)
    assert stopped is not None and stopped.state is S.FAILED and stopped.next_check_at is None
    text = settled(stopped, paid_by=paid)["text"]
    assert "no longer checks whether *€12.50* by iDEAL was taken through this one" in text
    assert "<@U2>" in text


def test_a_decline_the_provider_ties_to_the_attempt_is_final(
    settlement: Settlement,
) -> None:
    charge = attempt(settlement, S.UNKNOWN, start=None, saved_card=True)
    declined = FAILED_BY_INVOICE.model_copy(update={"attributed": True})
    settlement.apply(charge, declined)
    ended = settlement.store.payment(charge.id)
    assert ended is not None and ended.state is S.FAILED and ended.next_check_at is None
    assert not ended.unconfirmed_end


def test_a_start_in_flight_here_is_never_handed_over_as_interrupted(
    settlement: Settlement,
) -> None:
    busy = attempt(settlement, S.CREATED, start=None)
    settlement.in_flight.add(busy.id)
    assert settlement.reconcile_interrupted(started_before=time.time() + 1) == 0
    assert state_of(settlement, busy) is S.CREATED


def test_an_emailed_invoice_is_watched_past_its_link_lifetime(
    settlement: Settlement, recorder: Recorder
) -> None:
    """Customers pay e-mailed invoices weeks later; a captured charge is confirmed late."""
    emailed = attempt(settlement, S.LINK_ISSUED, start=Emailed(to="c@example.com"))
    card = attempt(settlement, S.LINK_ISSUED, start=Captured(), saved_card=True, invoices=("2002",))
    settlement.store.db.execute("UPDATE payments SET token_expires_at = ?", [time.time() - 60])
    for payment in (emailed, card):
        settlement.apply(payment, PENDING)
        assert state_of(settlement, payment) is S.LINK_ISSUED
        settlement.apply(payment, PAID)
        assert state_of(settlement, payment) is S.PAID
    assert len(recorder.confirmed) == 2


def test_a_plugin_taking_fewer_arguments_still_hears_of_the_settlement(
    settlement: Settlement,
) -> None:
    heard: list[str] = []

    class Terse:
        @hookimpl
        def payment_confirmed(self, payment: Payment) -> None:
            heard.append(payment.id)

    pm = settlement.payments.pm
    pm.register(Terse(), name="terse")
    try:
        pm.check_pending()
        a = attempt(settlement, S.OPENED, opened_minutes_ago=1)
        settlement.apply(a, PAID)
    finally:
        pm.unregister(name="terse")
    assert heard == [a.id]


def test_processes_settling_one_invoice_at_once_settle_it_once(
    database: str, settlement: Settlement, recorder: Recorder
) -> None:
    """Two bot processes hear "paid" for the same invoice at the same moment (one from the
    landing, one from its poller): the write lock makes the second see the first's work."""
    a = attempt(settlement, S.OPENED, opened_minutes_ago=1)
    start = threading.Barrier(2)

    def settle(_: int) -> Payment | None:
        store = Store(database, settlement.store.box)
        other = Settlement(Payments(store, settlement.payments.pm), connections=None)  # type: ignore[arg-type]
        try:
            start.wait()
            return other.settle(a, PAID)
        finally:
            store.close()

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(settle, range(2)))
    assert sorted(result is None for result in results) == [False, True]
    assert len(settlement.store.settlements()) == 1
    assert len(recorder.confirmed) == 1
    assert settlement.store.outbox_pending() == 1


class Approving:
    """A provider whose record ties an approved charge to whichever attempt is asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def get(self, team_id: str, provider: str) -> Approving:
        return self

    async def check_payment(self, check: PaymentCheck) -> PaymentOutcome:
        self.asked.append(check.reference)
        return PaymentOutcome(
            status=OutcomeStatus.PAID, message="approved", reference="tx-2", attributed=True
        )


async def test_money_taken_through_a_superseded_page_is_told_once_as_paid_twice(
    settlement: Settlement, recorder: Recorder
) -> None:
    """An e-mailed invoice and a customer's link are both out; the customer pays both.
    The first settles the invoice; the second, which the provider ties to its own
    attempt, is a second payment someone must refund, not "nothing charged"."""
    mailed = attempt(settlement, S.LINK_ISSUED, start=Emailed(to="c@example.com"))
    link = attempt(
        settlement, S.OPENED, start=Redirect(url="https://hpp.example/1"), opened_minutes_ago=1
    )
    settlement.apply(mailed, PaymentOutcome(status=OutcomeStatus.PAID, message="paid"))
    assert state_of(settlement, link) is S.SUPERSEDED
    provider = Approving()
    settlement.connections = provider  # type: ignore[assignment]
    superseded = settlement.store.payment(link.id)
    assert superseded is not None
    for _ in range(2):  # the landing, then a reload of it
        await settlement.check(superseded, {"lookup_id": "tx-2"})
    assert provider.asked == [link.id, link.id]
    assert recorder.paid_twice == [(link.id, "tx-2")]
    twice = settlement.store.payment(link.id)
    assert twice is not None and twice.state is S.SUPERSEDED and twice.paid_at
    assert state_of(settlement, mailed) is S.PAID and len(recorder.confirmed) == 1
    assert [e.action for e in settlement.store.audit_about("T1", [link.id])][-1] == (
        "payment.paid_twice"
    )


def test_a_live_attempt_paid_after_its_invoice_was_settled_is_paid_twice(
    settlement: Settlement, recorder: Recorder
) -> None:
    first = attempt(settlement, S.OPENED, opened_minutes_ago=2)
    settlement.apply(first, PaymentOutcome(status=OutcomeStatus.PAID, message="paid"))
    late = attempt(settlement, S.OPENED, opened_minutes_ago=1)  # raced past the check
    settlement.apply(
        late,
        PaymentOutcome(status=OutcomeStatus.PAID, message="ok", reference="r2", attributed=True),
    )
    assert state_of(settlement, late) is S.SUPERSEDED
    assert recorder.paid_twice == [(late.id, "r2")]
    assert len(recorder.confirmed) == 1


class Answering:
    """A provider whose next answer the test sets."""

    def __init__(self, outcome: PaymentOutcome) -> None:
        self.outcome = outcome

    def get(self, team_id: str, provider: str) -> Answering:
        return self

    async def check_payment(self, check: PaymentCheck) -> PaymentOutcome:
        return self.outcome


PAGE = Redirect(url="https://hpp.example/pay")


def approved(reference: str) -> PaymentOutcome:
    return PaymentOutcome(
        status=OutcomeStatus.PAID, message="approved", reference=reference, attributed=True
    )


async def test_a_replayed_return_of_the_settled_payment_is_not_a_second_payment(
    settlement: Settlement, recorder: Recorder
) -> None:
    """The customer paid once; the other, superseded link's landing replayed with that
    payment's own transaction proves nothing: no one is told to refund the only one."""
    other = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=30)
    winner = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=1)
    settlement.connections = Answering(approved("777"))  # type: ignore[assignment]
    await settlement.check(winner, {"lookup_id": "LK777"})
    assert state_of(settlement, winner) is S.PAID
    superseded = settlement.store.payment(other.id)
    assert superseded is not None and superseded.state is S.SUPERSEDED
    await settlement.check(superseded, {"lookup_id": "LK777"})
    assert recorder.paid_twice == []
    assert settlement.store.payment(other.id).paid_at is None  # type: ignore[union-attr]
    # Its own transaction, beside the settled one's: a second payment, for certain.
    settlement.connections = Answering(approved("778"))  # type: ignore[assignment]
    await settlement.check(superseded, {"lookup_id": "LK778"})
    assert recorder.paid_twice == [(other.id, "778")] and recorder.certain == [True]


async def test_money_beside_a_settlement_on_the_invoices_word_is_said_as_maybe_paid_twice(
    settlement: Settlement, recorder: Recorder
) -> None:
    """The poller credited another opened link on the invoice's word (no transaction),
    then this page's own transaction arrives: it may be the very money credited to the
    other, so #billing is asked to check, not to refund."""
    failed_page = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=30)
    settlement.connections = Answering(  # type: ignore[assignment]
        PaymentOutcome(status=OutcomeStatus.FAILED, message="Card declined.", attributed=True)
    )
    await settlement.check(failed_page, {"lookup_id": "LK0"})
    other = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=5)
    settlement.apply(other, PaymentOutcome(status=OutcomeStatus.PAID, message="invoice paid"))
    settlement.connections = Answering(approved("tx-1"))  # type: ignore[assignment]
    retried = settlement.store.payment(failed_page.id)
    assert retried is not None
    await settlement.check(retried, {"lookup_id": "LK1"})
    assert recorder.paid_twice == [(failed_page.id, "tx-1")] and recorder.certain == [False]


async def test_money_through_a_failed_attempt_after_another_settled_is_paid_twice(
    settlement: Settlement, recorder: Recorder
) -> None:
    """A decline on the page, a retry on that same page that went through, while another
    link had settled the invoice meanwhile."""
    first = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=30)
    settlement.connections = Answering(  # type: ignore[assignment]
        PaymentOutcome(status=OutcomeStatus.FAILED, message="Card declined.", attributed=True)
    )
    await settlement.check(first, {"lookup_id": "LK1"})
    assert state_of(settlement, first) is S.FAILED
    other = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=5)
    settlement.apply(other, PaymentOutcome(status=OutcomeStatus.PAID, message="paid"))
    settlement.connections = Answering(approved("tx-9"))  # type: ignore[assignment]
    failed = settlement.store.payment(first.id)
    assert failed is not None
    after = await settlement.check(failed, {"lookup_id": "LK9"})
    assert after.state is S.SUPERSEDED and after.paid_at and after.receipt == "tx-9"
    assert recorder.paid_twice == [(first.id, "tx-9")]


async def test_a_landing_that_says_nothing_is_not_taken_as_the_pages_own_failure(
    settlement: Settlement, recorder: Recorder
) -> None:
    """A return with no parameters (or another tab's, which a plugin leaves out) does
    not tie the invoice's last error to this page: the page stays watched."""
    page = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=1)
    settlement.connections = Answering(  # type: ignore[assignment]
        PaymentOutcome(status=OutcomeStatus.FAILED, message="An earlier card was declined.")
    )
    await settlement.check(page, {})
    ended = settlement.store.payment(page.id)
    assert ended is not None and ended.state is S.FAILED and ended.next_check_at is not None
    settlement.connections = Answering(  # type: ignore[assignment]
        PaymentOutcome(status=OutcomeStatus.PAID, message="paid")
    )
    await settlement.check(ended)
    assert state_of(settlement, page) is S.PAID and len(recorder.confirmed) == 1


def test_a_link_opened_by_another_process_as_it_expires_is_not_ended_as_unused(
    database: str, settlement: Settlement, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One process's poller finds a link unopened at the end of its lifetime while
    another process's pay page opens it in that last moment: the provider's page may be
    taking the money, so the link stands, and the payment made there is confirmed."""
    link = attempt(settlement, S.LINK_ISSUED)
    other = Store(database, settlement.store.box)
    elsewhere = Payments(other, settlement.payments.pm)
    asked = settlement.store.token_expiry

    def expiry_as_the_page_opens(payment_id: str) -> float:
        opened = datetime.now(UTC).isoformat(timespec="seconds")
        assert elsewhere.force(payment_id, {S.LINK_ISSUED}, S.OPENED, opened_at=opened)
        monkeypatch.setattr(settlement.store, "token_expiry", asked)
        return time.time() - 1  # the link's lifetime ended a moment ago

    try:
        monkeypatch.setattr(settlement.store, "token_expiry", expiry_as_the_page_opens)
        settlement.apply(link, PENDING)
        assert state_of(settlement, link) is S.OPENED
        settlement.apply(link, PAID)  # the payer paid on the page it opened
        assert state_of(settlement, link) is S.PAID
    finally:
        other.close()


class Recording(Answering):
    """`Answering`, noting the return each check came with."""

    def __init__(self, outcome: PaymentOutcome) -> None:
        super().__init__(outcome)
        self.returns: list[dict[str, str]] = []

    async def check_payment(self, check: PaymentCheck) -> PaymentOutcome:
        self.returns.append(dict(check.landing_params))
        return self.outcome


async def test_a_kept_return_is_asked_with_a_few_times_then_the_invoice_decides(
    settlement: Settlement,
) -> None:
    """A return the provider keeps failing to answer about stands in for the invoice's
    own word only a few times; one answered about is forgotten."""
    payment = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=1)
    settlement.store.keep_return(payment.id, {"lookup_id": "LK1"})
    asked = Recording(PaymentOutcome(status=OutcomeStatus.UNKNOWN, message="busy"))
    settlement.connections = asked  # type: ignore[assignment]
    for _ in range(REPLAYS + 2):
        await settlement.check(payment)
    assert asked.returns == [{"lookup_id": "LK1"}] * REPLAYS + [{}, {}]
    asked.outcome = PaymentOutcome(status=OutcomeStatus.PENDING, message="waiting")
    settlement._replays.clear()  # a restarted process
    await settlement.check(payment)
    assert asked.returns[-1] == {"lookup_id": "LK1"}
    assert settlement.store.kept_return(payment.id) is None


async def test_a_later_return_kept_meanwhile_is_not_forgotten_with_the_earlier(
    settlement: Settlement,
) -> None:
    payment = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=1)
    settlement.connections = Answering(  # type: ignore[assignment]
        PaymentOutcome(status=OutcomeStatus.PENDING, message="waiting")
    )
    settlement.store.keep_return(payment.id, {"lookup_id": "LK2"})  # another tab's, later
    settlement.store.drop_return(payment.id, {"lookup_id": "LK1"})  # the first's answered
    assert settlement.store.kept_return(payment.id) == {"lookup_id": "LK2"}


def test_a_watch_ending_with_only_some_invoices_paid_records_those_and_tells_the_rest(
    settlement: Settlement,
) -> None:
    """i3D.net lists one of a page's two invoices paid when the watch ends: that one is
    settled and confirmed (for its own amount), and only the other is told as never
    confirmed, naming the paid one. Nothing is recorded paid that i3D did not list paid,
    and a second look at the ended attempt confirms nothing again."""
    heard: list[tuple[str, tuple[str, ...], str]] = []

    class Listener:
        @hookimpl
        def payment_confirmed(self, payment: Payment) -> None:
            heard.append(("confirmed", payment.invoice_ids, payment.amount.format()))

        @hookimpl
        def payment_ended(self, payment: Payment) -> None:
            heard.append(("ended", payment.invoice_ids, payment.amount.format()))

    settlement.connections = _Shows(True)  # type: ignore[assignment]
    settlement.give_up_after = -3600  # past the window already
    page = attempt(settlement, S.OPENED, opened_minutes_ago=40, invoices=("1001", "1002"))
    lines = [["INV-1001", "10.00", "EUR"], ["INV-1002", "2.50", "EUR"]]
    settlement.store.db.execute(
        "UPDATE payments SET lines = ? WHERE id = ?", [json.dumps(lines), page.id]
    )
    page = settlement.store.payment(page.id)  # type: ignore[assignment]
    other = attempt(settlement, S.LINK_ISSUED, invoices=("1001",), user="U2")
    pm = settlement.payments.pm
    pm.register(Listener(), name="listener")
    try:
        some = PaymentOutcome(
            status=OutcomeStatus.PENDING,
            message="Waiting for i3D.net to confirm the payment (1 of 2 paid so far).",
            paid_invoices=("1001",),
        )
        settlement.apply(page, some)
        settlement.apply(settlement.store.payment(page.id), some)  # type: ignore[arg-type]
    finally:
        pm.unregister(name="listener")
    assert heard == [("confirmed", ("1001",), "€10.00"), ("ended", ("1002",), "€2.50")]
    assert settlement.store.settlement_of("T1", "i3d", ["1001"]) is not None
    assert settlement.store.settlement_of("T1", "i3d", ["1002"]) is None
    assert state_of(settlement, page) is S.EXPIRED
    assert state_of(settlement, other) is S.SUPERSEDED  # 1001 is paid: its link is spent
    ended = settlement.store.payment(page.id)
    assert ended is not None and ended.next_check_at is None
    told = settled(ended.only(["1002"]))  # type: ignore[arg-type]
    assert told["text"].startswith(":warning: The provider never confirmed the payment of")
    assert "INV-1002 (invoice INV-1001 of the same payment was confirmed paid" in told["text"]
    (credited,) = settlement.store.recent_settlements("T1")
    assert credited[1].invoice_ids == ("1001",) and credited[1].state is S.PAID
    assert credited[1].amount == Money.of("10.00", "EUR")
    paid_story = " ".join(e.text for e in story(settlement.store, "T1", "INV-1001", {}))
    assert "Settled: €10.00 by iDEAL" in paid_story, paid_story
    rest_story = " ".join(e.text for e in story(settlement.store, "T1", "INV-1002", {}))
    assert "Settled" not in rest_story, rest_story


def test_an_invoice_paid_alone_is_not_credited_to_an_ending_page_while_its_own_page_is_out(
    settlement: Settlement, recorder: Recorder
) -> None:
    """Someone else's page for that invoice alone is open and may be what paid it: the
    ending page is not credited on the invoice's word; the other page's check credits it."""
    settlement.connections = _Shows(True)  # type: ignore[assignment]
    settlement.give_up_after = -3600
    page = attempt(settlement, S.OPENED, opened_minutes_ago=40, invoices=("1001", "1002"))
    lines = [["INV-1001", "10.00", "EUR"], ["INV-1002", "2.50", "EUR"]]
    settlement.store.db.execute(
        "UPDATE payments SET lines = ? WHERE id = ?", [json.dumps(lines), page.id]
    )
    alone = attempt(settlement, S.OPENED, opened_minutes_ago=5, invoices=("1001",), user="U2")
    some = PaymentOutcome(status=OutcomeStatus.PENDING, paid_invoices=("1001",))
    settlement.apply(settlement.store.payment(page.id), some)  # type: ignore[arg-type]
    assert settlement.store.settlement_of("T1", "i3d", ["1001"]) is None
    assert state_of(settlement, page) is S.EXPIRED
    settlement.apply(alone, PAID)
    assert recorder.confirmed == [(alone.id, [])]


def test_a_watched_cancel_ending_with_one_invoice_listed_paid_records_it_and_tells_the_rest(
    settlement: Settlement, recorder: Recorder
) -> None:
    """The payer's browser said cancelled, and by the end of its watch the provider lists
    one of the page's two invoices paid: that one is recorded and confirmed once, the
    other told as never confirmed (not left cancelled in silence)."""
    from bot.notifier import SlackNotifier

    settlement.connections = _Shows(True)  # type: ignore[assignment]
    page = attempt(
        settlement,
        S.OPENED,
        opened_minutes_ago=40,
        invoices=("1001", "1002"),
        response_url="https://hooks.slack.com/actions/T1/1/x",
    )
    lines = [["INV-1001", "10.00", "EUR"], ["INV-1002", "2.50", "EUR"]]
    settlement.store.db.execute(
        "UPDATE payments SET lines = ? WHERE id = ?", [json.dumps(lines), page.id]
    )
    pm = settlement.payments.pm
    pm.register(SlackNotifier("C0BILLING", {"i3d": "i3D.net"}), name="notifier")
    try:
        settlement.apply(settlement.store.payment(page.id), CANCELLED)  # type: ignore[arg-type]
        assert state_of(settlement, page) is S.CANCELLED
        settlement.give_up_after = -3600  # the watch is over
        some = PaymentOutcome(status=OutcomeStatus.PENDING, paid_invoices=("1001",))
        settlement.apply(settlement.store.payment(page.id), some)  # type: ignore[arg-type]
        settlement.apply(settlement.store.payment(page.id), some)  # type: ignore[arg-type]
    finally:
        pm.unregister(name="notifier")
    keys = [row[0] for row in settlement.store.db.execute("SELECT key FROM outbox")]
    # The payer hears of the cancel, and of the end, which names the paid one: each once
    # (a notice of the paid one alone would be replaced at once by the end's).
    assert sorted(k.split(":")[0] for k in keys if k.startswith(("ended", "settled"))) == [
        "ended",
        "ended",
    ]
    assert len([k for k in keys if k.startswith("confirmation:")]) == 1
    assert len(recorder.confirmed) == 1
    assert settlement.store.settlement_of("T1", "i3d", ["1001"]) is not None
    assert settlement.store.settlement_of("T1", "i3d", ["1002"]) is None
    assert recorder.ended == [(page.id, S.CANCELLED), (page.id, S.EXPIRED)]
    ended = settlement.store.payment(page.id)
    assert ended is not None and ended.next_check_at is None
    told = settled(ended.only(["1002"]))  # type: ignore[arg-type]
    assert "INV-1002 (invoice INV-1001 of the same payment was confirmed paid" in told["text"]


def _two_invoice_page(settlement: Settlement) -> Payment:
    page = attempt(settlement, S.OPENED, opened_minutes_ago=40, invoices=("1001", "1002"))
    lines = [["INV-1001", "10.00", "EUR"], ["INV-1002", "2.50", "EUR"]]
    settlement.store.db.execute(
        "UPDATE payments SET lines = ? WHERE id = ?", [json.dumps(lines), page.id]
    )
    found = settlement.store.payment(page.id)
    assert found is not None
    return found


def test_an_invoice_paid_alone_left_to_its_own_page_is_not_told_as_never_confirmed(
    settlement: Settlement, recorder: Recorder
) -> None:
    """Another page for the invoice i3D lists paid may have paid it, so the ending page
    is not credited with it; its end says so of that invoice, and never confirmed of the
    other alone (#billing hears of that one only)."""
    ended: list[Payment] = []

    class Listener:
        @hookimpl
        def payment_ended(self, payment: Payment) -> None:
            ended.append(payment)

    settlement.connections = _Shows(True)  # type: ignore[assignment]
    settlement.give_up_after = -3600
    page = _two_invoice_page(settlement)
    attempt(settlement, S.OPENED, opened_minutes_ago=5, invoices=("1001",), user="U2")
    some = PaymentOutcome(status=OutcomeStatus.PENDING, paid_invoices=("1001",))
    pm = settlement.payments.pm
    pm.register(Listener(), name="listener")
    try:
        settlement.apply(page, some)
    finally:
        pm.unregister(name="listener")
    assert settlement.store.settlement_of("T1", "i3d", ["1001"]) is None
    assert state_of(settlement, page) is S.EXPIRED
    (told,) = ended
    assert told.invoice_ids == ("1002",)
    text = settled(told)["text"]
    assert "never confirmed the payment of invoice INV-1002 (invoice INV-1001 of the same " in text
    assert "listed paid, perhaps through another payment still checked)" in text, text


def test_an_invoice_recorded_paid_through_another_payment_is_said_so_at_the_end(
    settlement: Settlement, recorder: Recorder
) -> None:
    """The invoice i3D lists paid was recorded paid through another payment first: the
    ending page says that of it, and never confirmed of the other alone."""
    ended: list[Payment] = []

    class Listener:
        @hookimpl
        def payment_ended(self, payment: Payment) -> None:
            ended.append(payment)

    settlement.connections = _Shows(True)  # type: ignore[assignment]
    settlement.give_up_after = -3600
    page = _two_invoice_page(settlement)
    other = attempt(settlement, S.PAID, invoices=("1001",), user="U2")
    settlement.store.add_settlement("s-other", other, evidence="invoice", settled_at=utc_text(None))
    some = PaymentOutcome(status=OutcomeStatus.PENDING, paid_invoices=("1001",))
    pm = settlement.payments.pm
    pm.register(Listener(), name="listener")
    try:
        settlement.apply(page, some)
    finally:
        pm.unregister(name="listener")
    assert recorder.confirmed == []
    (told,) = ended
    assert told.invoice_ids == ("1002",)
    text = settled(told)["text"]
    assert (
        "(invoice INV-1001 of the same payment was recorded paid through another payment)"
    ) in text, text


def test_a_page_credited_in_part_whose_own_money_is_confirmed_later_is_not_paid_twice(
    settlement: Settlement, recorder: Recorder
) -> None:
    """A watch ended with one of a page's two invoices paid, credited to it; the page's
    own transaction is confirmed after (its return). The settlement found is that very
    page's: not a second payment to refund, and the page stays credited with the first."""
    settlement.connections = _Shows(True)  # type: ignore[assignment]
    settlement.give_up_after = -3600
    page = attempt(settlement, S.OPENED, opened_minutes_ago=40, invoices=("1001", "1002"))
    lines = [["INV-1001", "10.00", "EUR"], ["INV-1002", "2.50", "EUR"]]
    settlement.store.db.execute(
        "UPDATE payments SET lines = ? WHERE id = ?", [json.dumps(lines), page.id]
    )
    some = PaymentOutcome(status=OutcomeStatus.PENDING, paid_invoices=("1001",))
    settlement.apply(settlement.store.payment(page.id), some)  # type: ignore[arg-type]
    assert settlement.store.settlement_of("T1", "i3d", ["1001"]) is not None
    settlement.apply(settlement.store.payment(page.id), PAID_HERE, landed=True)  # type: ignore[arg-type]
    assert recorder.paid_twice == []
    assert state_of(settlement, page) is S.EXPIRED
    paid_story = " ".join(e.text for e in story(settlement.store, "T1", "INV-1001", {}))
    assert "Settled: €10.00" in paid_story, paid_story


def test_a_page_credited_in_part_whose_own_money_is_confirmed_later_settles_the_rest_once(
    settlement: Settlement, recorder: Recorder
) -> None:
    """A watch ended with one of a page's two invoices listed paid, credited to it, and
    the other told never confirmed; the page's own transaction is confirmed after: the
    other is settled to it then, confirmed once to #billing and to its payer, and a replay
    of that money settles and tells nothing more."""
    from bot.notifier import SlackNotifier

    settlement.connections = _Shows(True)  # type: ignore[assignment]
    settlement.give_up_after = -3600
    page = _two_invoice_page(settlement)
    settlement.store.update_payment(page.id, response_url="https://hooks.slack.com/actions/x")
    store, pm = settlement.store, settlement.payments.pm
    pm.register(SlackNotifier("C0BILLING", {"i3d": "i3D.net"}), name="notifier")
    try:
        some = PaymentOutcome(status=OutcomeStatus.PENDING, paid_invoices=("1001",))
        settlement.apply(store.payment(page.id), some)  # type: ignore[arg-type]
        mine = PAID_HERE.model_copy(update={"reference": "TX-9"})
        settlement.apply(store.payment(page.id), mine, landed=True)  # type: ignore[arg-type]
        settlement.apply(store.payment(page.id), mine, landed=True)  # type: ignore[arg-type]
    finally:
        pm.unregister(name="notifier")
    rest = store.settlement_of("T1", "i3d", ["1002"])
    assert rest is not None
    assert store.credited_with("T1", "i3d", ["1001", "1002"]) == {page.id}
    assert recorder.paid_twice == []
    assert [paid for paid, _ in recorder.confirmed] == [page.id, page.id]
    queued = {str(key): str(args) for key, args in store.db.execute("SELECT key, args FROM outbox")}
    assert len([k for k in queued if k.startswith("confirmation:")]) == 2, list(queued)
    # The payer heard of the first part in the end's notice, and now of the rest.
    assert "INV-1001 of the same payment was confirmed paid" in queued[f"ended:{page.id}:expired"]
    assert [k for k in queued if k.startswith("settled:")] == [f"settled:{page.id}"]
    assert "Invoice INV-1002 is paid" in queued[f"settled:{page.id}"]
    parts = store.credited_in_part(page.id)
    assert sorted(p.invoice_numbers for p in parts) == [("INV-1001",), ("INV-1002",)]
    assert [p.amount for p in parts if p.invoice_ids == ("1002",)] == [Money.of("2.50", "EUR")]
    story_of = " ".join(e.text for e in story(store, "T1", "INV-1002", {}))
    assert "Settled: €2.50" in story_of and "TX-9" in story_of, story_of
