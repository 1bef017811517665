"""Everything a benchmark talks to: a local Slack, the provider sandboxes, the bot.

The Slack emulator runs in this (the driver's) process, so the driver can type
commands, click buttons and issue response_urls; the sandboxes, the bot and the load
generator each get a process of their own.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import tempfile
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.processes import (
    HOST,
    Child,
    free_port,
    invoicebot_command,
    start,
    wait_until_answering,
)
from bot.connections import Connections
from bot.credentials import CredentialBox, generate_key
from bot.plugins import make_plugin_manager, providers, sandboxes
from bot.store import Store
from slack_emulator import EMULATOR, create_app
from slack_emulator.client import Emulator
from slack_emulator.directory import User

TEAM, USER, ADMIN, CHANNEL, BILLING = "T0TEAM", "U0PAYER", "U0ADMIN", "C0GENERAL", "C0BILLING"


@dataclass
class World:
    stack: AsyncExitStack
    data_dir: Path
    phase: AsyncExitStack = field(default_factory=AsyncExitStack)
    """What a scenario keeps to itself, stopped when its phase of the run ends."""
    signing_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    bot_settings: dict[str, str] = field(default_factory=dict)
    bot_token: str = field(default_factory=lambda: "xoxb-bench-" + secrets.token_hex(8))
    bot_url: str = field(default_factory=lambda: f"http://{HOST}:{free_port()}")
    slack_url: str = field(default_factory=lambda: f"http://{HOST}:{free_port()}")
    sandbox_urls: dict[str, str] = field(default_factory=dict)
    slack: Emulator | None = None
    bot: Child | None = None
    bare: Child | None = None
    http: aiohttp.ClientSession | None = None

    @property
    def emulator(self) -> Emulator:
        assert self.slack is not None
        return self.slack

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self.http is not None
        return self.http

    def slack_env(self) -> dict[str, str]:
        return {
            "SLACK_BOT_TOKEN": self.bot_token,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "SLACK_API_URL": f"{self.slack_url}/api/",
        }

    def bot_env(self, port: int, database: Path | str, secret_key: str) -> dict[str, str]:
        return {
            **self.slack_env(),
            "INVOICEBOT_PUBLIC_URL": self.bot_url,
            "INVOICEBOT_SECRET_KEY": secret_key,
            "INVOICEBOT_BILLING_CHANNEL": BILLING,
            "INVOICEBOT_DATABASE": str(database),
            "INVOICEBOT_HOST": HOST,
            "INVOICEBOT_PORT": str(port),
            "INVOICEBOT_PAYERS": USER,
            "INVOICEBOT_ADMINS": ADMIN,
            "INVOICEBOT_POLL_FIRST_DELAY": "1",
            # Every list reads the provider in full, as the limits are measured: the
            # shared snapshot would otherwise answer later rounds from memory.
            "INVOICEBOT_SNAPSHOT_SECONDS": "0",
            "INVOICEBOT_POLL_MAX_DELAY": "2",
        }

    def response_urls(self, count: int) -> list[str]:
        """Fresh response_urls, as Slack gives each slash command its own."""
        issue = self.emulator.response_urls.issue
        return [
            f"{self.slack_url}/hooks/{issue(USER, CHANNEL, from_command=True).id}"
            for _ in range(count)
        ]

    async def sandbox(self, name: str, path: str, body: dict[str, Any]) -> None:
        async with self.session.post(self.sandbox_urls[name] + path, json=body) as response:
            response.raise_for_status()

    async def set_latency(self, seconds: dict[str, float]) -> None:
        for name, latency in seconds.items():
            await self.sandbox(name, "/_sandbox/settings", {"latency": latency})

    async def load(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Run `bench.load` in a process of its own and return what it measured."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.load",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await process.communicate(json.dumps(spec).encode())
        if process.returncode:
            raise RuntimeError(f"the load generator failed ({process.returncode})")
        return dict(json.loads(out))

    def command_load(
        self, url: str | list[str], requests: int, concurrency: int = 0
    ) -> dict[str, Any]:
        """Closed loop at `concurrency`; for an open loop add `rate` and `seconds`.

        Several URLs take the requests round robin."""
        return {
            "url": url,
            "signing_secret": self.signing_secret,
            "requests": requests,
            "concurrency": concurrency,
            "response_urls": self.response_urls(requests),
            "team_id": TEAM,
            "user_id": USER,
            "channel_id": CHANNEL,
        }

    async def prepared_database(self) -> tuple[Path, str]:
        """The bot's database with every sandbox connected (done once), and its key."""
        database = self.data_dir / "invoicebot.sqlite"
        key_file = self.data_dir / "secret.key"
        if not key_file.exists():
            key_file.write_text(generate_key())
            await self.connect_all(database, key_file.read_text())
        return database, key_file.read_text()

    async def start_bot(self, **env: str) -> Child:
        """`invoicebot run` on the prepared database, kept running until the end.

        `env` overrides the bot's settings. It replaces a running bot: the local Slack
        sends every command and click to `bot_url`.
        """
        if self.bot is not None:
            await self.bot.stop()
        database, key = await self.prepared_database()
        port = int(self.bot_url.rsplit(":", 1)[1])
        self.bot = await start(
            "invoicebot",
            [*invoicebot_command(), "run"],
            self.bot_url,
            ready_path="/healthz",
            env={**self.bot_env(port, database, key), **env},
            cwd=self.data_dir,
        )
        self.bot_settings = env
        self.stack.push_async_callback(self.bot.stop)
        await self._warm_up()
        return self.bot

    async def _warm_up(self) -> None:
        """One list from one small provider: code paths, Slack and provider connections.

        It reads nothing of i3D, whose big account some scenarios time from cold.
        """
        slack = self.emulator
        reply = await slack.slash_command(USER, CHANNEL, "payfirma")
        hook = slack.response_urls.hooks[str(reply.response_url).rsplit("/", 1)[1]]
        await slack.wait_until(lambda: hook.uses > 0, 30)

    async def bot_with(self, **env: str) -> Child:
        """The bot with these settings: the running one if it has them, else a new one."""
        if (
            self.bot is None
            or self.bot.process.returncode is not None
            or (self.bot_settings != env)
        ):
            await self.start_bot(**env)
        assert self.bot is not None
        return self.bot

    async def start_bare(self) -> Child:
        """The limit for acks: `bench.bare`, kept running until the end."""
        if self.bare is None:
            port = free_port()
            self.bare = await start(
                "bare Bolt app",
                [sys.executable, "-m", "bench.bare", str(port)],
                f"http://{HOST}:{port}",
                env=self.slack_env(),
            )
            self.stack.push_async_callback(self.bare.stop)
        return self.bare

    def add_users(self, count: int) -> list[str]:
        """`count` more people in the local Slack's #general (ids U0BENCH01, ...)."""
        workspace = self.emulator.workspace
        general = workspace.resolve_channel(CHANNEL)
        assert general is not None
        made = []
        for n in range(1, count + 1):
            user_id = f"U0BENCH{n:02d}"
            if user_id not in workspace.users:
                workspace.users[user_id] = User(user_id, f"bench{n}", f"Bench User {n}")
                general.members.append(user_id)
            made.append(user_id)
        return made

    async def connect_all(self, database: Path | str, secret_key: str) -> None:
        """Connect every sandbox in `database`, a sqlite file or a PostgreSQL URL."""
        store = Store(database, CredentialBox(secret_key))
        try:
            connections = Connections(store, providers(make_plugin_manager()), self.session)
            offered = sandboxes(make_plugin_manager())
            for name, url in self.sandbox_urls.items():
                credentials = offered[name].credentials(url)
                await connections.connect(TEAM, name, credentials, connected_by=ADMIN)
        finally:
            store.close()


async def open_world(stack: AsyncExitStack) -> World:
    """The local Slack and every sandbox, up; the bot is started by `World.start_bot`."""
    data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="invoicebot-bench-")))
    world = World(stack, data_dir)
    world.http = await stack.enter_async_context(aiohttp.ClientSession())
    stack.push_async_callback(world.phase.aclose)
    app = create_app(
        request_url=f"{world.bot_url}/slack/events",
        signing_secret=world.signing_secret,
        bot_token=world.bot_token,
        public_url=world.slack_url,
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    await web.TCPSite(runner, HOST, int(world.slack_url.rsplit(":", 1)[1])).start()
    world.slack = app[EMULATOR]
    ports = {name: free_port() for name in sandboxes(make_plugin_manager())}
    world.sandbox_urls = {name: f"http://{HOST}:{port}" for name, port in ports.items()}
    some = next(iter(world.sandbox_urls.values()))
    child = await start(
        "sandboxes",
        [sys.executable, "-m", "bench.sandboxes", json.dumps(ports), world.bot_url],
        some,
    )
    stack.push_async_callback(child.stop)
    for url in world.sandbox_urls.values():
        await wait_until_answering(url)
    return world
