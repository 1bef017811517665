"""Concurrent asks for the same thing share one answer.

Fifty people typing `/invoices` in the same second want the same list from the same
providers: they get one fetch between them, not fifty. Nothing is kept once the work
ends, so the next ask after that fetches afresh; there is no cache to go stale.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class SingleFlight(Generic[V]):
    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Future[V]] = {}

    async def run(self, key: Hashable, work: Callable[[], Awaitable[V]]) -> V:
        """`work()`'s result, shared with every caller asking for `key` while it runs."""
        running = self._running.get(key)
        if running is None:
            running = asyncio.ensure_future(work())
            self._running[key] = running
            running.add_done_callback(lambda _: self._running.pop(key, None))
        # One caller giving up (Slack's client went away) must not cancel the others.
        return await asyncio.shield(running)

    def __contains__(self, key: Hashable) -> bool:
        """Whether work for `key` is under way: `run` would join it."""
        return key in self._running

    def __len__(self) -> int:
        return len(self._running)
