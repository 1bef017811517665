"""Start-up: `invoicebot run` until it answers HTTP, against `python -c "import slack_bolt"`."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from bench.processes import HOST, free_port, invoicebot_command, start
from bench.report import Row, ms
from bench.world import World


async def _import_bolt() -> float:
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", "import slack_bolt")
    if await process.wait():
        raise RuntimeError("python -c 'import slack_bolt' failed")
    return time.perf_counter() - began


async def _run_until_ready(world: World) -> float:
    port = free_port()
    database, key = await world.prepared_database()
    child = await start(
        "invoicebot run",
        [*invoicebot_command(), "run"],
        f"http://{HOST}:{port}",
        ready_path="/healthz",
        env=world.bot_env(port, database, key),
        cwd=world.data_dir,
        poll=0.002,
    )
    await child.stop()
    return child.ready_after


async def measure(world: World, *, repeats: int) -> list[Row]:
    await _import_bolt()  # warm the file cache for both
    await _run_until_ready(world)
    bot, limit = [], []
    for _ in range(repeats):
        bot.append(await _run_until_ready(world))
        limit.append(await _import_bolt())
    took, alone = statistics.median(bot), statistics.median(limit)
    return [
        Row(
            "start-up",
            "`invoicebot run` until it answers (median)",
            ms(took),
            ms(alone),
            took / alone,
            "< 1 s",
            took < 1.0,
        )
    ]
