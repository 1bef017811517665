"""Acks first: follow-up work yields to Slack requests still waiting for their ack.

Slack shows the user an error when a request is not acknowledged within 3 seconds,
but takes follow-ups on a response_url for 30 minutes. So under a burst the bot
acknowledges everything first and catches up on the follow-ups right after; a
follow-up waits at most `patience` seconds, so a steady flood cannot starve it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


class AckFirst:
    def __init__(self, patience: float = 1.0) -> None:
        self.patience = patience
        self.waiting = 0
        self._idle = asyncio.Event()
        self._idle.set()

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
        """Return once no request waits for its ack, or after `patience` seconds."""
        if self.waiting:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.patience):  # no extra task, unlike wait_for
                    await self._idle.wait()
