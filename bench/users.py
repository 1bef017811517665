"""Twenty users: twenty people type twenty different searches at once on the big account.

The bot here runs with its default snapshot (`INVOICEBOT_SNAPSHOT_SECONDS` unset): the
point is that overlapping reads of one connection are shared, so twenty searches should
not cost twenty reads of 10,000 invoices. The limit is one search alone. Both are timed
on a cold snapshot: before each, the bot is started afresh and warmed up on another
provider, so neither gets the account from memory; the twenty pay for their one read
as the one search does. Each list is timed from typing the command until the local Slack
received the bot's post on that command's response_url.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from bench.i3d import BIG_ACCOUNT, grow_to
from bench.report import Figure, Target, ms
from bench.world import CHANNEL, USER, World
from bot.settings import Settings

PEOPLE = 20


async def _searched(world: World, user_id: str, text: str) -> float:
    """Seconds from typing `/invoices text` until its response_url got the list."""
    slack = world.emulator
    began = time.monotonic()
    reply = await slack.slash_command(user_id, CHANNEL, text)
    hook = slack.response_urls.hooks[str(reply.response_url).rsplit("/", 1)[1]]
    await slack.wait_until(lambda: hook.first_used_at is not None, 60)
    assert hook.first_used_at is not None
    return hook.first_used_at - began


class Users:
    def __init__(self, quick: bool) -> None:
        self.people: list[str] = []
        self.searches = [f"search LOAD-90{n:02d}" for n in range(PEOPLE)]  # ~100 invoices each

    async def prepare(self, world: World) -> None:
        await grow_to(world, BIG_ACCOUNT)
        self.people = world.add_users(PEOPLE)

    async def _fresh_bot(self, world: World) -> None:
        """A newly started bot with the default snapshot: nothing of i3D in memory."""
        default = Settings.model_fields["snapshot_seconds"].default
        await world.start_bot(
            INVOICEBOT_SNAPSHOT_SECONDS=str(default),
            INVOICEBOT_PAYERS=",".join([USER, *self.people]),
        )

    async def round(self, world: World) -> list[Figure]:
        await self._fresh_bot(world)
        alone = await _searched(world, self.people[0], self.searches[0])
        await self._fresh_bot(world)
        together = await asyncio.gather(
            *(_searched(world, p, s) for p, s in zip(self.people, self.searches, strict=True))
        )
        label = f"{PEOPLE} users, {PEOPLE} searches at once, {BIG_ACCOUNT:,} invoices"
        return [
            Figure(
                label,
                "slowest list",
                ms(max(together)),
                "ms",
                ms(alone),
                Target("<=", 2.5),
                limit_note="one search alone",
            ),
            Figure(label, "median list", ms(statistics.median(together)), "ms", ms(alone)),
        ]
