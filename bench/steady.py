"""Steady load: signed `/invoices` at a fixed rate for a while, the three providers slow.

An open loop (`bench.load` with `rate`): commands leave on a schedule, as people type
them, not when the previous one was answered. The providers answer in 300, 600 and
900 ms, as in the fan-out. A row says how late the generator itself sent commands in the
bot's half: on two cores it shares the CPU with the bot. Two limits, from the same round:

- acks: a bare Bolt app under the same schedule; its p99 ack latency.
- lists: each command's list is timed from the moment it was due to be sent (as its
  ack is) until the local Slack received the bot's post on that command's
  response_url; a list that never came counts as an error and as infinitely late. The limit is the
  slowest provider's latency, timed directly (its own invoice list, as a plain HTTP
  client asks it) twice a second while the bot is under the load: its median for the
  lists' p50, its p99 for theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time

from bench.ack import settle
from bench.fanout import LATENCIES
from bench.i3d import first_page_alone
from bench.report import Figure, Target, ms, percentile
from bench.world import World


class Steady:
    def __init__(self, quick: bool) -> None:
        self.rate, self.seconds = 300, 5 if quick else 20
        self.label = f"steady {self.rate}/s for {self.seconds} s, providers 0.3/0.6/0.9 s"

    async def prepare(self, world: World) -> None:
        await world.bot_with()
        await world.start_bare()

    async def _load(self, world: World, url: str) -> tuple[dict, list[str]]:
        spec = world.command_load(url, round(self.rate * self.seconds))
        spec.update(rate=self.rate, seconds=self.seconds)
        return await world.load(spec), spec["response_urls"]

    async def round(self, world: World) -> list[Figure]:
        bot, bare = await world.bot_with(), await world.start_bare()
        await world.set_latency(LATENCIES)
        try:
            alone: list[float] = []
            loading = asyncio.ensure_future(self._load(world, f"{bot.url}/slack/events"))
            while not loading.done():  # the limit, under the same load
                began = time.perf_counter()
                alone.append(await first_page_alone(world))
                await asyncio.sleep(max(0.0, 0.5 - (time.perf_counter() - began)))
            mine, urls = loading.result()
            with contextlib.suppress(TimeoutError):  # counted below: lists not arrived
                await settle(world, urls, seconds=60)
            limit, _ = await self._load(world, f"{bare.url}/slack/events")
        finally:
            await world.set_latency({name: 0.0 for name in LATENCIES})
        hooks = world.emulator.response_urls.hooks
        arrivals, missing = [], 0
        for url, sent in zip(urls, mine["sent"], strict=True):
            used = hooks[url.rsplit("/", 1)[1]].first_used_at
            if used is None or math.isnan(sent):
                missing += 1
                arrivals.append(math.inf)
            else:
                arrivals.append(used - sent)
        total = len(urls)
        errors = sum(total - r["statuses"].get("200", 0) for r in (mine, limit)) + missing
        label = self.label
        p99 = [ms(percentile(r["latencies"], 0.99)) for r in (mine, limit)]
        lists = [  # each percentile of the lists against the same of i3D alone
            Figure(
                label,
                f"each list arrives, p{round(at * 100)}",
                ms(percentile(arrivals, at)),
                "ms",
                ms(percentile(alone, at)),
                Target("<=", margin, on="over"),
                limit_note=f"i3D alone, p{round(at * 100)}",
            )
            for at, margin in ((0.50, 150), (0.99, 500))
        ]
        return [
            Figure(label, "p99 ack latency", p99[0], "ms", p99[1], Target("<=", 1.5)),
            *lists,
            Figure(
                label,
                "acks not 200, lists not arrived",
                errors,
                "",
                target=Target("==", 0, on="value", every_round=True),
            ),
            Figure(
                label,
                "commands sent late by the generator, bot's half (p99)",
                ms(percentile(mine["late"], 0.99)),
                "ms",
            ),
        ]
