"""`invoicebot demo`: the whole product on loopback, with no account anywhere.

The bot, every registered provider's sandbox (connected to the demo workspace) and the
local Slack emulator run in one process on 127.0.0.1; a person opens one URL and is in
a small Slack. The emulator is a development tool and `invoicebot run` never loads it.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import secrets
import shutil
import signal
import socket
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy
from aiohttp import web

from bot.credentials import generate_key
from bot.plugins import sandboxes
from bot.provider import ProviderError
from bot.settings import Settings
from bot.slack.connect import local_defaults
from bot.web import SERVICES, create_app

try:
    import fcntl
except ImportError:  # not on Windows: two demos on one folder are then on trust
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
TEAM = "T0TEAM"
BILLING = "C0BILLING"
DATABASE = "invoicebot.sqlite"
APPROVERS = (("U0FINANCE", "fran", "Fran Finance"), ("U0CFO", "casey", "Casey CFO"))
"""Who approves in the demo besides the admin, so every bracket can be decided by people
other than whoever asks."""
APPROVALS = "EUR 500 1 U0FINANCE,U0ADMIN; EUR 5000 2 U0FINANCE,U0CFO,U0ADMIN"
"""From €500 one approval, from €5,000 two: a new user meets approvals on first use."""
SHUTDOWN_SECONDS = 1.0
"""How long a stopping demo lets requests finish: the page's long-poll would hold it 25 s."""


@dataclass(frozen=True)
class DemoOptions:
    port: int
    data_dir: Path
    reset: bool = False
    schedules: dict[str, Any] = field(default_factory=dict)
    """Settings of the digest and reminders (`bot.timetable`); the defaults otherwise."""


@dataclass(frozen=True)
class Demo:
    """What is running: the local Slack's URL and app, the bot, the sandboxes by provider."""

    slack_url: str
    slack: web.Application
    bot: web.Application
    sandboxes: dict[str, web.Application]


class DemoUnavailable(Exception):
    """Another demo holds the port or the data directory; said in one line."""


def _hold(stack: AsyncExitStack, data_dir: Path) -> None:
    """Keep `data_dir` for this demo while it runs: a second one started by mistake (in
    another terminal) would clear the running one's database at start-up."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # a typo in --data-dir: said in words, not as an errno
        why = "it is a file" if data_dir.exists() else (error.strerror or "").lower()
        raise DemoUnavailable(
            f"cannot keep the demo's data in {data_dir} ({why}): give another --data-dir"
        ) from None
    if fcntl is None:
        return
    held = os.open(data_dir, os.O_RDONLY)
    stack.callback(os.close, held)
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno not in (errno.EWOULDBLOCK, errno.EACCES):
            return  # no lock on this file system (NFS wants a file open for writing): on trust
        raise DemoUnavailable(
            f"another invoicebot demo is already using {data_dir}: open that one, stop it "
            "with Ctrl-C, or give this one another --data-dir"
        ) from None


def _listen(port: int) -> socket.socket:
    """The local Slack's socket, taken before the data directory is touched."""
    try:
        return socket.create_server((HOST, port))
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        raise DemoUnavailable(
            f"port {port} is already in use (by a demo already running? open "
            f"http://{HOST}:{port}), or choose another with --port"
        ) from None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _secret_key(data_dir: Path) -> str:
    """Generated once per data directory, so stored credentials stay readable across runs."""
    path = data_dir / "secret.key"
    if not path.exists():
        path.write_text(generate_key())
        path.chmod(0o600)
    return path.read_text().strip()


def _forget_payments(data_dir: Path) -> None:
    """The sandboxes start afresh on every run (they live in memory), so the bot's database
    does too: payments and settlements of invoices that no longer exist, and connections
    to the last run's ports, would contradict what the sandboxes now say."""
    for suffix in ("", "-wal", "-shm"):
        (data_dir / (DATABASE + suffix)).unlink(missing_ok=True)


async def _serve(stack: AsyncExitStack, app: web.Application, port: int | socket.socket) -> str:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    if isinstance(port, socket.socket):
        await web.SockSite(runner, port).start()
        return f"http://{HOST}:{port.getsockname()[1]}"
    await web.TCPSite(runner, HOST, port).start()
    return f"http://{HOST}:{port}"


async def start_demo(stack: AsyncExitStack, options: DemoOptions, pm: pluggy.PluginManager) -> Demo:
    """Start everything; it all stops when `stack` closes."""
    from slack_emulator import User, Workspace
    from slack_emulator import create_app as create_emulator
    from slack_emulator.directory import default_users

    _hold(stack, options.data_dir)
    slack_socket = _listen(options.port)
    stack.callback(slack_socket.close)
    if options.reset:
        for kept in options.data_dir.iterdir():
            if kept.is_dir() and not kept.is_symlink():
                shutil.rmtree(kept)
            else:
                kept.unlink()
    _forget_payments(options.data_dir)
    bot_port = _free_port()
    bot_url = f"http://{HOST}:{bot_port}"
    signing_secret, bot_token = secrets.token_hex(16), "xoxb-demo-" + secrets.token_hex(12)
    slack = create_emulator(
        request_url=f"{bot_url}/slack/events",
        signing_secret=signing_secret,
        bot_token=bot_token,
        public_url=f"http://{HOST}:{options.port}",
        workspace=Workspace(users=[*default_users(), *(User(*person) for person in APPROVERS)]),
    )
    slack_url = await _serve(stack, slack, slack_socket)
    offered = sandboxes(pm)
    sandbox_apps = {name: s.make_app(f"{bot_url}/landing/{name}") for name, s in offered.items()}
    sandbox_urls = {
        name: await _serve(stack, app, _free_port()) for name, app in sandbox_apps.items()
    }
    settings = Settings(
        slack_bot_token=bot_token,
        slack_signing_secret=signing_secret,
        slack_api_url=f"{slack_url}/api/",
        public_url=bot_url,
        secret_key=_secret_key(options.data_dir),
        billing_channel=BILLING,
        database=options.data_dir / DATABASE,
        payers=frozenset({"U0PAYER"}),
        payer_group="S0PAYERS",
        admins=frozenset({"U0ADMIN"}),
        approvals=APPROVALS,
        poll_first_delay=2.0,
        poll_max_delay=30.0,
        _env_file=None,
        **options.schedules,
    )
    bot = create_app(settings, pm)
    await _serve(stack, bot, bot_port)
    connections = bot[SERVICES].connections
    for name, sandbox in offered.items():
        if name not in connections.registry:
            continue
        bot[SERVICES].connect_defaults[name] = local_defaults(
            sandbox.credentials(sandbox_urls[name])
        )
        try:
            await connections.connect(
                TEAM, name, sandbox.credentials(sandbox_urls[name]), connected_by="U0ADMIN"
            )
        except ProviderError as error:
            log.warning("could not connect %s to its sandbox: %s", name, error.message)
    return Demo(slack_url, slack, bot, sandbox_apps)


async def run_demo(options: DemoOptions, pm: pluggy.PluginManager) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with AsyncExitStack() as stack:
        demo = await start_demo(stack, options, pm)
        print(f"invoicebot demo is running. Open {demo.slack_url} and type /invoices.", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        await stop.wait()
    print("invoicebot demo stopped.", flush=True)
