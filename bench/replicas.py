"""Three `invoicebot run` processes on one PostgreSQL against one on sqlite, same load.

Each round sends the same burst of signed `/invoices` round robin over the three and to
the one, in the order three, one, one, three so that a machine getting busier or quieter
during the round weighs on both alike; then landing storms in the same order: a payer
pays a fresh invoice through the local Slack (talking to one of the three, another each
time) and 1,000 browsers land at once, spread over the three or all on the one. Each
storm must post exactly one confirmation to #billing.

The ratios are printed, not judged: they are the price of running three processes for
availability on the same machine, not a gain to expect. On two cores the three share
with PostgreSQL, the load generator, the local Slack and the sandboxes the CPUs that one
process already keeps busy, and each of the three sees more gaps between requests, so it
posts more of its lists during the burst where the one posts them after. Judged are the
counts: no errors, and exactly one confirmation per storm on either side. Where
PostgreSQL's server is not installed, the row says so and is not judged.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from yarl import URL

from bench.ack import CONCURRENCY, burst, errors, throughput
from bench.processes import HOST, Child, free_port, invoicebot_command, start
from bench.report import Figure, Target
from bench.storm import PAID, STORM, confirmations, paid_landing, posted_since, storm_load
from bench.world import World
from tests import postgres

PROCESSES = 3
ORDER = ("three", "one", "one", "three")  # a machine busier late in a round weighs on both
NOT_INSTALLED = (
    "not measured: PostgreSQL's server is not installed "
    "(no initdb and pg_ctl on PATH or in /usr/lib/postgresql/*/bin)"
)


@contextmanager
def slack_sends_to(world: World, url: str) -> Iterator[None]:
    """The local Slack's Request URL set to another process for a while, as an admin
    would change it in the app's settings."""
    link = world.emulator.bot
    earlier, link.request_url = link.request_url, f"{url}/slack/events"
    try:
        yield
    finally:
        link.request_url = earlier


class Replicas:
    def __init__(self, quick: bool) -> None:
        self.requests = 500 if quick else 2000
        self.bin_dir = postgres.binaries()
        self.urls: list[str] = []
        self.rounds = 0
        self.turns: Iterator[str] = iter(())  # which of the three a storm's payment goes through
        self.label = f"{PROCESSES} processes on PostgreSQL vs 1 on sqlite"

    async def prepare(self, world: World) -> None:
        """A throwaway cluster, connected as the sqlite database is, and three processes
        on it; both sides warmed up by a small burst. All of it ends with the phase."""
        if self.bin_dir is None:
            return
        bot = await world.bot_with()
        cluster = postgres.cluster(self.bin_dir)
        database = await asyncio.to_thread(cluster.__enter__)  # initdb takes seconds
        world.phase.push(cluster.__exit__)
        _, key = await world.prepared_database()
        await world.connect_all(database, key)  # migrates it, before three processes start
        children = await asyncio.gather(
            *(self._start(world, database, key, n) for n in range(1, PROCESSES + 1))
        )
        self.urls = [child.url for child in children]
        self.turns = itertools.cycle(self.urls)
        for urls in (self._events(self.urls), f"{bot.url}/slack/events"):
            await burst(world, urls, min(200, self.requests))

    async def _start(self, world: World, database: str, key: str, n: int) -> Child:
        port = free_port()
        url = f"http://{HOST}:{port}"
        child = await start(
            f"invoicebot {n} on PostgreSQL",
            [*invoicebot_command(), "run"],
            url,
            ready_path="/healthz",
            env={**world.bot_env(port, database, key), "INVOICEBOT_PUBLIC_URL": url},
            cwd=world.data_dir,
        )
        world.phase.push_async_callback(child.stop)
        return child

    @staticmethod
    def _events(urls: list[str]) -> list[str]:
        return [f"{url}/slack/events" for url in urls]

    async def _storm(self, world: World, urls: list[str], via: str) -> tuple[dict[str, Any], int]:
        """One landing storm spread over `urls`, its payment made through `via`; the
        load's result and the confirmations it posted."""
        before = confirmations(world)  # before paying: the poller may confirm at once
        with slack_sends_to(world, via):
            landing, cookie = await paid_landing(world)
        spread = [str(URL(landing).with_port(URL(url).port)) for url in urls]
        storm = await world.load({**storm_load(spread, cookie), "expect": PAID})
        return storm, await posted_since(world, before)

    async def round(self, world: World) -> list[Figure]:
        self.rounds += 1
        if self.bin_dir is None:  # said once, not once a round
            return [Figure(self.label, NOT_INSTALLED, math.nan, "")] if self.rounds == 1 else []
        bot = await world.bot_with()
        sides = {"three": self.urls, "one": [bot.url]}
        acks: dict[str, list[dict[str, Any]]] = {"three": [], "one": []}
        storms: dict[str, list[tuple[dict[str, Any], int]]] = {"three": [], "one": []}
        for side in ORDER:
            acks[side].append(await burst(world, self._events(sides[side]), self.requests))
        for side in ORDER:
            via = next(self.turns) if side == "three" else bot.url
            storms[side].append(await self._storm(world, sides[side], via))
        rate = {
            side: len(loads) * STORM / sum(storm["elapsed"] for storm, _ in loads)
            for side, loads in storms.items()
        }
        posted = {
            side: max((count for _, count in loads), key=lambda count: abs(count - 1))
            for side, loads in storms.items()
        }
        failed = sum(
            STORM - storm["statuses"].get("200", 0) + STORM - storm["expected"]
            for loads in storms.values()
            for storm, _ in loads
        )
        once = Target("==", 1, on="value", every_round=True)
        none = Target("==", 0, on="value", every_round=True)
        sqlite = "1 on sqlite"
        burst_label = f"ack burst, {self.requests:,} at {CONCURRENCY} concurrent"
        storm_label = f"landing storm, {STORM:,} concurrent"
        return [
            Figure(
                self.label,
                f"{burst_label}: throughput",
                throughput(*acks["three"]),
                "req/s",
                throughput(*acks["one"]),
                None,
                limit_note=sqlite,
            ),
            Figure(
                self.label,
                f"{burst_label}: errors (both)",
                sum(errors(result, self.requests) for loads in acks.values() for result in loads),
                "",
                target=none,
            ),
            Figure(
                self.label,
                f"{storm_label}: requests/s",
                rate["three"],
                "req/s",
                rate["one"],
                None,
                limit_note=sqlite,
            ),
            Figure(
                self.label,
                f"{storm_label}: confirmations in #billing, each storm on {PROCESSES}",
                posted["three"],
                "",
                target=once,
            ),
            Figure(
                self.label,
                f"{storm_label}: confirmations in #billing, each storm on 1",
                posted["one"],
                "",
                target=once,
            ),
            Figure(
                self.label,
                f"{storm_label}: errors; landings not showing 'paid' (both)",
                failed,
                "",
                target=none,
            ),
        ]
