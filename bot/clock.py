"""The time schedules read, injectable so tests (and an outside test harness) move it.

Only schedules (digests, reminders) read this clock; payments, tokens and Slack's
signatures keep the real time, because providers and Slack check them against theirs.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


def in_zone(moment: datetime, zone: tzinfo) -> datetime:
    """`moment` (taken as UTC without a zone) in `zone`. A provider's time at the
    calendar's edge (year 9999 east of UTC, year 1 west of it) has no reading there: it
    keeps its own, rather than failing the list or view that shows it."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        return aware.astimezone(zone)
    except OverflowError:
        return aware


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
    """The time a file says, re-read on every call: for a test harness outside the process.

    Opt-in with `INVOICEBOT_CLOCK_FILE`. The file holds either a number of seconds added
    to the real time (`86400`: a day ahead, still ticking) or an ISO 8601 instant with
    its offset (`2026-12-07T09:05:00+01:00`: time stands there until the file changes).
    A file only someone on the machine can write, that survives a restart of the bot (a
    restart cannot forget the offset and fire a schedule again), and that opens no
    network route. Missing, empty or unreadable means the real time.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        real = datetime.now(UTC)
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            return real
        except OSError as error:
            log.warning("clock file %s is unreadable (%s); using the real time", self.path, error)
            return real
        if not text:
            return real
        try:
            return datetime.fromtimestamp(time.time() + float(text), UTC)
        except ValueError:
            pass
        try:
            instant = datetime.fromisoformat(text)
        except ValueError:
            log.warning("clock file %s holds neither seconds nor a time; using the real time",
                        self.path)  # fmt: skip
            return real
        return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def clock_from(path: Path | None) -> Clock:
    return OffsetFileClock(path) if path is not None else SystemClock()
