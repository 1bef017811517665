"""A big account: i3D.net with 10,000 invoices, listed and paged through in Slack.

Providers cannot sort, so every page needs one pass over all the invoices; the limit
is the provider's own time to hand them all over, read here by a plain HTTP client in
the same pages of 100, just before the bot lists. The bot's own time is what it adds to
that. The bot runs with no snapshot (`INVOICEBOT_SNAPSHOT_SECONDS=0`), so each page is
a full, cold read.

Each listing starts a fresh bot (warmed up on another provider), so its first page
reads every i3D page for the first time. Each Next page reads the whole account again,
pages the bot has read before: unchanged pages are taken as converted then
(`plugins.i3d.listing.ReadPages`), which is what the second CPU figure measures.

Peak memory is the bot process's high-water mark while it lists. A list reads the
whole account into one snapshot of parsed invoices (kept for 15 s by default, at most
50,000 invoices across connections), so memory grows with the account by a bounded
amount per invoice: the target is the bound the README states, `PER_INVOICE_KIB`. CPU is
the bot process's user and system time (/proc/PID/stat) around the first page, and
around all the Next pages together, per 1,000 invoices listed.
"""

from __future__ import annotations

import statistics

from bench.flows import click_and_wait, list_invoices
from bench.i3d import BIG_ACCOUNT, grow_to, whole_list_alone
from bench.processes import cpu_ms
from bench.report import Figure, Target, ms
from bench.world import World

SMALL = 1_000


async def _listing(world: World, next_clicks: int) -> dict[str, float]:
    bot = await world.start_bot()  # nothing of i3D read yet
    alone = statistics.median([await whole_list_alone(world) for _ in range(3)])
    baseline = bot.memory_kib("VmRSS")
    if not bot.reset_peak_memory():
        raise RuntimeError("this kernel does not let the peak memory be reset (clear_refs)")
    ticks = bot.cpu_ticks()
    first, listing = await list_invoices(world, "i3d all")
    cpu = cpu_ms(bot.cpu_ticks() - ticks)
    nexts = []
    ticks = bot.cpu_ticks()
    for _ in range(next_clicks):
        took, listing = await click_and_wait(world, listing, "page_next")
        nexts.append(took)
    again = cpu_ms(bot.cpu_ticks() - ticks) / next_clicks
    if f"Page {next_clicks + 1} of" not in str(listing.blocks):
        raise RuntimeError(f"paging went wrong: {listing.text}")
    peak = bot.memory_kib("VmHWM")
    return {
        "alone": alone,
        "first": first,
        "cpu": cpu,
        "cpu_again": again,
        "next": statistics.median(nexts),
        "growth_mib": (peak - baseline) / 1024,
    }


PER_INVOICE_KIB = 2.0
"""What one parsed invoice may cost, as the README states it."""


class BigAccount:
    def __init__(self, quick: bool) -> None:
        self.next_clicks = 3 if quick else 5
        self.small_growth = 0.0
        self.invoices = 0

    async def prepare(self, world: World) -> None:
        await grow_to(world, SMALL)
        small = [await _listing(world, self.next_clicks) for _ in range(3)]
        self.small_growth = statistics.median(s["growth_mib"] for s in small)
        self.invoices = await grow_to(world, BIG_ACCOUNT)

    async def round(self, world: World) -> list[Figure]:
        big = await _listing(world, self.next_clicks)
        label = f"big account, {self.invoices:,} invoices"
        alone = ms(big["alone"])  # i3D's whole list, alone
        own = Target("<", 1000, on="over")  # the bot's own time, over the provider's
        pages = [
            Figure(label, measure, ms(big[key]), "ms", alone, own, "i3D alone")
            for key, measure in (("first", "first page"), ("next", "each Next page (median)"))
        ]
        return [
            *pages,
            Figure(
                label,
                f"peak memory growth while listing, per invoice (limit: at {SMALL:,})",
                big["growth_mib"] * 1024 / self.invoices,
                "KiB",
                self.small_growth * 1024 / SMALL,
                Target("<=", PER_INVOICE_KIB, on="value"),
            ),
            *(
                Figure(
                    label,
                    f"bot CPU for {pages}, per 1,000 invoices ({which})",
                    big[key] * 1000 / self.invoices,
                    "ms/1,000 invoices",
                    target=Target("<=", 15, on="value"),
                )
                for key, pages, which in (
                    ("cpu", "the first page", "every page new to the bot"),
                    ("cpu_again", "each Next page", "pages read before"),
                )
            ),
        ]
