"""A saved-card charge PingProxies makes only after invoicebot stopped waiting for it
(its answer comes too late), and the bot killed (-9) while the charge is still unknown:
after the restart the payer has heard it is not known, then that it is paid; #billing
hears once; the card was charged once."""

from __future__ import annotations

import asyncio
import signal

import aiohttp
from aiohttp.test_utils import TestServer

from bot.store import Store
from plugins.pingproxies.sandbox import SandboxState, billing
from tests.conftest import SIGNING_SECRET
from tests.fake_slack import FakeSlack
from tests.pingproxies.conftest import pay_path
from tests.pingproxies.test_pingproxies_processes import (
    INVOICE,
    Start,
    amount_of,
    charge_screen,
    processes,
    states,
    texts,
)
from tests.scenario.conftest import free_port
from tests.scenario.harness import Harness
from tests.scenario.test_killed import Address

__all__ = ["processes"]


async def test_a_charge_made_after_the_bot_stopped_waiting_and_then_killed_is_told_once(
    processes: tuple[Start, Store],
    fake_slack: tuple[FakeSlack, TestServer],
    sandbox: SandboxState,
) -> None:
    start, store = processes
    slack, slack_server = fake_slack
    port = free_port()
    process = await start(port)
    sandbox.hang_seconds = 12.0  # past the bot's 10 s: it stops waiting
    sandbox.inject("hang", path=pay_path(INVOICE))
    async with aiohttp.ClientSession() as http:
        h = Harness(Address(port), slack, slack_server, SIGNING_SECRET, http)  # type: ignore[arg-type]
        key = await h.click(charge_screen(amount_of(sandbox)), "get_link")

        def told() -> list[str]:
            dms = [str(args.get("text", "")) for args in slack.posted_to("U0PAYER")]
            return texts(slack, key) + dms

        await h.wait_for(lambda: states(store) == ["unknown"], within=20)
        await h.wait_for(lambda: any("not known" in t for t in told()), within=10)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        billing.settle(sandbox, INVOICE)  # PingProxies made the charge after all
        await start(port)
        await h.wait_for(lambda: slack.posted_to("C0BILLING"), within=30)
        await h.wait_for(lambda: states(store) == ["paid"], within=10)
        await asyncio.sleep(2.0)
    assert len(slack.posted_to("C0BILLING")) == 1
    assert sandbox.count("POST", pay_path(INVOICE)) == 1
    assert "paid" in told()[-1].lower(), told()


async def test_a_charge_whose_answer_is_lost_tells_its_payer_once_on_the_message(
    processes: tuple[Start, Store],
    fake_slack: tuple[FakeSlack, TestServer],
    sandbox: SandboxState,
) -> None:
    """The click's response URL takes five posts: "not known yet" is queued with the move
    to unknown (it must not be lost with a failed post), and the click does not say it a
    second time, leaving posts for what comes later (paid, or a decline found)."""
    start, _ = processes
    slack, slack_server = fake_slack
    port = free_port()
    await start(port)
    sandbox.inject("lost_answer", path=pay_path(INVOICE))
    async with aiohttp.ClientSession() as http:
        h = Harness(Address(port), slack, slack_server, SIGNING_SECRET, http)  # type: ignore[arg-type]
        key = await h.click(charge_screen(amount_of(sandbox)), "get_link")
        await h.wait_for(lambda: any("not known" in t for t in texts(slack, key)), within=20)
        await asyncio.sleep(1.0)
    unknown = [t for t in texts(slack, key) if "Do not pay again" in t]
    assert len(unknown) == 1 and "not known yet" in unknown[0], texts(slack, key)
