"""Acks first, by deadline: a follow-up yields to pending acks only until its own deadline.

Slack shows an error when a request is not acknowledged within 3 s, and a person
expects the list within about a second of typing. Both are deadlines, so both are
kept: a follow-up (the list posted to the response_url) waits while requests are
still waiting for their ack, but never longer than `patience` (100 ms) after it asked
for its turn. Under a steady flood the count of pending acks rarely reaches zero,
which is why the wait is bounded by the follow-up's own deadline and not by idleness:
nothing starves, and each list is late by at most `patience`.

Posting the follow-ups (building and sending a list of several kilobytes) then goes
through a fixed number of slots, so when many are released at once they do not all
compete with the next acks for the CPU; the rest queue in arrival order (asyncio's
semaphore is fair). Only the posting is bounded: a list waiting for its providers
holds no slot, so slow providers cannot starve the others.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator


class AckFirst:
    def __init__(self, patience: float = 0.1, slots: int = 32) -> None:
        self.patience = patience
        self.waiting = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._slots = asyncio.Semaphore(slots)

    @contextlib.contextmanager
    def acking(self) -> Iterator[None]:
        """Around the handling of one Slack request, until its ack is ready."""
        self.waiting += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.waiting -= 1
            if not self.waiting:
                self._idle.set()

    async def turn(self) -> None:
        """Return once no request waits for its ack, or `patience` seconds from now."""
        if self.waiting:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.patience):  # no extra task, unlike wait_for
                    await self._idle.wait()

    @contextlib.asynccontextmanager
    async def posting(self) -> AsyncIterator[None]:
        """Around posting one follow-up: one of the slots."""
        async with self._slots:
            yield
