"""Checks unsettled payments in the background, with backoff, until they settle.

None of the providers offers a webhook we can rely on, and a payer may close the
browser before the landing page: the poller is what makes sure the money is noticed.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.settlement import IN_FLIGHT_LIMIT, Settlement

log = logging.getLogger(__name__)


class Poller:
    def __init__(self, settlement: Settlement, *, tick: float = 1.0, concurrency: int = 8) -> None:
        self.settlement = settlement
        self.tick = tick
        self._slots = asyncio.Semaphore(concurrency)

    async def run_once(self) -> int:
        """Check every payment that is due now; return how many were checked.

        Starts cut short long ago (by another process, or before a restart) are handed
        over first, so they are asked about too.
        """
        self.settlement.reconcile_interrupted(started_before=time.time() - IN_FLIGHT_LIMIT)
        due = self.settlement.store.payments_to_check(time.time())

        async def one(payment_id: str) -> None:
            async with self._slots:
                payment = self.settlement.store.payment(payment_id)
                if payment is not None:
                    await self.settlement.check(payment)

        await asyncio.gather(*(one(payment.id) for payment in due))
        return len(due)

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("payment poller round failed; trying again")
            await asyncio.sleep(self.tick)
