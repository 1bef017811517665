"""Kept returns of ended attempts (see `Settlement._ask_again_later`): what the poller's
schedule does with them. Every test runs on sqlite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from bot.credentials import CredentialBox, generate_key
from bot.models import OutcomeStatus, PaymentCheck, PaymentOutcome, PaymentState, Redirect
from bot.payments import Payments
from bot.plugins import make_plugin_manager
from bot.provider import Capabilities
from bot.settlement import Settlement
from bot.store import CHECK_DUE, Store
from tests.test_settlement import Recorder, attempt

S = PaymentState
PAGE = Redirect(url="https://hpp.example/pay")


@pytest.fixture
def key() -> bytes:
    return generate_key()


@pytest.fixture
def store(database: str, key: bytes) -> Iterator[Store]:
    store = Store(database, CredentialBox(key))
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


class Lookup:
    """Like Payfirma: the return's lookup id (or, without one, the payment's own
    reference) names the transaction; `down` makes every lookup fail."""

    def __init__(self, transactions: dict[str, PaymentOutcome], *, names: bool = True) -> None:
        self.transactions = transactions
        self.down = False
        self.asked: list[str] = []
        self.capabilities = Capabilities(names_transactions=names)

    def get(self, team_id: str, provider: str) -> Lookup:
        return self

    def provider_class(self, name: str) -> Lookup:
        return self

    async def check_payment(self, check: PaymentCheck) -> PaymentOutcome:
        returned = check.landing_params.get("lookup_id")
        lookup = returned or check.provider_reference or ""
        self.asked.append(lookup)
        if self.down:
            keep = returned if check.provider_reference is None else None
            return PaymentOutcome(
                status=OutcomeStatus.UNKNOWN, message="Payfirma is down", provider_reference=keep
            )
        said = self.transactions[lookup]
        return said.model_copy(update={"provider_reference": returned})


APPROVED = PaymentOutcome(
    status=OutcomeStatus.PAID, message="approved", reference="tx-9", attributed=True
)
DECLINED = PaymentOutcome(
    status=OutcomeStatus.FAILED, message="Card declined. Nothing was charged."
)


async def poll(settlement: Settlement, rounds: int = 5) -> None:
    """Poller rounds, every scheduled check made due at once."""
    store = settlement.store
    for _ in range(rounds):
        store.db.execute("UPDATE payments SET next_check_at = 0 WHERE next_check_at IS NOT NULL")
        for payment in store.claim_payments_to_check(time.time(), 120.0):
            current = store.payment(payment.id)
            assert current is not None
            await settlement.check(current)


async def test_a_retry_after_a_decline_whose_lookup_failed_is_still_found(
    settlement: Settlement, recorder: Recorder
) -> None:
    """A decline on the page, then a retry on that same page that went through while
    the lookup failed: the retry's return is the one place that names the money."""
    provider = Lookup({"LK1": DECLINED, "LK9": APPROVED})
    settlement.connections = provider  # type: ignore[assignment]
    page = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=5)
    await settlement.check(page, {"lookup_id": "LK1"})
    failed = settlement.store.payment(page.id)
    assert failed is not None and failed.state is S.FAILED
    assert failed.provider_reference == "LK1"
    provider.down = True
    await settlement.check(failed, {"lookup_id": "LK9"})
    provider.down = False
    await poll(settlement)
    after = settlement.store.payment(page.id)
    assert after is not None
    assert "LK9" in provider.asked[2:], provider.asked  # the kept return, asked again
    assert after.state is S.PAID and after.receipt == "tx-9", (after.state, provider.asked)


async def test_a_paid_twice_already_told_is_not_asked_about_for_a_day(
    settlement: Settlement, recorder: Recorder
) -> None:
    """A superseded page's second payment was told; its payer reloads the return while
    the provider is down: nothing can change, so no day of checks, and no page saying
    'Payment not confirmed yet'."""
    provider = Lookup({"LK9": APPROVED})
    settlement.connections = provider  # type: ignore[assignment]
    page = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=5)
    other = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=1)
    settlement.apply(other, PaymentOutcome(status=OutcomeStatus.PAID, message="invoice paid"))
    superseded = settlement.store.payment(page.id)
    assert superseded is not None and superseded.state is S.SUPERSEDED
    await settlement.check(superseded, {"lookup_id": "LK9"})
    told = settlement.store.payment(page.id)
    assert told is not None and told.paid_at and len(recorder.paid_twice) == 1
    asked = len(provider.asked)
    provider.down = True
    await settlement.check(told, {"lookup_id": "LK9"})  # the reload
    assert len(provider.asked) == asked  # nothing it could say changes anything
    again = settlement.store.payment(page.id)
    assert again is not None and again.next_check_at is None
    assert settlement.store.kept_return(page.id) is None
    assert len(recorder.paid_twice) == 1


async def test_a_return_sealed_with_a_lost_key_does_not_stay_due_for_ever(
    database: str, settlement: Settlement
) -> None:
    """The key that sealed a kept return is gone (the secret is lost, see CredentialBox):
    the ended payment it was kept on must not be taken by every poller round for ever."""
    provider = Lookup({"LK9": APPROVED})
    provider.down = True
    settlement.connections = provider  # type: ignore[assignment]
    page = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=5)
    settlement._end(page, S.EXPIRED, "the provider never confirmed this payment")
    expired = settlement.store.payment(page.id)
    assert expired is not None
    await settlement.check(expired, {"lookup_id": "LK9"})
    assert settlement.store.kept_return(page.id) is not None
    lost = Store(database, CredentialBox(generate_key()))
    try:
        settlement.payments.store = lost
        await poll(settlement, rounds=2)
        row = lost.payment(page.id)
        assert row is not None and row.state is S.EXPIRED
        due = lost.db.execute(
            f"SELECT COUNT(*) FROM payments WHERE {CHECK_DUE}",  # noqa: S608
            [time.time() + 3600],
        ).fetchone()
        assert due is not None and due[0] == 0, "still due"
    finally:
        lost.close()


def test_the_poller_query_does_not_read_the_whole_payments_table(tmp_path: object) -> None:
    """The poller claims due checks every second; the payments table only grows."""
    store = Store(f"{tmp_path}/plan.sqlite")
    try:
        plan = store.db.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM payments WHERE "  # noqa: S608
            f"{CHECK_DUE} ORDER BY next_check_at LIMIT 50",
            [0],
        ).fetchall()
    finally:
        store.close()
    steps = [str(row[-1]) for row in plan]
    assert not any(step.startswith("SCAN payments") for step in steps), steps


async def test_a_paid_page_whose_return_names_no_transaction_is_not_asked_about(
    settlement: Settlement,
) -> None:
    """i3D.net's and PingProxies' returns name no transaction of their own, so a page
    credited on the invoice's word learns nothing from asking again: its reload asks the
    provider nothing and schedules nothing, even while the provider is down."""
    provider = Lookup({}, names=False)
    provider.down = True
    settlement.connections = provider  # type: ignore[assignment]
    page = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=5)
    settlement.apply(page, PaymentOutcome(status=OutcomeStatus.PAID, message="invoice paid"))
    paid = settlement.store.payment(page.id)
    assert paid is not None and paid.state is S.PAID and paid.receipt is None
    await settlement.check(paid, {"transactionId": "tx_1"})
    assert provider.asked == []
    after = settlement.store.payment(page.id)
    assert after is not None and after.next_check_at is None


class Stopping(Lookup):
    """A stop (a cancellation) while the return naming `stop_at` is being asked about."""

    def __init__(self, transactions: dict[str, PaymentOutcome], stop_at: str) -> None:
        super().__init__(transactions)
        self.stop_at = stop_at

    async def check_payment(self, check: PaymentCheck) -> PaymentOutcome:
        if check.landing_params.get("lookup_id") == self.stop_at:
            self.stop_at = ""
            raise asyncio.CancelledError
        return await super().check_payment(check)


async def test_a_retry_after_a_decline_is_still_found_after_a_stop_mid_ask(
    settlement: Settlement,
) -> None:
    """A decline on the page, then a retry on that same page that took the money; the
    bot stops while asking about the retry's return: after the restart the poller asks
    again, as it does for an expired or superseded page's return."""
    provider = Stopping({"LK1": DECLINED, "LK9": APPROVED}, stop_at="LK9")
    settlement.connections = provider  # type: ignore[assignment]
    page = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=5)
    await settlement.check(page, {"lookup_id": "LK1"})
    failed = settlement.store.payment(page.id)
    assert failed is not None and failed.state is S.FAILED and failed.next_check_at is None
    with pytest.raises(asyncio.CancelledError):
        await settlement.check(failed, {"lookup_id": "LK9"})
    restarted = Settlement(settlement.payments, connections=settlement.connections)
    await poll(restarted)
    after = settlement.store.payment(page.id)
    assert after is not None
    assert after.state is S.PAID and after.receipt == "tx-9", (after.state, provider.asked)


async def test_a_declined_page_reloaded_is_not_left_watched(settlement: Settlement) -> None:
    """The reload of a declined page's return, answered: nothing is left scheduled."""
    provider = Lookup({"LK1": DECLINED})
    settlement.connections = provider  # type: ignore[assignment]
    page = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=5)
    await settlement.check(page, {"lookup_id": "LK1"})
    failed = settlement.store.payment(page.id)
    assert failed is not None and failed.state is S.FAILED
    await settlement.check(failed, {"lookup_id": "LK1"})
    after = settlement.store.payment(page.id)
    assert after is not None and after.state is S.FAILED and after.next_check_at is None
    assert settlement.store.kept_return(page.id) is None


async def test_a_declined_page_reloaded_after_the_invoice_was_paid_is_not_credited(
    settlement: Settlement, recorder: Recorder
) -> None:
    """The card was declined on the page (the provider's own answer); the invoice was then
    paid by other means (a transfer, marked paid by hand). The payer reloads the declined
    page, whose provider answers from the invoice (i3D.net): the decline is not turned into
    the payment that paid, and no confirmation names it."""
    provider = Lookup({"t1": DECLINED}, names=False)
    settlement.connections = provider  # type: ignore[assignment]
    page = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=5)
    await settlement.check(page, {"lookup_id": "t1"})
    failed = settlement.store.payment(page.id)
    assert failed is not None and failed.state is S.FAILED and failed.next_check_at is None
    provider.transactions["t1"] = PaymentOutcome(
        status=OutcomeStatus.PAID, message="i3D.net shows INV-1001 as paid."
    )
    await settlement.check(failed, {"lookup_id": "t1"})  # the reload
    after = settlement.store.payment(page.id)
    assert after is not None and after.state is S.FAILED, after and after.state
    assert after.next_check_at is None
    assert recorder.confirmed == []


async def test_a_declined_pages_return_replayed_after_a_stop_credits_only_its_own_money(
    settlement: Settlement, recorder: Recorder
) -> None:
    """A stop while a declined page's reload was being asked leaves its return due; the
    poller's replay then finds the invoice paid by other means: nothing is credited to
    the decline, and nothing is left due."""
    provider = Stopping({"t1": DECLINED}, stop_at="t1")
    settlement.connections = provider  # type: ignore[assignment]
    page = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=5)
    provider.stop_at = ""
    await settlement.check(page, {"lookup_id": "t1"})
    failed = settlement.store.payment(page.id)
    assert failed is not None and failed.state is S.FAILED
    provider.stop_at = "t1"
    with pytest.raises(asyncio.CancelledError):
        await settlement.check(failed, {"lookup_id": "t1"})
    provider.transactions["t1"] = PaymentOutcome(
        status=OutcomeStatus.PAID, message="i3D.net shows INV-1001 as paid."
    )
    await poll(Settlement(settlement.payments, connections=settlement.connections))
    after = settlement.store.payment(page.id)
    assert after is not None and after.state is S.FAILED, after and after.state
    assert after.next_check_at is None and settlement.store.kept_return(page.id) is None
    assert recorder.confirmed == []


async def test_a_cancel_whose_watch_is_over_reloaded_is_not_credited_on_the_invoices_word(
    settlement: Settlement, recorder: Recorder
) -> None:
    """A cancel only the browser reported was watched for a day and the watch is over;
    the invoice is then paid by other means and the payer reloads the cancelled page. Its
    provider answers from the invoice (i3D.net): nothing ties that money to this page."""
    cancelled = PaymentOutcome(status=OutcomeStatus.CANCELLED, message="You cancelled.")
    provider = Lookup({"t1": cancelled}, names=False)
    settlement.connections = provider  # type: ignore[assignment]
    page = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=5)
    settlement.apply(page, cancelled)  # the browser's word alone: watched
    watched = settlement.store.payment(page.id)
    assert watched is not None and watched.unconfirmed_end and watched.next_check_at
    settlement.store.update_payment(page.id, next_check_at=None)  # the watch is over
    over = settlement.store.payment(page.id)
    assert over is not None
    provider.transactions["t1"] = PaymentOutcome(
        status=OutcomeStatus.PAID, message="i3D.net shows INV-1001 as paid."
    )
    await settlement.check(over, {"lookup_id": "t1"})  # the reload
    after = settlement.store.payment(page.id)
    assert after is not None and after.state is S.CANCELLED, after and after.state
    assert after.next_check_at is None
    assert recorder.confirmed == []


async def test_a_late_return_given_up_on_is_told_once(
    settlement: Settlement, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A declined page reloaded with another transaction while the provider is down for
    good: after about a day of asking, the return is dropped and #billing told once that
    the page's money is not known, not left to read as a plain decline."""
    monkeypatch.setattr("bot.settlement.LATE_RETURN_TRIES", 3)
    provider = Lookup({"LK1": DECLINED})
    settlement.connections = provider  # type: ignore[assignment]
    page = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=5)
    await settlement.check(page, {"lookup_id": "LK1"})
    failed = settlement.store.payment(page.id)
    assert failed is not None and failed.state is S.FAILED
    provider.down = True
    await settlement.check(failed, {"lookup_id": "LK9"})
    assert recorder.unanswered == []
    await poll(settlement, rounds=8)
    assert recorder.unanswered == [page.id]
    assert settlement.store.kept_return(page.id) is None
    after = settlement.store.payment(page.id)
    assert after is not None and after.state is S.FAILED and after.next_check_at is None


async def test_a_late_return_given_up_on_says_whether_its_invoice_was_settled_since(
    settlement: Settlement, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The declined page's invoice was settled through another attempt before its late
    return was given up on: the hook is told so, for a possible second payment."""
    monkeypatch.setattr("bot.settlement.LATE_RETURN_TRIES", 3)
    provider = Lookup({"LK1": DECLINED, "tx-2": APPROVED})
    settlement.connections = provider  # type: ignore[assignment]
    page = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=5)
    await settlement.check(page, {"lookup_id": "LK1"})
    failed = settlement.store.payment(page.id)
    assert failed is not None and failed.state is S.FAILED
    other = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=2)
    settlement.apply(other, APPROVED)
    assert recorder.confirmed, "the invoice is settled through the other attempt"
    provider.down = True
    await settlement.check(failed, {"lookup_id": "LK9"})
    await poll(settlement, rounds=8)
    assert recorder.unanswered == [page.id]
    assert recorder.unanswered_settled == [True]


async def test_a_late_return_of_two_invoices_one_settled_since_is_not_said_settled(
    settlement: Settlement, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The declined page paid two invoices; one of them alone was paid since. The other
    is still open, and that page may have paid it: #billing must hear to look before
    anyone pays it again, not that the invoice is settled."""
    monkeypatch.setattr("bot.settlement.LATE_RETURN_TRIES", 3)
    provider = Lookup({"LK1": DECLINED, "tx-2": APPROVED})
    settlement.connections = provider  # type: ignore[assignment]
    both = ("1001", "1002")
    page = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=5, invoices=both)
    await settlement.check(page, {"lookup_id": "LK1"})
    failed = settlement.store.payment(page.id)
    assert failed is not None and failed.state is S.FAILED
    other = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=2)
    settlement.apply(other, APPROVED)
    assert recorder.confirmed, "one of its invoices is settled through the other attempt"
    provider.down = True
    await settlement.check(failed, {"lookup_id": "LK9"})
    await poll(settlement, rounds=8)
    assert recorder.unanswered == [page.id]
    assert recorder.unanswered_settled == [False]


def test_a_superseded_attempt_with_an_invoice_still_open_is_not_settled(
    settlement: Settlement,
) -> None:
    """An attempt is superseded once any of its invoices is paid through another; those
    it covered alone may still be open."""
    both = attempt(settlement, S.OPENED, start=PAGE, invoices=("1001", "1002"))
    other = attempt(settlement, S.OPENED, start=PAGE)
    settlement.apply(other, APPROVED)
    superseded = settlement.store.payment(both.id)
    assert superseded is not None and superseded.state is S.SUPERSEDED
    assert not settlement._settled(superseded)


async def test_a_watched_ends_kept_return_counts_one_check_a_round(
    settlement: Settlement, recorder: Recorder
) -> None:
    """A cancel only the browser reported is watched; a return to its page then finds the
    provider down. Each poller round is one check of it, not one for the watch and one
    for the return: the day of asking is a day, not half of one."""
    cancelled = PaymentOutcome(status=OutcomeStatus.CANCELLED, message="You cancelled.")
    provider = Lookup({"t1": cancelled})
    settlement.connections = provider  # type: ignore[assignment]
    page = attempt(settlement, S.OPENED, start=PAGE, opened_minutes_ago=5)
    settlement.apply(page, cancelled)  # the browser's word alone: watched
    watched = settlement.store.payment(page.id)
    assert watched is not None and watched.unconfirmed_end and watched.next_check_at
    provider.down = True
    await settlement.check(watched, {"lookup_id": "t2"})  # a return the provider cannot answer
    _, before = settlement.store.payment_schedule(page.id)
    await poll(settlement, rounds=4)
    _, after = settlement.store.payment_schedule(page.id)
    assert after - before == 4, (before, after)
