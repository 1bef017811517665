"""Time as the emulator sees it, injectable so tests can age trigger ids and response_urls.

Only the emulator's own rules (3 s trigger ids, 30 min response_urls, message `ts`) read
this clock. Request signatures always use wall-clock time, because the bot checks them
against its own clock.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when a test says so (starts at the real time by default)."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds
