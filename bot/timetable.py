"""When the digest and the reminders run: one small settings object, parsed once.

Read from environment variables today (`bot.settings`); a per-workspace settings dialog
can build the same object later. Times are in the workspace's time zone, which Slack's
API does not give an app (`team.info` has none; only each user has a `tz`), so it is
configured: `INVOICEBOT_TIMEZONE`, an IANA name, UTC by default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
GRACE = timedelta(hours=12)
"""A run missed while the bot was down fires once at start-up if it is at most this late;
later than that it is skipped: a Monday digest arriving on Tuesday would mislead."""


class BadTimetable(ValueError):
    """A setting that cannot be read; the message says what is expected."""


@dataclass(frozen=True)
class Slot:
    """A time of day, every day (`weekday` None) or on one weekday (0 = Monday)."""

    at: time
    weekday: int | None = None

    def last(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The latest occurrence at or before `now`, as an aware datetime in `zone`."""
        local = now.astimezone(zone)
        day = local.date()
        for back in range(8):
            candidate_day = day - timedelta(days=back)
            if self.weekday is not None and candidate_day.weekday() != self.weekday:
                continue
            candidate = datetime.combine(candidate_day, self.at, tzinfo=zone)
            if candidate <= local:
                return candidate
        raise AssertionError("a slot occurs at least once a week")


def parse_time(text: str) -> time:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise BadTimetable(f"{text!r} is not a time of day such as 09:00")
    return time(int(match[1]), int(match[2]))


def parse_slot(text: str) -> Slot | None:
    """`mon 09:00`, `daily 09:00`, or `off` (None)."""
    words = text.strip().casefold().split()
    if words in (["off"], ["none"], []):
        return None
    if len(words) != 2:
        raise BadTimetable(f"{text!r}: expected a day and a time such as 'mon 09:00', or 'off'")
    day, at = words
    if day in ("daily", "day", "every-day"):
        return Slot(parse_time(at))
    if day[:3] not in WEEKDAYS:
        raise BadTimetable(f"{day!r} is not a weekday (mon … sun) or 'daily'")
    return Slot(parse_time(at), WEEKDAYS.index(day[:3]))


def parse_auto_remind(text: str) -> tuple[int, int] | None:
    """`7x3`: every 7 days, at most 3 times; `off` (None)."""
    value = text.strip().casefold()
    if value in ("off", "none", "", "0"):
        return None
    match = re.fullmatch(r"(\d+)\s*x\s*(\d+)", value)
    if not match or int(match[1]) < 1 or int(match[2]) < 1:
        raise BadTimetable(f"{text!r}: expected every-N-days x at-most-M-times, e.g. '7x3', or off")
    return int(match[1]), int(match[2])


def parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise BadTimetable(f"{name!r} is not an IANA time zone such as Europe/Amsterdam") from None


@dataclass(frozen=True)
class Timetable:
    zone: ZoneInfo
    digest: Slot | None
    """The billing channel's digest; None: off."""
    daily: Slot
    """When each day's reminders go out (due-soon DMs, automatic customer reminders)."""
    due_reminder_days: int
    """DM payers from this many days before a payable's due date until the day; 0: off."""
    auto_remind: tuple[int, int] | None
    """Re-send overdue customer invoices every N days, at most M times; None: off."""
    digest_ahead: int = 7
    """The digest lists payables due within this many days."""

    @classmethod
    def parse(
        cls, *, zone: str, digest: str, daily: str, due_reminder_days: int, auto_remind: str
    ) -> Timetable:
        if due_reminder_days < 0:
            raise BadTimetable("the days before a due date cannot be negative")
        return cls(
            zone=parse_zone(zone),
            digest=parse_slot(digest),
            daily=Slot(parse_time(daily)),
            due_reminder_days=due_reminder_days,
            auto_remind=parse_auto_remind(auto_remind),
        )

    def today(self, now: datetime) -> date:
        return now.astimezone(self.zone).date()


def period_due(slot: Slot, zone: ZoneInfo, now: datetime) -> tuple[str, datetime] | None:
    """The period that should have fired by `now` (its key and its time), unless it is
    older than `GRACE`: each period fires once, claimed under its key."""
    last = slot.last(now, zone)
    if now - last > GRACE:
        return None
    return last.date().isoformat(), last
