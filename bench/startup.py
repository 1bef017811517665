"""Start-up: `invoicebot run` until it answers HTTP, against `python -c "import slack_bolt"`.

Both run from compiled bytecode, as an installed bot does (pip compiles what it installs;
so does the Docker image's `pip install .`). An editable checkout where
PYTHONDONTWRITEBYTECODE is set would compile the bot's source on every start instead,
which is not the start-up a deployment has, nor what `import slack_bolt` pays.
"""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import sqlite3
import statistics
import sys
import time
from pathlib import Path

import bot
import plugins
from bench.processes import HOST, free_port, invoicebot_command, start
from bench.report import Figure, Target, ms
from bench.world import World


async def _import_bolt() -> float:
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", "import slack_bolt")
    if await process.wait():
        raise RuntimeError("python -c 'import slack_bolt' failed")
    return time.perf_counter() - began


async def _own_database(world: World) -> tuple[Path, str]:
    """A copy of the prepared database: the bench's running bot holds that file (a
    sqlite file is served by one process), and the start-up is timed on the same data."""
    database, key = await world.prepared_database()
    copy = world.data_dir / "startup.sqlite"
    if not copy.exists():
        with (
            contextlib.closing(sqlite3.connect(database)) as source,
            contextlib.closing(sqlite3.connect(copy)) as target,
        ):
            source.backup(target)  # consistent while the running bot writes
    return copy, key


async def _run_until_ready(world: World) -> float:
    port = free_port()
    database, key = await _own_database(world)
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


def _compile_own_source() -> None:
    """The bot's bytecode, as an install has it (`import slack_bolt` already does)."""
    for package in (bot, plugins):
        for folder in package.__path__:
            compileall.compile_dir(folder, quiet=1)


class StartUp:
    def __init__(self, quick: bool) -> None:
        self.repeats = 1 if quick else 3  # per round; the round's figure is their median

    async def prepare(self, world: World) -> None:
        _compile_own_source()
        await _import_bolt()  # warm the file cache for both
        await _run_until_ready(world)

    async def round(self, world: World) -> list[Figure]:
        bot, limit = [], []
        for _ in range(self.repeats):
            bot.append(await _run_until_ready(world))
            limit.append(await _import_bolt())
        return [
            Figure(
                "start-up",
                "`invoicebot run` until it answers",
                ms(statistics.median(bot)),
                "ms",
                ms(statistics.median(limit)),
                Target("<=", 2.0),
                limit_note="import slack_bolt",
            )
        ]
