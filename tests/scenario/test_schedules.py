"""The digest and the due-soon DMs: once per period, across restarts, as the days go by.

The bot's schedules read the time through `INVOICEBOT_CLOCK_FILE` (an offset in seconds),
exactly as an outside harness would move it; the i3D sandbox's invoices are dated
relative to the real time (INV-24-0087 overdue by 10 days, INV-24-0101 due in 25 days,
INV-24-0102/0103 in USD due in 26 days).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestServer

from bot.web import SCHEDULER, STORE
from plugins.i3d.sandbox import SANDBOX
from tests.scenario.conftest import BotFactory, free_port
from tests.scenario.harness import Harness

ZONE = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    return tmp_path / "clock"


@pytest.fixture
def schedules(clock_file: Path) -> dict[str, Any]:
    return {
        "digest": "mon 09:00",
        "timezone": "Europe/Amsterdam",
        "due_reminder_days": 3,
        "reminder_time": "08:00",
        "clock_file": clock_file,
    }


def set_clock(clock_file: Path, instant: datetime) -> None:
    clock_file.write_text(str(instant.timestamp() - time.time()))


def monday_after(days: int, at: str) -> datetime:
    """The first Monday at least `days` after today, at `at` in Amsterdam; today as the
    sandbox dates its invoices (UTC), so the days between agree at any hour."""
    day = (datetime.now(UTC) + timedelta(days=days)).date()
    day += timedelta(days=(7 - day.weekday()) % 7)
    hour, minute = map(int, at.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


def digests(harness: Harness) -> list[dict[str, Any]]:
    return [m for m in harness.slack.posted_to("C0BILLING") if "Invoice digest" in m["text"]]


async def test_the_digest_is_posted_once_per_week_across_restarts(
    harness: Harness, start_bot: BotFactory, clock_file: Path
) -> None:
    monday = monday_after(1, "09:00")
    set_clock(clock_file, monday + timedelta(minutes=5))
    await harness.bot.app[SCHEDULER].run_once()
    (digest,) = await harness.wait_for(lambda: digests(harness))
    text = str(digest["blocks"])
    assert "INV-24-0087" in text and "Overdue payables" in text
    assert digest["metadata"]["event_type"] == "invoicebot_digest"
    # The same period again, in this process and after a restart: nothing more.
    assert await harness.bot.app[SCHEDULER].run_once() == []
    await harness.bot.close()
    set_clock(clock_file, monday + timedelta(hours=2))
    restarted = await start_bot()
    assert await restarted.app[SCHEDULER].run_once() == []
    assert len(digests(harness)) == 1
    # A week later the next one.
    set_clock(clock_file, monday + timedelta(days=7, minutes=1))
    done = await restarted.app[SCHEDULER].run_once()
    assert ("digest", "T0TEAM", (monday + timedelta(days=7)).date().isoformat()) in done
    await harness.wait_for(lambda: len(digests(harness)) == 2)


async def test_a_digest_missed_while_down_fires_once_at_start_within_the_grace(
    harness: Harness, start_bot: BotFactory, clock_file: Path
) -> None:
    monday = monday_after(1, "09:00")
    await harness.bot.close()
    set_clock(clock_file, monday + timedelta(hours=6))  # the bot was down at 09:00
    restarted = await start_bot()
    await harness.wait_for(lambda: len(digests(harness)) == 1)  # by itself, at start-up
    assert await restarted.app[SCHEDULER].run_once() == []
    # Down through the whole of the next Monday: that week's digest is skipped.
    await restarted.close()
    set_clock(clock_file, monday + timedelta(days=8, hours=1))
    again = await start_bot()
    await again.app[SCHEDULER].run_once()
    assert len(digests(harness)) == 1


async def test_the_digest_lists_what_is_due_this_week_with_totals_per_currency(
    harness: Harness, clock_file: Path, i3d_sandbox: TestServer
) -> None:
    monday = monday_after(19, "09:00")
    # The samples fall due 20 (INV-24-0104), 25 (-0101), 26 (the USD ones) and 28 days
    # (-0105) from now: moved by whole days so that the first three are within this
    # Monday's 7 days and the last is not, whatever the weekday today.
    days = (monday.date() - (datetime.now(UTC) + timedelta(days=19)).date()).days
    state = i3d_sandbox.app[SANDBOX]
    for key, item in list(state.invoices.items()):
        state.invoices[key] = item.model_copy(update={"dueDate": item.dueDate + days * 86_400})
    set_clock(clock_file, monday + timedelta(minutes=1))
    await harness.bot.app[SCHEDULER].run_once()
    (digest,) = await harness.wait_for(lambda: digests(harness))
    lines = [b["text"]["text"] for b in digest["blocks"] if b.get("text")]
    due_soon = next(line for line in lines if line.startswith("*Payables due in the next 7"))
    overdue = next(line for line in lines if line.startswith("*Overdue payables"))
    assert due_soon.endswith("4 · €1,573.00 + $1,244.55")  # never added across currencies
    assert overdue.endswith("1 · €363.00")
    pays = [b["accessory"] for b in digest["blocks"] if b.get("accessory")]
    assert pays and all(p["action_id"] == "pay" for p in pays)
    assert all(b["block_id"].startswith("digest.") for b in digest["blocks"])


def due_dms(harness: Harness) -> list[dict[str, Any]]:
    return [m for m in harness.slack.posted_to("U0PAYER") if "falls due" in m["text"]]


async def test_payers_hear_of_a_payable_falling_due_once_a_day(
    harness: Harness, start_bot: BotFactory, clock_file: Path
) -> None:
    due = datetime.now(UTC) + timedelta(days=25)  # INV-24-0101's due date, a UTC day
    start = datetime(due.year, due.month, due.day, 8, 30, tzinfo=ZONE) - timedelta(days=5)
    bot = harness.bot
    counts = []
    for day in range(8):  # 5 days before the due date until 2 days after
        set_clock(clock_file, start + timedelta(days=day))
        await bot.app[SCHEDULER].run_once()
        await bot.app[SCHEDULER].run_once()  # a second round the same day sends nothing
        if day == 3:  # and neither does a restart
            await bot.close()
            bot = await start_bot()
            await bot.app[SCHEDULER].run_once()
        store = bot.app[STORE]
        await harness.wait_for(lambda: store.outbox_pending() == 0)  # noqa: B023
        counts.append(len([m for m in due_dms(harness) if "INV-24-0101" in m["text"]]))
    # Nothing 5 and 4 days before; one a day from 3 days before until the due day.
    assert counts == [0, 0, 1, 2, 3, 4, 4, 4]


async def test_a_digest_whose_answer_was_lost_is_found_not_posted_again(
    harness: Harness, clock_file: Path
) -> None:
    harness.slack.lose_answer_next["chat.postMessage"] = 1  # posted, but the answer is lost
    set_clock(clock_file, monday_after(1, "09:00") + timedelta(minutes=5))
    await harness.bot.app[SCHEDULER].run_once()
    store = harness.bot.app[STORE]

    def digest_row() -> dict[str, Any]:
        return next(r for r in store.outbox_items() if r["key"].startswith("digest:"))

    await harness.wait_for(lambda: digest_row()["sent_at"], within=20)
    row = digest_row()
    assert row["adopted"] == 1 and len(digests(harness)) == 1


async def test_two_processes_on_one_database_post_the_digest_once(
    harness: Harness, start_bot: BotFactory, clock_file: Path
) -> None:
    if not harness.bot.app[STORE].shared:
        pytest.skip("a sqlite file is served by one process")
    other = await start_bot(port=free_port())
    set_clock(clock_file, monday_after(1, "09:00") + timedelta(minutes=5))
    done = await asyncio.gather(
        harness.bot.app[SCHEDULER].run_once(), other.app[SCHEDULER].run_once()
    )
    assert sorted(len([d for d in ran if d[0] == "digest"]) for ran in done) == [0, 1]
    await harness.wait_for(lambda: digests(harness))
    await asyncio.sleep(0.5)
    assert len(digests(harness)) == 1


async def test_an_invoice_paid_in_another_process_moments_before_gets_no_due_soon_dm(
    harness: Harness, start_bot: BotFactory, clock_file: Path
) -> None:
    """Process B listed the invoices a moment ago; process A settles INV-24-0101; B's
    daily round then tells the payers nothing of it: it is paid, not falling due."""
    import dataclasses

    from bot.settlement import settlement_id
    from tests.scenario.harness import TEAM, pay_in_browser
    from tests.scenario.test_settling_once import link_for

    if not harness.bot.app[STORE].shared:
        pytest.skip("a sqlite file is served by one process")
    other = dataclasses.replace(harness, bot=await start_bot(port=free_port()))
    due = datetime.now(UTC) + timedelta(days=25)  # INV-24-0101's due date, a UTC day
    set_clock(clock_file, datetime(due.year, due.month, due.day, 8, 30, tzinfo=ZONE) - timedelta(3))
    _, screen, _ = await other.command("")
    assert "INV-24-0101" in str(await other.screen_after(screen))  # B's list, kept a moment
    _, link = await link_for(harness)
    await pay_in_browser(harness.http, link)
    store = harness.bot.app[STORE]
    assert store.settlement_of(TEAM, "i3d", ["410001"]) == settlement_id(TEAM, "i3d", ("410001",))
    await other.bot.app[SCHEDULER].run_once()
    await harness.wait_for(lambda: store.outbox_pending() == 0)
    assert [m for m in due_dms(harness) if "INV-24-0101" in m["text"]] == []
