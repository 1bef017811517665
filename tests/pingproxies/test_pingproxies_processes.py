"""Real `invoicebot run` processes paying a PingProxies invoice with a saved card: two
payers clicking Charge at once on two processes sharing PostgreSQL, and a process killed
(-9) while PingProxies holds the charge, restarted on the same database."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.credentials import CredentialBox, generate_key
from bot.models import Money
from bot.slack.values import GET_LINK, PayTarget
from bot.store import Store
from plugins.pingproxies.sandbox import SandboxState, billing
from tests.conftest import SIGNING_SECRET
from tests.fake_slack import BOT_TOKEN, FakeSlack
from tests.pingproxies.conftest import TEAM, credentials_for, pay_path
from tests.pingproxies.test_pingproxies_core import CARD
from tests.scenario.conftest import free_port
from tests.scenario.harness import Harness, Screen, answering
from tests.scenario.test_killed import Address

INVOICE = "inv_sbx0101"
Start = Callable[[int], Awaitable[asyncio.subprocess.Process]]


@pytest.fixture
async def processes(
    tmp_path: Path,
    database: str,
    fake_slack: tuple[FakeSlack, TestServer],
    server: TestServer,
) -> AsyncIterator[tuple[Start, Store]]:
    key = generate_key()
    store = Store(database, CredentialBox(key))
    store.save_connection(TEAM, "pingproxies", credentials_for(server), connected_by="U0A")
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "PYTHONPATH") if k in os.environ}
    started: list[asyncio.subprocess.Process] = []

    async def start(port: int) -> asyncio.subprocess.Process:
        env = {
            **keep,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": str(fake_slack[1].make_url("/api/")),
            "INVOICEBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "INVOICEBOT_SECRET_KEY": key,
            "INVOICEBOT_BILLING_CHANNEL": "C0BILLING",
            "INVOICEBOT_DATABASE": database,
            "INVOICEBOT_OUTBOX_LEASE": "3",
            "INVOICEBOT_PAYERS": "U0PAYER,U0OTHER",
            "INVOICEBOT_PLUGINS": "pingproxies",
            "INVOICEBOT_POLL_FIRST_DELAY": "0.2",
            "INVOICEBOT_POLL_MAX_DELAY": "0.5",
        }
        process = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "bot.cli", "run", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        started.append(process)
        await answering(port, within=15)
        return process

    try:
        yield start, store
    finally:
        for process in started:
            if process.returncode is None:
                process.kill()
                await process.wait()
        store.close()


def charge_screen(amount: Money) -> Screen:
    target = PayTarget("pingproxies", (INVOICE,), CARD, None, amount)
    button = {"type": "button", "action_id": GET_LINK, "value": target.encode()}
    return Screen({"blocks": [{"block_id": "b1", "elements": [button]}]}, "r0")


def amount_of(sandbox: SandboxState) -> Money:
    item = sandbox.invoices[INVOICE]
    return Money.from_minor(item.invoice_amount_remaining, item.invoice_currency.upper())


def states(store: Store) -> list[str]:
    rows = store.db.execute("SELECT state FROM payments ORDER BY created_ts")
    return [row[0] for row in rows]


def texts(slack: FakeSlack, key: str) -> list[str]:
    return [str(body.get("text", "")) for body in slack.responses.get(key, [])]


async def test_two_payers_charging_at_once_on_two_processes_charge_once(
    processes: tuple[Start, Store],
    fake_slack: tuple[FakeSlack, TestServer],
    sandbox: SandboxState,
    database: str,
) -> None:
    if "postgresql" not in database:
        pytest.skip("a sqlite file is served by one process")
    start, store = processes
    slack, slack_server = fake_slack
    ports = [free_port(), free_port()]
    await asyncio.gather(*(start(port) for port in ports))
    sandbox.latency = 0.5  # both clicks reach the bots while the other is under way
    screen = charge_screen(amount_of(sandbox))
    async with aiohttp.ClientSession() as http:
        one, two = (
            Harness(Address(port), slack, slack_server, SIGNING_SECRET, http)  # type: ignore[arg-type]
            for port in ports
        )
        keys = await asyncio.gather(
            one.click(screen, GET_LINK, user="U0PAYER"), two.click(screen, GET_LINK, user="U0OTHER")
        )
        await one.wait_for(lambda: slack.posted_to("C0BILLING"), within=20)
        await asyncio.sleep(1.5)
    assert sandbox.count("POST", pay_path(INVOICE)) == 1
    assert len(slack.posted_to("C0BILLING")) == 1
    assert sorted(states(store)) == ["paid"]
    said: list[Any] = [texts(slack, key) for key in keys]
    assert any("being started" in t or "already paid" in t for ts in said for t in ts), said


async def test_killed_while_the_charge_is_with_pingproxies_is_confirmed_once_after_restart(
    processes: tuple[Start, Store],
    fake_slack: tuple[FakeSlack, TestServer],
    sandbox: SandboxState,
    database: str,
) -> None:
    start, store = processes
    slack, slack_server = fake_slack
    port = free_port()
    process = await start(port)
    sandbox.hang_seconds = 30.0  # PingProxies sits on the charge
    sandbox.inject("hang", path=pay_path(INVOICE))
    async with aiohttp.ClientSession() as http:
        h = Harness(Address(port), slack, slack_server, SIGNING_SECRET, http)  # type: ignore[arg-type]
        key = await h.click(charge_screen(amount_of(sandbox)), GET_LINK)
        await h.wait_for(lambda: sandbox.count("POST", pay_path(INVOICE)) == 1)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        assert states(store) == ["created"]
        if store.shared:  # another process might still be making it: aged, not waited for
            store.db.execute("UPDATE payments SET created_ts = created_ts - 120")
        await start(port)

        def told() -> list[str]:
            dms = [str(args.get("text", "")) for args in slack.posted_to("U0PAYER")]
            return texts(slack, key) + dms

        await h.wait_for(lambda: any("not known" in t for t in told()), within=15)
        assert states(store) == ["unknown"] and not slack.posted_to("C0BILLING")
        billing.settle(sandbox, INVOICE)  # PingProxies made the charge after all
        await h.wait_for(lambda: slack.posted_to("C0BILLING"), within=30)
        await h.wait_for(lambda: states(store) == ["paid"], within=10)
        await asyncio.sleep(2.0)
    assert len(slack.posted_to("C0BILLING")) == 1
    assert sandbox.count("POST", pay_path(INVOICE)) == 1
    assert "paid" in told()[-1].lower(), told()
