"""A disputed invoice's story: the bank shows it paid twice. #billing was told and the
export has a row to refund; `/invoices history` must tell it too, not "no longer needed"."""

from __future__ import annotations

from bot.history import story
from bot.models import OutcomeStatus, PaymentOutcome, PaymentState
from bot.records import MAYBE_TWICE
from bot.settlement import Settlement
from tests.test_settlement import attempt, recorder, settlement, store  # noqa: F401

S = PaymentState


def test_a_second_payment_is_in_the_invoices_story_with_its_money(
    settlement: Settlement,  # noqa: F811
) -> None:
    first = attempt(settlement, S.OPENED, opened_minutes_ago=2)
    # Settled on the invoice's word alone: the late charge may be this very money.
    settlement.apply(first, PaymentOutcome(status=OutcomeStatus.PAID, message="paid"))
    late = attempt(settlement, S.OPENED, opened_minutes_ago=1)
    settlement.apply(
        late,
        PaymentOutcome(status=OutcomeStatus.PAID, message="ok", reference="r2", attributed=True),
    )
    told = "\n".join(e.text for e in story(settlement.store, "T1", "INV-1001", {}))
    assert "no longer needed)" not in told, told
    assert "(now paid after the invoice was settled)" in told, told
    (line,) = [line for line in told.split("\n") if "Paid again after it was settled" in line]
    assert "€12.50" in line and "r2" in line and MAYBE_TWICE in line, line


def test_a_charge_after_a_settlement_on_the_invoices_word_is_in_its_story(
    settlement: Settlement,  # noqa: F811
) -> None:
    """The attempt was credited when the invoice showed paid; its own charge came in a
    day later. #billing read "maybe paid twice" and the export's note says to check: the
    settlement in the story must not read as the whole of it."""
    from datetime import UTC, datetime, timedelta

    paid = attempt(settlement, S.OPENED, opened_minutes_ago=2)
    now = datetime.now(UTC)
    settlement.apply(paid, PaymentOutcome(status=OutcomeStatus.PAID, message="paid", paid_at=now))
    settlement.apply(
        settlement.store.payment(paid.id) or paid,
        PaymentOutcome(
            status=OutcomeStatus.PAID,
            message="ok",
            reference="r9",
            attributed=True,
            paid_at=now + timedelta(days=1),
        ),
    )
    told = "\n".join(e.text for e in story(settlement.store, "T1", "INV-1001", {}))
    assert MAYBE_TWICE in told, told


def test_a_second_payment_to_refund_is_in_app_home_as_history_tells_it(
    settlement: Settlement,  # noqa: F811
) -> None:
    """#billing said to refund it and the story tells it: App Home's recent settlements
    list it too, in the same words, not only the settlement it doubles."""
    from types import SimpleNamespace
    from typing import Any, cast

    from bot.models import today_utc
    from bot.records import PAID_TWICE
    from bot.slack.home import home_blocks, ledger_of

    first = attempt(settlement, S.OPENED, opened_minutes_ago=2)
    settlement.apply(
        first,
        PaymentOutcome(status=OutcomeStatus.PAID, message="ok", reference="r1", attributed=True),
    )
    again = attempt(settlement, S.OPENED, user="U2", opened_minutes_ago=1)
    settlement.apply(
        again,
        PaymentOutcome(status=OutcomeStatus.PAID, message="ok", reference="r2", attributed=True),
    )
    told = "\n".join(e.text for e in story(settlement.store, "T1", "INV-1001", {}))
    assert PAID_TWICE in told, told
    svc = cast(Any, SimpleNamespace(store=settlement.store))
    view = home_blocks(
        providers=[],
        found=None,
        ledger=ledger_of(svc, "T1", "U1"),
        user_id="U1",
        may_pay=True,
        today=today_utc(),
    )
    said = str(view["blocks"])
    (line,) = [line for line in said.split("\\n") if "refund" in line]
    assert f"paid by <@U2> · :warning: paid again after it was settled: {PAID_TWICE}" in line
    assert "*INV-1001* · €12.50" in line
    assert "paid by you" in said  # the settlement itself, as before


def test_a_charge_after_a_settlement_on_the_invoices_word_is_in_app_home_as_history_tells_it(
    settlement: Settlement,  # noqa: F811
) -> None:
    """The settlement credited on the invoice's word, whose own page then took a card a
    day later: the story warns "maybe paid twice", and so does App Home's line for it."""
    from datetime import UTC, datetime, timedelta
    from types import SimpleNamespace
    from typing import Any, cast

    from bot.models import today_utc
    from bot.slack.home import home_blocks, ledger_of

    paid = attempt(settlement, S.OPENED, opened_minutes_ago=2)
    now = datetime.now(UTC)
    settlement.apply(paid, PaymentOutcome(status=OutcomeStatus.PAID, message="paid", paid_at=now))
    settlement.apply(
        settlement.store.payment(paid.id) or paid,
        PaymentOutcome(
            status=OutcomeStatus.PAID,
            message="ok",
            reference="r9",
            attributed=True,
            paid_at=now + timedelta(days=1),
        ),
    )
    svc = cast(Any, SimpleNamespace(store=settlement.store))
    view = home_blocks(
        providers=[],
        found=None,
        ledger=ledger_of(svc, "T1", "U1"),
        user_id="U1",
        may_pay=True,
        today=today_utc(),
    )
    (line,) = [line for line in str(view["blocks"]).split("\\n") if "INV-1001" in line]
    assert f"paid by you · :warning: {MAYBE_TWICE}" in line, line
