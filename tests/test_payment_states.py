"""The payment state machine: every legal and illegal move, and duplicates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import hookimpl
from bot.credentials import CredentialBox, generate_key
from bot.history import story
from bot.models import Money, Payment, PaymentState
from bot.payments import LIVE, TRANSITIONS, Payments, TokenProblem, can_move
from bot.plugins import make_plugin_manager
from bot.store import Store

S = PaymentState


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "db.sqlite", CredentialBox(generate_key()))
    yield store
    store.close()


class Recorder:
    def __init__(self) -> None:
        self.confirmed: list[str] = []

    @hookimpl
    def payment_confirmed(self, payment: Payment, outbox: Any) -> None:
        self.confirmed.append(payment.id)
        outbox.enqueue("chat.postMessage", {"text": f"paid {payment.id}"}, key=f"paid:{payment.id}")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def payments(store: Store, recorder: Recorder) -> Iterator[Payments]:
    pm = make_plugin_manager(entry_point_plugins=False)
    pm.register(recorder, name="recorder")
    try:
        yield Payments(store, pm)
    finally:
        pm.unregister(name="recorder")


def draft() -> Payment:
    return Payment(
        team_id="T1",
        provider="i3d",
        invoice_ids=("1001",),
        invoice_numbers=("INV-1001",),
        amount=Money.of("12.50", "EUR"),
        method_id="2",
        method_name="iDEAL",
        user_id="U1",
    )


def put_in(payments: Payments, state: PaymentState) -> Payment:
    payment, _ = payments.record(draft())
    payments.store.db.execute("UPDATE payments SET state = ? WHERE id = ?", [state, payment.id])
    return payment


ALL_MOVES = [(source, target) for source in S for target in S]


@pytest.mark.parametrize(("source", "target"), ALL_MOVES, ids=lambda s: s.value)
def test_every_move_is_applied_only_when_legal(
    payments: Payments, recorder: Recorder, source: PaymentState, target: PaymentState
) -> None:
    payment = put_in(payments, source)
    if target is S.PAID:
        with pytest.raises(ValueError, match="settling"):
            payments.move(payment.id, target)
        return
    moved = payments.move(payment.id, target)
    after = payments.store.payment(payment.id)
    assert after is not None
    assert moved is can_move(source, target)
    assert after.state is (target if moved else source)
    assert recorder.confirmed == []


def test_the_table_ends_paid_and_superseded_and_pays_only_from_live_or_late() -> None:
    for final in (S.PAID, S.SUPERSEDED):
        assert TRANSITIONS[final] == frozenset()
    assert {state for state, targets in TRANSITIONS.items() if S.PAID in targets} == (
        LIVE | {S.FAILED, S.EXPIRED, S.CANCELLED}  # the last three only on late evidence
    )
    assert TRANSITIONS[S.CANCELLED] == {S.PAID}
    assert not can_move(S.OPENED, S.LINK_ISSUED)
    assert not can_move(S.EXPIRED, S.OPENED)
    assert not can_move(S.CANCELLED, S.OPENED)


def test_a_pay_link_works_until_it_is_used_or_superseded(payments: Payments) -> None:
    payment, token = payments.record(draft())
    assert payments.redeem(token).id == payment.id
    with pytest.raises(TokenProblem, match="not valid"):
        payments.redeem(token + "x")
    payments.store.compare_and_set_state(payment.id, {S.CREATED}, S.PAID)
    with pytest.raises(TokenProblem, match="already been paid"):
        payments.redeem(token)
    other, other_token = payments.record(draft())
    payments.store.compare_and_set_state(other.id, {S.CREATED}, S.SUPERSEDED)
    with pytest.raises(TokenProblem, match="paid through another payment"):
        payments.redeem(other_token)


def test_an_expired_link_is_refused_and_the_payment_expires(store: Store) -> None:
    payments = Payments(store, make_plugin_manager(entry_point_plugins=False), token_lifetime=-1)
    payment, token = payments.record(draft())
    with pytest.raises(TokenProblem, match="expired"):
        payments.redeem(token)
    stored = store.payment(payment.id)
    assert stored is not None and stored.state is S.EXPIRED


def test_tokens_are_unguessable_and_only_their_hash_is_stored(payments: Payments) -> None:
    tokens = {payments.record(draft())[1] for _ in range(50)}
    assert len(tokens) == 50
    assert all(len(token) >= 40 for token in tokens)
    stored = {row[0] for row in payments.store.db.execute("SELECT token_hash FROM payments")}
    assert not tokens & stored


def test_the_story_tells_an_attempt_ended_after_its_page_was_opened(payments: Payments) -> None:
    """The end is dated by its move, not by when the link was made."""
    payment = put_in(payments, S.LINK_ISSUED)
    earlier = (datetime.now(UTC) - timedelta(minutes=10)).isoformat(timespec="seconds")
    payments.store.db.execute(
        "UPDATE payments SET created_at = ? WHERE id = ?", [earlier, payment.id]
    )
    opened = (datetime.now(UTC) - timedelta(minutes=5)).isoformat(timespec="seconds")
    payments.force(payment.id, {S.LINK_ISSUED}, S.OPENED, opened_at=opened)
    failing = datetime.now(UTC).replace(microsecond=0)
    payments.move(
        payment.id,
        S.FAILED,
        last_error="Acme refused the request (HTTP 422: Card declined; request id 4ae7).",
    )
    events = story(payments.store, "T1", "INV-1001", {})
    assert events[-1].at >= failing, "dated by the move to failed, not by the page opening"
    told = [event.text for event in events]
    assert told[0].startswith("Payment started by <@U1>")
    payments.store.db.execute("UPDATE payments SET direction = 'receivable'")
    told = [event.text for event in story(payments.store, "T1", "INV-1001", {})]
    assert told[0].startswith("Payment link for the customer copied by <@U1>")
    # As the payer was told: statuses and request ids go to the log only.
    assert told[1:] == [
        "The payment page was opened",
        "The attempt ended: Acme refused the request: Card declined.",
    ]


def test_a_link_that_paid_a_second_time_says_so_not_that_nothing_was_charged(
    payments: Payments,
) -> None:
    payment, token = payments.record(draft())
    payments.store.db.execute(
        "UPDATE payments SET state = 'superseded', paid_at = '2026-12-03T12:00:00+00:00' "
        "WHERE id = ?",
        [payment.id],
    )
    with pytest.raises(TokenProblem, match="a second payment was made through this link"):
        payments.redeem(token)
