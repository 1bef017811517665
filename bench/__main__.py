"""`python -m bench [--quick] [--rounds N] [--only ack,steady,...]`: run, stop, print the table.

Each round runs every scenario once, and each scenario alternates the bot with its limit
within the round. The table gives each figure's median over the rounds with min-max;
a target is met only when the median meets it. Exit status 1 when one is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Protocol

from bench.ack import Ack
from bench.big_account import BigAccount
from bench.fanout import Fanout
from bench.get_link import GetLink
from bench.replicas import Replicas
from bench.report import Figure, Row, all_met, markdown, summarise
from bench.startup import StartUp
from bench.steady import Steady
from bench.storm import Storm
from bench.users import Users
from bench.world import World, open_world


class Scenario(Protocol):
    async def prepare(self, world: World) -> None: ...

    async def round(self, world: World) -> list[Figure]: ...


SCENARIOS: dict[str, Callable[[bool], Scenario]] = {  # the table's order
    "ack": Ack,
    "steady": Steady,
    "fanout": Fanout,
    "users": Users,
    "big": BigAccount,
    "link": GetLink,
    "storm": Storm,
    "replicas": Replicas,
    "startup": StartUp,
}
# The run's order: the big account's 10,000 invoices stay once added, so it comes last;
# the replicas' processes and PostgreSQL stop with their phase, before the big account.
PHASES = (
    ("startup", "ack", "steady", "fanout", "link", "storm"),
    ("replicas",),
    ("big", "users"),
)


async def run(only: set[str], quick: bool, rounds: int) -> list[Row]:
    figures: dict[str, list[Figure]] = {}
    async with AsyncExitStack() as stack:
        world = await open_world(stack)
        for phase in PHASES:
            scenarios = {name: SCENARIOS[name](quick) for name in phase if name in only}
            for scenario in scenarios.values():
                await scenario.prepare(world)
            for _ in range(rounds):
                for name, scenario in scenarios.items():
                    figures.setdefault(name, []).extend(await scenario.round(world))
            await world.phase.aclose()
    return [row for name in SCENARIOS for row in summarise(figures.get(name, []))]


def load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller loads, for a smoke run")
    parser.add_argument("--rounds", type=int, help="rounds (default 3; 2 with --quick)")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    if unknown := only - set(SCENARIOS):
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    rounds = args.rounds or (2 if args.quick else 3)
    if rounds < 1:
        parser.error("--rounds must be at least 1")
    logging.basicConfig(level=logging.WARNING)
    cores = os.cpu_count()
    print(
        f"invoicebot benchmark · Python {platform.python_version()} · {platform.machine()} · "
        f"{cores} CPU{'s' if cores != 1 else ''} · {'quick' if args.quick else 'full'} run · "
        f"{rounds} round{'s' if rounds != 1 else ''}"
    )
    print(f"load average (1/5/15 min) before: {load_average()}", flush=True)
    rows = asyncio.run(run(only, args.quick, rounds))
    print(f"load average (1/5/15 min) after: {load_average()}")
    print(markdown(rows))
    return 0 if all_met(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
