"""`python -m bench [--quick] [--only ack,fanout,...]`: run, stop everything, print the table."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
from contextlib import AsyncExitStack

from bench import ack, big_account, fanout, startup, storm
from bench.report import Row, markdown
from bench.world import open_world

SCENARIOS = ("ack", "fanout", "big", "storm", "startup")  # the table's order


async def run(only: set[str], quick: bool) -> list[Row]:
    """Every scenario asked for; the big account runs last, its invoices stay behind."""
    found: dict[str, list[Row]] = {}
    async with AsyncExitStack() as stack:
        world = await open_world(stack)
        if "startup" in only:
            found["startup"] = await startup.measure(world, repeats=3 if quick else 7)
        if "ack" in only:
            found["ack"] = await ack.measure(
                world, requests=500 if quick else 2000, concurrency=50, rounds=2 if quick else 3
            )
        if "fanout" in only:
            found["fanout"] = await fanout.measure(world, repeats=3 if quick else 7)
        if "storm" in only:
            found["storm"] = await storm.measure(world)
        if "big" in only:
            found["big"] = await big_account.measure(world, next_clicks=3 if quick else 5)
    return [row for name in SCENARIOS for row in found.get(name, [])]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller loads, for a smoke run")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    if unknown := only - set(SCENARIOS):
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    logging.basicConfig(level=logging.WARNING)
    rows = asyncio.run(run(only, args.quick))
    cores = os.cpu_count()
    print(
        f"invoicebot benchmark · Python {platform.python_version()} · {platform.machine()} · "
        f"{cores} CPU{'s' if cores != 1 else ''} · {'quick' if args.quick else 'full'} run"
    )
    print(markdown(rows))
    return 0 if all(row.met for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
