"""`Services.today()` reads the clock the digest and reminders read (`INVOICEBOT_CLOCK_FILE`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any, cast

from bot.clock import ManualClock
from bot.slack.services import Services


def test_the_lists_today_is_the_schedules_today() -> None:
    """With `INVOICEBOT_CLOCK_FILE` (or a test's clock) a day ahead, the digest and the
    reminders count overdue from that day; the lists must count from it too."""
    svc = object.__new__(Services)
    svc.settings = cast(Any, SimpleNamespace(timezone="Pacific/Auckland"))
    svc.clock = ManualClock(datetime(2030, 1, 1, 12, 0, tzinfo=UTC))
    assert svc.today() == date(2030, 1, 2)  # 01:00 on the 2nd in Auckland
