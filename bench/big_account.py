"""A big account: i3D.net with 10,000 invoices, listed and paged through in Slack.

Providers cannot sort, so every page needs one pass over all the invoices; the limit
is the provider's own time to hand them all over, read here by a plain HTTP client in
the same pages of 100. The bot's own time is what it adds to that. Peak memory is the
bot process's high-water mark while it lists, at 1,000 and at 10,000 invoices: it must
not grow with the number of invoices.
"""

from __future__ import annotations

import statistics
import time

from bench.flows import click_and_wait, list_invoices
from bench.report import Row, ms
from bench.world import World
from plugins.i3d import SANDBOX_TOKEN

SIZES = (1_000, 10_000)
PAGE = 100  # the i3D plugin reads its list in pages of 100


async def _provider_alone(world: World) -> float:
    """The sandbox's own time to hand over its whole invoice list, page by page."""
    url = world.sandbox_urls["i3d"] + "/v3/account/invoice"
    began, start = time.perf_counter(), 0
    while True:
        headers = {"PRIVATE-TOKEN": SANDBOX_TOKEN, "RANGED-DATA": f"start={start},results={PAGE}"}
        async with world.session.get(url, headers=headers) as response:
            response.raise_for_status()
            count = len(await response.json())
        start += count
        if count < PAGE:
            return time.perf_counter() - began


async def _invoice_count(world: World) -> int:
    url = world.sandbox_urls["i3d"] + "/v3/account/invoice"
    headers = {"PRIVATE-TOKEN": SANDBOX_TOKEN, "RANGED-DATA": "start=0,results=1"}
    async with world.session.get(url, headers=headers) as response:
        return int(response.headers["RANGED-DATA"].rsplit("total=", 1)[1])


async def _at_size(world: World, size: int, next_clicks: int) -> dict[str, float]:
    bot = world.bot or await world.start_bot()
    missing = size - await _invoice_count(world)
    if missing > 0:
        await world.sandbox("i3d", "/_sandbox/invoices", {"count": missing})
    alone = statistics.median([await _provider_alone(world) for _ in range(3)])
    baseline = bot.memory_kib("VmRSS")
    if not bot.reset_peak_memory():
        raise RuntimeError("this kernel does not let the peak memory be reset (clear_refs)")
    first, listing = await list_invoices(world, "i3d all")
    nexts = []
    for _ in range(next_clicks):
        took, listing = await click_and_wait(world, listing, "page_next")
        nexts.append(took)
    if f"Page {next_clicks + 1} of" not in str(listing.blocks):
        raise RuntimeError(f"paging went wrong: {listing.text}")
    peak = bot.memory_kib("VmHWM")
    return {
        "invoices": await _invoice_count(world),
        "alone": alone,
        "first": first,
        "next": statistics.median(nexts),
        "growth_mib": (peak - baseline) / 1024,
    }


async def measure(world: World, *, next_clicks: int) -> list[Row]:
    small, big = [await _at_size(world, size, next_clicks) for size in SIZES]
    label = f"big account, {big['invoices']:,} invoices"
    own_first = big["first"] - big["alone"]
    return [
        Row(
            label,
            "first page (bot's own time)",
            f"{ms(big['first'])} ({ms(own_first)})",
            f"{ms(big['alone'])} provider",
            big["first"] / big["alone"],
            "bot's own < 1 s",
            own_first < 1.0,
        ),
        Row(
            label,
            "each Next page (median)",
            ms(big["next"]),
            f"{ms(big['alone'])} provider",
            big["next"] / big["alone"],
            "bot's own < 1 s",
            big["next"] - big["alone"] < 1.0,
        ),
        Row(
            label,
            f"peak memory while listing (at {small['invoices']:,})",
            f"+{big['growth_mib']:.1f} MiB (+{small['growth_mib']:.1f} MiB)",
            "",
            None,
            "no growth with invoices",
            big["growth_mib"] - small["growth_mib"] < 2.0,
        ),
    ]
