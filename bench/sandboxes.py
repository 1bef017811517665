"""`python -m bench.sandboxes PORTS_JSON LANDING_BASE`: every provider sandbox, one process.

The providers live in a process of their own, as they would on the Internet; the
benchmark sets their latency and adds invoices through their `/_sandbox/*` routes.
"""

from __future__ import annotations

import asyncio
import json
import sys

from aiohttp import web

from bench.processes import HOST
from bot.plugins import make_plugin_manager, sandboxes


async def serve(ports: dict[str, int], landing_base: str) -> None:
    runners = []
    for name, sandbox in sandboxes(make_plugin_manager()).items():
        if name not in ports:
            continue
        runner = web.AppRunner(sandbox.make_app(f"{landing_base}/landing/{name}"), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, HOST, ports[name]).start()
        runners.append(runner)
    try:
        await asyncio.Event().wait()
    finally:
        for runner in runners:
            await runner.cleanup()


def main() -> None:
    asyncio.run(serve(json.loads(sys.argv[1]), sys.argv[2]))


if __name__ == "__main__":
    main()
