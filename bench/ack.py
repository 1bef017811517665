"""Slash-command acks under a burst: the bot against a bare Bolt app, alternating.

Both get the same burst of signed `/invoices` requests at the same concurrency. The bot
also does what it does for real after the ack (asks the providers, answers on the
response_url); the bot's half of a round ends only once that work is done, so it cannot
spill into the bare app's half.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from bench.report import Figure, Target, ms, percentile
from bench.world import World

CONCURRENCY = 50


async def settle(world: World, urls: list[str], seconds: float = 120) -> None:
    """Until every response_url of a load has been used: every list was posted."""
    hooks = world.emulator.response_urls.hooks
    waiting = deque(url.rsplit("/", 1)[1] for url in urls)

    def all_used() -> bool:  # checked on every change in Slack: cheap, not O(burst)
        while waiting and hooks[waiting[0]].uses:
            waiting.popleft()
        return not waiting

    await world.emulator.wait_until(all_used, seconds)


async def burst(
    world: World, url: str | list[str], requests: int, *, lists: bool = True
) -> dict[str, Any]:
    """One burst, round robin over `url` when it is several processes' URLs.

    Where a bot answers (`lists`), it also waits until every list was posted, so the
    work after the acks cannot spill into the next burst, and says how long that took.
    """
    spec = world.command_load(url, requests, CONCURRENCY)
    result = await world.load(spec)
    if lists:
        began = time.perf_counter()
        await settle(world, spec["response_urls"])
        result["settled"] = time.perf_counter() - began
    return result


def throughput(*bursts: dict[str, Any]) -> float:
    """Answered requests per second, over one whole burst or several together."""
    return sum(len(b["latencies"]) for b in bursts) / sum(float(b["elapsed"]) for b in bursts)


def errors(burst: dict[str, Any], requests: int) -> int:
    """Requests of the burst that were not acked with 200."""
    return requests - int(burst["statuses"].get("200", 0))


class Ack:
    def __init__(self, quick: bool) -> None:
        self.requests = 500 if quick else 2000
        self.label = f"ack burst, {self.requests:,} at {CONCURRENCY} concurrent"

    async def prepare(self, world: World) -> None:
        bot, bare = await world.bot_with(), await world.start_bare()
        for url in (bot.url, bare.url):  # warm-up: connections, auth.test, provider tokens
            await burst(world, f"{url}/slack/events", min(200, self.requests), lists=url == bot.url)

    async def round(self, world: World) -> list[Figure]:
        bot, bare = await world.bot_with(), await world.start_bare()
        mine = await burst(world, f"{bot.url}/slack/events", self.requests)
        limit = await burst(world, f"{bare.url}/slack/events", self.requests, lists=False)
        failed = sum(errors(r, self.requests) for r in (mine, limit))
        rate = {"bot": throughput(mine), "bare": throughput(limit)}
        p50 = [ms(percentile(r["latencies"], 0.50)) for r in (mine, limit)]
        p99 = [ms(percentile(r["latencies"], 0.99)) for r in (mine, limit)]
        label = self.label
        return [
            Figure(label, "throughput", rate["bot"], "req/s", rate["bare"], Target(">=", 0.9)),
            Figure(label, "p50 ack latency", p50[0], "ms", p50[1]),
            Figure(label, "p99 ack latency", p99[0], "ms", p99[1], Target("<=", 1.25)),
            Figure(
                label,
                "errors (bot and bare)",
                failed,
                "",
                target=Target("==", 0, on="value", every_round=True),
            ),
            Figure(label, "every list posted, after the last ack", ms(mine["settled"]), "ms"),
        ]
