"""`invoicebot demo` as the README starts it: one URL printed, the page served, Ctrl-C stops."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import pytest

from bot.demo import DemoOptions, start_demo
from bot.models import Money, Payment
from bot.plugins import make_plugin_manager
from bot.web import SERVICES
from tests.scenario.conftest import free_port


async def started(port: int, data_dir: Path) -> asyncio.subprocess.Process:
    """`invoicebot demo`, once it has printed its URL."""
    process = await asyncio.create_subprocess_exec(
        *[
            sys.executable,
            "-m",
            "bot.cli",
            "demo",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        env={k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INVOICEBOT_"))},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    assert f"Open http://127.0.0.1:{port}" in line, line
    return process


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


async def test_ctrl_c_stops_promptly_while_the_page_waits_for_changes(tmp_path: Path) -> None:
    port = free_port()
    process = await started(port, tmp_path / "d")
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{port}/emulator/changes?since=1000000"
        waiting = asyncio.ensure_future(session.get(url))  # the page's long-poll
        await asyncio.sleep(0.5)
        assert not waiting.done()
        stopping = time.monotonic()
        process.send_signal(signal.SIGINT)
        rest = (await asyncio.wait_for(process.communicate(), 30))[0].decode()
        took = time.monotonic() - stopping
        waiting.cancel()
    assert process.returncode == 0, rest
    assert "invoicebot demo stopped." in rest
    assert took < 3, f"took {took:.1f} s to stop"


def a_payment() -> Payment:
    return Payment(
        id="p-old",
        team_id="T0TEAM",
        provider="i3d",
        invoice_ids=("gone",),
        invoice_numbers=("INV-OLD",),
        amount=Money.of("10.00", "EUR"),
        method_id="ideal",
        method_name="iDEAL",
        user_id="U0PAYER",
    )


async def test_a_restarted_demo_forgets_payments_as_its_sandboxes_do(tmp_path: Path) -> None:
    options = DemoOptions(port=free_port(), data_dir=tmp_path / "d")
    async with AsyncExitStack() as stack:
        demo = await start_demo(stack, options, make_plugin_manager())
        store = demo.bot[SERVICES].store
        payment = a_payment()
        store.add_payment(payment, token_hash="t", token_expires_at=0.0)
        store.add_settlement("s-old", payment, evidence="attempt", settled_at="2026-11-01")
    key = (tmp_path / "d" / "secret.key").read_text()
    async with AsyncExitStack() as stack:
        demo = await start_demo(stack, options, make_plugin_manager())
        store = demo.bot[SERVICES].store
        assert store.payment("p-old") is None and store.recent_settlements("T0TEAM") == []
        assert len(store.connected_providers("T0TEAM")) == 3
    assert (tmp_path / "d" / "secret.key").read_text() == key


async def test_a_second_demo_leaves_the_running_one_alone_and_says_why(tmp_path: Path) -> None:
    """Typing `invoicebot demo` again while one runs in another terminal is easy: the
    second must not clear the first one's database, and must say what to do instead."""
    port = free_port()
    first = await started(port, tmp_path / "d")
    try:
        database = tmp_path / "d" / "invoicebot.sqlite"
        inode = database.stat().st_ino
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INVOICEBOT_"))}
        for argv, says in (
            (["--port", str(free_port()), "--data-dir", str(tmp_path / "d")], str(tmp_path / "d")),
            (["--port", str(port), "--data-dir", str(tmp_path / "other")], "--port"),
        ):
            second = await asyncio.create_subprocess_exec(
                *[sys.executable, "-m", "bot.cli", "demo", *argv],
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            output = (await asyncio.wait_for(second.communicate(), 30))[0].decode()
            assert second.returncode == 2, output
            assert "already" in output and says in output, output
            assert "Errno" not in output and "Traceback" not in output
            assert database.stat().st_ino == inode, "the running demo's database was replaced"
    finally:
        first.send_signal(signal.SIGINT)
        await asyncio.wait_for(first.communicate(), 20)


async def test_a_demo_starts_where_its_folder_cannot_be_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On NFS an exclusive lock needs a file open for writing, which a directory never is:
    the lock fails there for every demo, the first one too. Only a lock held by another
    process is refused; any other failure leaves two demos on one folder on trust."""

    def unsupported(fd: int, operation: int) -> None:
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr("bot.demo.fcntl.flock", unsupported)
    options = DemoOptions(port=free_port(), data_dir=tmp_path / "d")
    async with AsyncExitStack() as stack:
        demo = await start_demo(stack, options, make_plugin_manager())
        assert demo.slack_url.endswith(f":{options.port}")


async def test_a_data_dir_that_cannot_be_a_folder_is_said_in_words(tmp_path: Path) -> None:
    """`--data-dir` naming a file, or a place the user may not write, is a typo to fix,
    not an errno to decode."""
    taken = tmp_path / "notes.txt"
    taken.write_text("mine\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INVOICEBOT_"))}
    argv = ["demo", "--port", str(free_port()), "--data-dir", str(taken)]
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "bot.cli", *argv],
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output = (await asyncio.wait_for(process.communicate(), 30))[0].decode()
    assert process.returncode == 2, output
    assert str(taken) in output and "--data-dir" in output, output
    assert "Errno" not in output and "Traceback" not in output, output
    assert taken.read_text() == "mine\n"
