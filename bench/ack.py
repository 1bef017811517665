"""Slash-command acks under load: the bot against a bare Bolt app, rounds alternating.

Both get signed `/invoices` requests at the same concurrency. The bot also does what
it does for real after the ack (asks the providers, answers on the response_url); each
bot round ends only once that work is done, so it cannot spill into the bare round.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from typing import Any

from bench.processes import free_port, start
from bench.report import Row, ms, percentile
from bench.world import World


async def _settle(world: World, urls: list[str]) -> None:
    """Until every response_url of a burst has been used: every list was posted."""
    hooks = world.emulator.response_urls.hooks
    waiting = deque(url.rsplit("/", 1)[1] for url in urls)

    def all_used() -> bool:  # checked on every change in Slack: cheap, not O(burst)
        while waiting and hooks[waiting[0]].uses:
            waiting.popleft()
        return not waiting

    await world.emulator.wait_until(all_used, 120)


async def _round(world: World, url: str, requests: int, concurrency: int) -> dict[str, Any]:
    """One burst; for the bot, also the seconds from its end until every list was posted."""
    spec = world.command_load(url, requests, concurrency)
    result = await world.load(spec)
    if world.bot and url.startswith(world.bot.url):
        began = time.perf_counter()
        await _settle(world, spec["response_urls"])
        result["settled"] = time.perf_counter() - began
    return result


async def measure(world: World, *, requests: int, concurrency: int, rounds: int) -> list[Row]:
    bot = world.bot or await world.start_bot()
    port = free_port()
    bare = await start(
        "bare Bolt app",
        [sys.executable, "-m", "bench.bare", str(port)],
        f"http://127.0.0.1:{port}",
        env=world.slack_env(),
    )
    world.stack.push_async_callback(bare.stop)
    targets = {"bot": f"{bot.url}/slack/events", "bare": f"{bare.url}/slack/events"}
    for url in targets.values():  # warm-up: connections, auth.test, provider tokens
        await _round(world, url, min(200, requests), concurrency)
    seen: dict[str, dict[str, Any]] = {
        name: {"elapsed": 0.0, "latencies": [], "bad": 0, "settled": 0.0} for name in targets
    }
    for _ in range(rounds):
        for name, url in targets.items():
            result = await _round(world, url, requests, concurrency)
            seen[name]["elapsed"] += result["elapsed"]
            seen[name]["latencies"] += result["latencies"]
            ok = result["statuses"].get("200", 0)
            seen[name]["bad"] += requests - ok
            seen[name]["settled"] = max(seen[name]["settled"], result.get("settled", 0.0))
    throughput = {n: len(s["latencies"]) / s["elapsed"] for n, s in seen.items()}
    p50 = {n: percentile(s["latencies"], 0.50) for n, s in seen.items()}
    p99 = {n: percentile(s["latencies"], 0.99) for n, s in seen.items()}
    errors = seen["bot"]["bad"] + seen["bare"]["bad"]
    label = f"ack, {concurrency} concurrent"
    return [
        Row(
            label,
            "throughput",
            f"{throughput['bot']:.0f} req/s",
            f"{throughput['bare']:.0f} req/s",
            throughput["bot"] / throughput["bare"],
            ">= 0.80x",
            throughput["bot"] >= 0.8 * throughput["bare"] and errors == 0,
        ),
        Row(
            label,
            "p50 latency",
            ms(p50["bot"]),
            ms(p50["bare"]),
            p50["bot"] / p50["bare"],
            "",
            True,
        ),
        Row(
            label,
            "p99 latency",
            ms(p99["bot"]),
            ms(p99["bare"]),
            p99["bot"] / p99["bare"],
            "<= 1.25x",
            p99["bot"] <= 1.25 * p99["bare"] and errors == 0,
        ),
        Row(
            label,
            f"every list posted, after a burst of {requests:,}",
            f"{ms(seen['bot']['settled'])} after the last ack",
            "",
            None,
            "",
            True,
        ),
    ]
