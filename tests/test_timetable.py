"""When schedules fire: parsing the settings, the period due at a moment, the grace."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import OffsetFileClock
from bot.credentials import generate_key
from bot.reminding import due_for_auto_reminder
from bot.runs import Reminder
from bot.settings import Settings
from bot.slack.subcommands import Export, History, Unknown, parse
from bot.timetable import BadTimetable, Slot, Timetable, parse_auto_remind, parse_slot, period_due

AMS = ZoneInfo("Europe/Amsterdam")


def test_settings_are_read_and_bad_ones_refused() -> None:
    assert parse_slot("off") is None
    assert parse_slot("Monday 9:05") == Slot(datetime(2000, 1, 1, 9, 5).time(), 0)
    assert parse_slot("daily 18:30") == Slot(datetime(2000, 1, 1, 18, 30).time())
    assert parse_auto_remind("7x3") == (7, 3) and parse_auto_remind("off") is None
    for bad in ("mon", "funday 09:00", "mon 25:00"):
        with pytest.raises(BadTimetable):
            parse_slot(bad)
    with pytest.raises(BadTimetable):
        parse_auto_remind("weekly")
    with pytest.raises(ValueError, match="IANA"):
        Settings(
            slack_bot_token="xoxb-1",
            public_url="http://x",
            secret_key=generate_key(),
            billing_channel="C1",
            timezone="Mars/Olympus",
            _env_file=None,  # type: ignore[call-arg]
        )


def test_the_period_due_is_the_last_occurrence_within_the_grace() -> None:
    monday = Slot(datetime(2000, 1, 1, 9, 0).time(), 0)
    at_nine = datetime(2026, 12, 7, 9, 0, tzinfo=AMS)  # a Monday
    assert period_due(monday, AMS, at_nine - timedelta(minutes=1)) is None  # last week's: late
    assert period_due(monday, AMS, at_nine) == ("2026-12-07", at_nine)
    assert period_due(monday, AMS, at_nine + timedelta(hours=11))[0] == "2026-12-07"  # type: ignore[index]
    assert period_due(monday, AMS, at_nine + timedelta(hours=13)) is None
    # In the workspace's zone: 08:30 UTC is 09:30 in Amsterdam in winter.
    assert period_due(monday, AMS, datetime(2026, 12, 7, 8, 30, tzinfo=UTC)) is not None


def test_automatic_reminders_every_n_days_at_most_m_times() -> None:
    def sent(day: int, automatic: bool = True) -> Reminder:
        at = datetime(2026, 12, day, 9, tzinfo=UTC)
        return Reminder(0, "customer", "p", "1", "N1", at.date().isoformat(), at, None,
                        automatic, "sent", "a@b.c")  # fmt: skip

    today = date(2026, 12, 10)
    assert due_for_auto_reminder([], today, 7, 2)
    assert not due_for_auto_reminder([sent(5, automatic=False)], today, 7, 2)
    assert due_for_auto_reminder([sent(3)], today, 7, 2)
    assert not due_for_auto_reminder([sent(1), sent(3)], today, 1, 2)


def test_export_and_history_are_parsed_with_clear_refusals() -> None:
    def none(word: str) -> None:
        return None

    assert parse("export", none) == Export()
    assert parse("export 2026-02", none) == Export(date(2026, 2, 1), date(2026, 2, 28))
    assert parse("export 2026-11-03 2026-11-09", none) == Export(
        date(2026, 11, 3), date(2026, 11, 9)
    )
    assert parse("history INV-1", none) == History("INV-1")
    for text, said in (
        ("export 2026-02-30", "not a date in the calendar"),
        ("export last-week", "YYYY-MM-DD"),
        ("export 2026-12-01 2026-11-01", "put the earlier date first"),
        ("export 1900-01-01 2099-12-31", "At most ten years at once"),  # as App Home says
        ("export 2026-01 2026-02 2026-03", "at most two dates"),
        ("history", "Say which invoice"),
        ("history payfirma 212953", "Type just the invoice number after `history`"),
        ("pay INV-1 INV-2", "Type just the invoice number after `pay`"),
    ):
        request = parse(text, none)
        assert isinstance(request, Unknown) and said in request.problem


def test_the_timetable_is_one_object() -> None:
    table = Timetable.parse(
        zone="Europe/Amsterdam", digest="off", daily="08:00", due_reminder_days=2,
        auto_remind="5x2",
    )  # fmt: skip
    assert table.digest is None and table.auto_remind == (5, 2)
    assert table.today(datetime(2026, 12, 6, 23, 30, tzinfo=UTC)) == date(2026, 12, 7)


def test_the_clock_file_moves_or_sets_the_time(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    clock = OffsetFileClock(path)
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5  # no file: real time
    path.write_text("86400")
    assert abs((clock.now() - datetime.now(UTC)).total_seconds() - 86400) < 5
    path.write_text("2026-12-07T09:05:00+01:00")
    assert clock.now() == datetime(2026, 12, 7, 8, 5, tzinfo=UTC)
    path.write_text("next tuesday")
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5
