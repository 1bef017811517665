"""Three real `invoicebot run` processes on one PostgreSQL, one of them killed mid-storm.

Slash commands and clicks go round robin over the three; payers pay at the sandbox and
1,000 browsers land at once, spread over the three, while one process gets SIGKILL. The
survivors answer every landing, and each paid invoice is settled and confirmed in the
billing channel exactly once: the dead process's leases are short here
(`INVOICEBOT_CHECK_LEASE`, `INVOICEBOT_OUTBOX_LEASE`) so its work is taken over quickly.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from yarl import URL

from bot.credentials import CredentialBox, generate_key
from bot.pages import PAYMENT_COOKIE
from bot.store import Store
from plugins.i3d import I3DCredentials
from plugins.i3d.sandbox import SANDBOX
from tests.conftest import SIGNING_SECRET
from tests.fake_slack import BOT_TOKEN, FakeSlack
from tests.scenario.conftest import I3D_TOKEN, free_port
from tests.scenario.harness import Harness, Screen, answering, find, pay_in_browser, text_of
from tests.scenario.test_killed import Address

INVOICES = {"410001": "INV-24-0101", "410002": "INV-24-0087", "410007": "INV-24-0104"}
STORM = 1000
LEASE = "2"


class Bots:
    """The three processes, their ports, and the store they share."""

    def __init__(self, ports: list[int], store: Store) -> None:
        self.ports = ports
        self.store = store
        self.processes: list[asyncio.subprocess.Process] = []


@pytest.fixture
async def bots(
    tmp_path: Path,
    postgres_url: str,
    fake_slack: tuple[FakeSlack, TestServer],
    i3d_sandbox: TestServer,
) -> AsyncIterator[Bots]:
    ports = [free_port() for _ in range(3)]
    key = generate_key()
    store = Store(postgres_url, CredentialBox(key))
    base_url = str(i3d_sandbox.make_url("")).rstrip("/")
    store.save_connection(
        "T0TEAM", "i3d", I3DCredentials(api_key=I3D_TOKEN, base_url=base_url), connected_by="U0A"
    )
    i3d_sandbox.app[SANDBOX].return_url = f"http://127.0.0.1:{ports[0]}/landing/i3d"
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "PYTHONPATH") if k in os.environ}
    common = {
        **keep,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": str(fake_slack[1].make_url("/api/")),
        "INVOICEBOT_SECRET_KEY": key,
        "INVOICEBOT_BILLING_CHANNEL": "C0BILLING",
        "INVOICEBOT_DATABASE": postgres_url,
        "INVOICEBOT_PAYERS": "U0PAYER",
        "INVOICEBOT_PLUGINS": "i3d",
        # the landings, not the poller, are first to hear of the payments
        "INVOICEBOT_POLL_FIRST_DELAY": "3",
        "INVOICEBOT_POLL_MAX_DELAY": "1",
        "INVOICEBOT_CHECK_LEASE": LEASE,
        "INVOICEBOT_OUTBOX_LEASE": LEASE,
    }
    bots = Bots(ports, store)

    async def start(port: int) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "bot.cli", "run", "--host", "127.0.0.1", "--port", str(port)],
            env={**common, "INVOICEBOT_PUBLIC_URL": f"http://127.0.0.1:{port}"},
            cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        bots.processes.append(process)
        await answering(port, within=20)
        return process

    try:
        await asyncio.gather(*(start(port) for port in ports))
        yield bots
    finally:
        for process in bots.processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
        store.close()


class RoundRobin:
    """Sends each Slack request to the next process, as a load balancer would."""

    def __init__(self, harnesses: list[Harness]) -> None:
        self.turns = itertools.cycle(harnesses)

    def next(self) -> Harness:
        return next(self.turns)


async def pay_link(bots: RoundRobin, invoice_id: str) -> str:
    """/invoices → Pay → iDEAL → ING → Get link, each step to the next process."""
    h = bots.next()
    _, screen, _ = await h.command("")
    screen = await bots.next().screen_after(screen)
    key = await bots.next().click(screen, "pay", pick=lambda e: f"|{invoice_id}" in e["value"])
    menu = Screen(await h.next_response(key), key)
    for action_id, value in (("choose_method", "10"), ("choose_issuer", "INGBNL2A")):
        key = await bots.next().click(menu, action_id, selected=value)
        menu = Screen(await h.next_response(key), key)
    key = await bots.next().click(menu, "get_link")
    return str(find(await h.next_response(key), "open_link", lambda e: True)[1]["url"])


async def test_three_processes_one_killed_mid_storm_confirm_each_payment_once(
    bots: Bots, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, slack_server = fake_slack
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        ids = itertools.count(1)
        harnesses = [
            Harness(Address(port), slack, slack_server, SIGNING_SECRET, http, ids)  # type: ignore[arg-type]
            for port in bots.ports
        ]
        robin = RoundRobin(harnesses)
        # one after the other: a link offers the open credit note, which the first
        # payment uses up
        links, landings = [], []
        for invoice_id in INVOICES:
            link = await pay_link(robin, invoice_id)
            robin.next()  # the next invoice's link from the next process
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as payer:
                landing, _ = await pay_in_browser(payer, link, come_back=False)
                cookie = payer.cookie_jar.filter_cookies(URL(landing))[PAYMENT_COOKIE].value
            links.append(link)
            landings.append((URL(landing), cookie))
        assert {URL(link).port for link in links} == set(bots.ports)
        assert all(landing.query["status"] == "success" for landing, _ in landings)

    victim = bots.processes[2]
    killed_port = bots.ports[2]
    answers: list[tuple[int, int | None, str]] = []
    first_answered, killed = asyncio.Event(), asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as storm:

        async def land(i: int) -> None:
            landing, cookie = landings[i % len(landings)]
            port = bots.ports[i // len(landings) % 3]  # every invoice on every process
            if port == killed_port and i % 2:  # half of its browsers come after the kill
                await killed.wait()
            try:
                async with storm.get(
                    landing.with_port(port), cookies={PAYMENT_COOKIE: cookie}
                ) as response:
                    answers.append((port, response.status, await response.text()))
            except aiohttp.ClientError:
                answers.append((port, None, ""))
            if len(answers) >= STORM // 100:
                first_answered.set()

        async def kill() -> None:
            await first_answered.wait()
            victim.send_signal(signal.SIGKILL)
            await victim.wait()
            killed.set()

        await asyncio.gather(kill(), *(land(i) for i in range(STORM)))
    await victim.wait()

    assert len(answers) == STORM
    survivors = [(port, status, page) for port, status, page in answers if port != killed_port]
    assert [status for _, status, _ in survivors if status != 200] == []
    assert all("Invoice paid" in page for _, _, page in survivors)
    assert any(status is None for port, status, _ in answers if port == killed_port)

    def confirmed() -> dict[str, int]:
        texts = [text_of(message) for message in slack.posted_to("C0BILLING")]
        return {number: sum(number in text for text in texts) for number in INVOICES.values()}

    await harnesses[0].wait_for(lambda: all(confirmed().values()), within=20)
    await asyncio.sleep(float(LEASE) + 2.0)  # any lease of the dead process has run out
    assert confirmed() == dict.fromkeys(INVOICES.values(), 1)
    assert len(slack.posted_to("C0BILLING")) == len(INVOICES)
    assert len(bots.store.settlements()) == len(INVOICES)
    assert bots.store.outbox_pending() == 0
