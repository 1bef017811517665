"""The time schedules read, injectable so tests (and an outside test harness) move it.

Only schedules (digests, reminders) read this clock; payments, tokens and Slack's
signatures keep the real time, because providers and Slack check them against theirs.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """Stands still until told to move: for tests inside the process."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = instant

    def advance(self, seconds: float) -> None:
        self._now = datetime.fromtimestamp(self._now.timestamp() + seconds, UTC)


class OffsetFileClock:
    """The real time plus a number of seconds read from a file, re-read on every call.

    Opt-in with `INVOICEBOT_CLOCK_FILE`, for a test harness outside the process that
    moves the bot's days: a file only someone on the machine can write, that survives a
    restart of the bot (so a schedule cannot fire again because a restart forgot the
    offset), and that opens no network route. Missing or unreadable means no offset.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def offset(self) -> float:
        try:
            return float(self.path.read_text().strip() or 0)
        except FileNotFoundError:
            return 0.0
        except (OSError, ValueError) as error:
            log.warning("clock file %s is unreadable (%s); using the real time", self.path, error)
            return 0.0

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.offset(), UTC)


def clock_from(path: Path | None) -> Clock:
    return OffsetFileClock(path) if path is not None else SystemClock()
