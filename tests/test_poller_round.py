"""One poller round: a check that fails holds up neither the others nor the lookups after."""

from __future__ import annotations

import time

import pytest

from bot.models import Payment
from bot.poller import Poller
from bot.settlement import Settlement
from tests.test_settlement import Recorder, S, attempt, recorder, settlement, store  # noqa: F401


async def test_a_check_that_fails_still_lets_the_round_finish(
    settlement: Settlement,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A database locked while one payment is settled: the other payments due are still
    asked about, and the lost creates' lookups after the round still run."""
    broken = attempt(settlement, S.OPENED, opened_minutes_ago=1, invoices=("1001",))
    fine = attempt(settlement, S.OPENED, opened_minutes_ago=1, invoices=("1002",))
    for payment in (broken, fine):
        settlement.store.update_payment(payment.id, next_check_at=time.time() - 1)
    asked: list[str] = []

    async def check(payment: Payment, landing_params: object = None) -> Payment:
        asked.append(payment.id)
        if payment.id == broken.id:
            raise RuntimeError("database is locked")
        return payment

    monkeypatch.setattr(settlement, "check", check)
    poller = Poller(settlement)
    looked: list[bool] = []

    async def lookups() -> None:
        looked.append(True)

    poller.rounds.append(lookups)
    assert await poller.run_once() == 2
    assert sorted(asked) == sorted([broken.id, fine.id])
    assert looked == [True]
