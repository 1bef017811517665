"""Checks unsettled payments in the background, with backoff, until they settle.

None of the providers offers a webhook we can rely on, and a payer may close the
browser before the landing page: the poller is what makes sure the money is noticed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.models import Payment
from bot.settlement import IN_FLIGHT_LIMIT, Settlement

log = logging.getLogger(__name__)

CHECK_LEASE = 120.0
"""Seconds a payment taken for a check is left to its process: longer than a provider
call may take, so two processes never ask about it at once."""


class Poller:
    def __init__(
        self,
        settlement: Settlement,
        *,
        tick: float = 1.0,
        concurrency: int = 8,
        lease: float = CHECK_LEASE,
    ) -> None:
        self.settlement = settlement
        self.lease = lease
        self.tick = tick
        self._slots = asyncio.Semaphore(concurrency)
        self.rounds: list[Callable[[], Awaitable[object]]] = []
        """Other lookups that end in a watched payment (lost creates), after each round."""

    async def run_once(self) -> int:
        """Check every payment that is due now; return how many were checked.

        Starts cut short long ago (by another process, or before a restart) are handed
        over first, so they are asked about too. Each due payment is taken for this
        process first (see `Store.claim_payments_to_check`).
        """
        self.settlement.reconcile_interrupted(started_before=time.time() - IN_FLIGHT_LIMIT)
        due = self.settlement.store.claim_payments_to_check(time.time(), self.lease)

        async def one(taken: Payment) -> None:
            try:
                async with self._slots:
                    payment = self.settlement.store.payment(taken.id)
                    if payment is not None:
                        await self.settlement.check(payment)
            except asyncio.CancelledError:
                self.settlement.store.release_check(taken, time.time())  # the bot is stopping
                raise
            except Exception:
                # Its own check only (a database locked while settling): the payment
                # stays taken until its lease ends, then is asked about again, and the
                # other payments and the lookups after the round go on.
                log.exception("payment %s: its check failed; it is asked again later", taken.id)

        await asyncio.gather(*(one(payment) for payment in due))
        for also in self.rounds:
            await also()
        return len(due)

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("payment poller round failed; trying again")
            await asyncio.sleep(self.tick)
