"""A page the payer cancelled is still watched (the provider's page can take the money
after its Cancel), and a new link may be out meanwhile. When the provider's own record
ties the money to the cancelled page, that page is credited, not the newer link."""

from __future__ import annotations

from bot.models import OutcomeStatus, PaymentOutcome, PaymentState, Redirect
from bot.settlement import Settlement
from tests.test_settlement import (
    CANCELLED,
    Answering,
    Recorder,
    approved,
    attempt,
    recorder,
    settlement,
    state_of,
    store,
)

__all__ = ["recorder", "settlement", "store"]

S = PaymentState
PAGE = Redirect(url="https://hpp.example/pay")


def test_money_the_provider_ties_to_a_cancelled_page_credits_that_page(
    settlement: Settlement, recorder: Recorder
) -> None:
    cancelled = attempt(settlement, S.OPENED, user="UA", start=PAGE, opened_minutes_ago=30)
    settlement.apply(cancelled, CANCELLED)
    watched = settlement.store.payment(cancelled.id)
    assert watched is not None and watched.state is S.CANCELLED and watched.next_check_at
    newer = attempt(settlement, S.OPENED, user="UB", start=PAGE, opened_minutes_ago=1)

    settlement.apply(watched, approved("tx-A"))  # paid on the cancelled page after all

    paid = settlement.store.payment(cancelled.id)
    assert paid is not None and paid.state is S.PAID and paid.receipt == "tx-A"
    assert state_of(settlement, newer) is S.SUPERSEDED
    assert recorder.confirmed == [(cancelled.id, [newer.id])]
    # the newer page's own money, if it comes, is a second payment for certain
    gone = settlement.store.payment(newer.id)
    assert gone is not None
    settlement.apply(
        gone,
        PaymentOutcome(
            status=OutcomeStatus.PAID, message="approved", reference="tx-B", attributed=True
        ),
    )
    assert recorder.paid_twice == [(newer.id, "tx-B")] and recorder.certain == [True]


async def test_money_through_a_cancelled_page_after_another_settled_is_paid_twice(
    settlement: Settlement, recorder: Recorder
) -> None:
    """The payer cancelled, another link paid the invoice (the cancel's watch ends with
    that), and then the cancelled page took a card after all: a second payment, to be
    told, as it is for a page that failed or was superseded."""
    first = attempt(settlement, S.OPENED, user="UA", start=PAGE, opened_minutes_ago=30)
    settlement.apply(first, CANCELLED)
    other = attempt(settlement, S.OPENED, user="UB", start=PAGE, opened_minutes_ago=5)
    settlement.connections = Answering(approved("tx-B"))  # type: ignore[assignment]
    await settlement.check(other, {"lookup_id": "LKB"})
    assert state_of(settlement, other) is S.PAID
    ended = settlement.store.payment(first.id)
    assert ended is not None and ended.state is S.CANCELLED and ended.next_check_at is None
    settlement.connections = Answering(approved("tx-A"))  # type: ignore[assignment]
    after = await settlement.check(ended, {"lookup_id": "LKA"})
    assert after.paid_at and after.receipt == "tx-A", after.state
    assert recorder.paid_twice == [(first.id, "tx-A")] and recorder.certain == [True]
