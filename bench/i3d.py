"""The i3D.net sandbox as a plain HTTP client sees it: the limits of the listing figures."""

from __future__ import annotations

import time

from bench.world import World
from plugins.i3d import SANDBOX_TOKEN

PAGE = 100  # the i3D plugin reads its list in pages of 100
BIG_ACCOUNT = 10_000
FIRST_GENERATED = 900_000  # the sandbox numbers the invoices it adds from here


def _headers(start: int, results: int) -> dict[str, str]:
    return {"PRIVATE-TOKEN": SANDBOX_TOKEN, "RANGED-DATA": f"start={start},results={results}"}


async def first_page_alone(world: World) -> float:
    """i3D's own time to answer one page of its invoice list."""
    began = time.perf_counter()
    url = world.sandbox_urls["i3d"] + "/v3/account/invoice"
    async with world.session.get(url, headers=_headers(0, PAGE)) as response:
        await response.read()
        response.raise_for_status()
    return time.perf_counter() - began


async def whole_list_alone(world: World) -> float:
    """i3D's own time to hand over its whole invoice list, page by page."""
    url = world.sandbox_urls["i3d"] + "/v3/account/invoice"
    began, start = time.perf_counter(), 0
    while True:
        async with world.session.get(url, headers=_headers(start, PAGE)) as response:
            response.raise_for_status()
            count = len(await response.json())
        start += count
        if count < PAGE:
            return time.perf_counter() - began


async def invoice_count(world: World) -> int:
    url = world.sandbox_urls["i3d"] + "/v3/account/invoice"
    async with world.session.get(url, headers=_headers(0, 1)) as response:
        return int(response.headers["RANGED-DATA"].rsplit("total=", 1)[1])


async def grow_to(world: World, size: int) -> int:
    """Add generated invoices (`LOAD-9xxxxx`, most open) until i3D has at least `size`."""
    missing = size - await invoice_count(world)
    if missing > 0:
        await world.sandbox("i3d", "/_sandbox/invoices", {"count": missing})
    return await invoice_count(world)


async def add_one(world: World) -> str:
    """One more open EUR invoice; its id (its number is `LOAD-<id>`)."""
    first = FIRST_GENERATED + await invoice_count(world)
    await world.sandbox("i3d", "/_sandbox/invoices", {"count": 1, "currency": "EUR"})
    return str(first)
