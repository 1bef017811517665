"""`invoicebot demo` as the README starts it: one URL printed, the page served, Ctrl-C stops."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp

from tests.scenario.conftest import free_port


async def test_the_demo_command_serves_the_local_slack_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *[
            sys.executable,
            "-m",
            "bot.cli",
            "demo",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "d"),
        ],
        env={k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INVOICEBOT_"))},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert f"Open http://127.0.0.1:{port} and type /invoices." in line
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/") as page:
                assert page.status == 200
                assert "Slack emulator" in await page.text()
            async with session.post(
                f"http://127.0.0.1:{port}/emulator/command",
                json={"user": "U0PAYER", "channel": "C0GENERAL", "text": "status"},
            ) as reply:
                assert reply.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        rest = (await asyncio.wait_for(process.communicate(), 30))[0].decode()
    assert process.returncode == 0, rest
    assert "invoicebot demo stopped." in rest and "Traceback" not in rest
    assert (tmp_path / "d" / "invoicebot.sqlite").exists()
    assert (tmp_path / "d" / "secret.key").stat().st_mode & 0o077 == 0
