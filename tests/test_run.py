"""`invoicebot run` start-up: a clear refusal without configuration, health once running."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.credentials import generate_key
from bot.plugins import make_plugin_manager
from bot.settings import Settings
from bot.web import STORE, create_app, outgoing_session


def _cli(tmp_path: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`invoicebot ARGV…` in `tmp_path` with only `env` (and PATH, HOME) set."""
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "SYSTEMROOT") if k in os.environ}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *argv],
        capture_output=True,
        text=True,
        env={**keep, **env},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return _cli(tmp_path, "run", **env)


def startable() -> dict[str, str]:
    """What a one-workspace bot needs to start (a fresh secret key each time)."""
    return {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "INVOICEBOT_PUBLIC_URL": "https://bot.example.test",
        "INVOICEBOT_SECRET_KEY": generate_key(),
        "INVOICEBOT_BILLING_CHANNEL": "C1",
    }


def test_missing_settings_are_all_named_in_one_message(tmp_path: Path) -> None:
    result = run(tmp_path, SLACK_BOT_TOKEN="xoxb-1")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("invoicebot:")]
    assert len(lines) == 1
    for name in (
        "SLACK_SIGNING_SECRET",
        "INVOICEBOT_PUBLIC_URL",
        "INVOICEBOT_SECRET_KEY",
        "INVOICEBOT_BILLING_CHANNEL",
    ):
        assert name in lines[0]
    assert "SLACK_BOT_TOKEN" not in lines[0]


def test_installing_by_oauth_needs_the_client_secret_and_no_billing_channel(
    tmp_path: Path,
) -> None:
    result = run(tmp_path, SLACK_CLIENT_ID="1.2", SLACK_SIGNING_SECRET="s")
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("invoicebot:")]
    assert "SLACK_CLIENT_SECRET" in line
    assert "SLACK_BOT_TOKEN" not in line and "INVOICEBOT_BILLING_CHANNEL" not in line


def test_without_any_slack_token_both_ways_are_named(tmp_path: Path) -> None:
    result = run(tmp_path, SLACK_SIGNING_SECRET="s")
    assert "SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)" in result.stderr


def test_socket_mode_needs_no_signing_secret(tmp_path: Path) -> None:
    result = run(tmp_path, SLACK_APP_TOKEN="xapp-1", INVOICEBOT_PORT="not-a-port")
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" not in result.stderr
    assert "invalid INVOICEBOT_PORT" in result.stderr


def test_a_bad_secret_key_is_refused_before_serving(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="s",
        INVOICEBOT_PUBLIC_URL="https://bot.example.test",
        INVOICEBOT_SECRET_KEY="hunter2",
        INVOICEBOT_BILLING_CHANNEL="C1",
    )
    assert result.returncode == 2
    assert "not a valid key" in result.stderr
    assert "hunter2" not in result.stderr


def test_a_bad_secret_key_is_named_with_the_other_problems(tmp_path: Path) -> None:
    """One line names every missing and every malformed variable: a mistyped key must
    not wait for a second start to be told."""
    result = run(
        tmp_path,
        SLACK_SIGNING_SECRET="s",
        INVOICEBOT_PUBLIC_URL="https://bot.example.test",
        INVOICEBOT_SECRET_KEY=f"{generate_key()},hunter2",
        INVOICEBOT_BILLING_CHANNEL="C1",
    )
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("invoicebot:")]
    assert "missing SLACK_BOT_TOKEN" in line
    assert "invalid INVOICEBOT_SECRET_KEY (key 2 of 2 is not a valid key" in line
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr


def test_secret_key_command_prints_a_usable_key() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "secret-key"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert len(out) == 44 and out != generate_key()


async def test_health_reports_ok_over_http(bot_server: TestServer) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(bot_server.make_url("/healthz")) as response,
    ):
        assert response.status == 200
        assert await response.json() == {"ok": True}


async def test_health_while_the_database_is_down_says_so_plainly_and_logs_once(
    bot_server: TestServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    db = bot_server.app[STORE].db
    works = db.execute

    def gone(sql: str, parameters: object = ()) -> object:
        raise sqlite3.OperationalError("unable to open database file")

    async def probe() -> tuple[int, str, object]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(bot_server.make_url("/healthz")) as response,
        ):
            return response.status, response.content_type, await response.json()

    caplog.set_level(logging.INFO)
    for outage in range(2):
        monkeypatch.setattr(db, "execute", gone)
        for _ in range(3):
            assert await probe() == (
                503,
                "application/json",
                {"ok": False, "database": "unavailable"},
            )
        monkeypatch.setattr(db, "execute", works)
        assert await probe() == (200, "application/json", {"ok": True})
        said = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(said) == outage + 1, said  # once per outage, not once per probe
        assert all(r.exc_info is None for r in caplog.records)
        assert "unable to open database file" in said[-1].getMessage()


async def test_health_after_a_lost_postgresql_connection_says_so_once_then_reconnects(
    settings: Settings, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    import psycopg

    app = create_app(settings.model_copy(update={"database": postgres_url}), make_plugin_manager())
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        (pid,) = app[STORE].db.execute("SELECT pg_backend_pid()").fetchone()
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        answers = []
        async with aiohttp.ClientSession() as session:
            for _ in range(2):
                async with session.get(server.make_url("/healthz")) as response:
                    answers.append((response.status, await response.json()))
    finally:
        await server.close()
    assert answers == [(503, {"ok": False, "database": "unavailable"}), (200, {"ok": True})]
    (said,) = [r for r in caplog.records if r.name == "bot.web" and r.levelno >= logging.WARNING]
    assert said.exc_info is None and "unavailable" in said.getMessage()
    assert all(r.exc_info is None for r in caplog.records)


async def serving(tmp_path: Path, port: int, env: dict[str, str]) -> asyncio.subprocess.Process:
    """`invoicebot run` on `port`, once it answers /healthz (output kept for the test)."""
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "bot.cli", "run", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    assert await response.json() == {"ok": True}
                    return process
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
    process.kill()
    raise AssertionError("invoicebot run never answered /healthz")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_run_serves_health_until_stopped(tmp_path: Path, signum: signal.Signals) -> None:
    """A container manager stops with SIGTERM, a person with Ctrl-C: both stop cleanly,
    the database closed, a sqlite file's write-ahead log folded back into the file (so a
    copy of the stopped bot's file alone holds everything)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    keep = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    env = {**keep, **startable(), "INVOICEBOT_DATABASE": str(tmp_path / "run.sqlite")}
    process = await serving(tmp_path, port, env)
    try:
        assert (tmp_path / "run.sqlite").exists()
    finally:
        process.send_signal(signum)
        output = (await asyncio.wait_for(process.communicate(), 20))[0].decode()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert "stopped" in output
    assert "will be unused" not in output, "Bolt's warning about the token it is also given"
    assert not (tmp_path / "run.sqlite-wal").exists()


def test_the_bot_listens_with_a_long_queue(tmp_path: Path) -> None:
    """A storm of payers landing at once must queue: with asyncio's default of 128 the
    kernel dropped connections, which came back only after TCP's 1 s retry."""
    script = (
        "import asyncio, sys, bot.cli as cli\n"
        "from aiohttp import web\n"
        "seen = []\n"
        "class Site(web.SockSite):\n"
        "    def __init__(self, runner, sock, **kw):\n"
        "        seen.append(kw.get('backlog'))\n"
        "        super().__init__(runner, sock, **kw)\n"
        "    async def start(self):\n"
        "        print('backlog', seen[0], flush=True)\n"
        "        raise SystemExit(0)\n"
        "web.SockSite = Site\n"
        "sys.exit(cli.main(['run', '--host', '127.0.0.1', '--port', sys.argv[1]]))\n"
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "SYSTEMROOT") if k in os.environ}
    result = subprocess.run(
        [sys.executable, "-c", script, str(port)],
        capture_output=True,
        text=True,
        env={
            **keep,
            **startable(),
            "INVOICEBOT_DATABASE": str(tmp_path / "run.sqlite"),
        },
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert "backlog 2048" in result.stdout, result.stdout + result.stderr


async def test_a_second_bot_on_the_same_sqlite_file_is_refused(tmp_path: Path) -> None:
    """It would take the first one's payments in flight for interrupted."""
    env = {
        **{k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ},
        **startable(),
        "INVOICEBOT_DATABASE": str(tmp_path / "run.sqlite"),
    }
    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    first = await serving(tmp_path, ports[0], env)
    try:
        second = await asyncio.create_subprocess_exec(
            *[
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                "--host",
                "127.0.0.1",
                "--port",
                str(ports[1]),
            ],
            env=env,
            cwd=tmp_path,
            stderr=asyncio.subprocess.PIPE,
        )
        said = (await asyncio.wait_for(second.communicate(), 30))[1].decode()
        assert second.returncode == 2, said
        assert "another invoicebot is serving" in said and "Traceback" not in said
        section = "Several processes on PostgreSQL"
        assert f"README, {section}" in said, "the section that says how to run several"
        readme = (Path(__file__).parents[1] / "README.md").read_text()
        assert f"\n## {section}\n" in readme
    finally:
        first.send_signal(signal.SIGTERM)
        await asyncio.wait_for(first.communicate(), 20)
    assert first.returncode == 0


def test_a_billing_channel_name_instead_of_an_id_is_refused(tmp_path: Path) -> None:
    """Slack's history and update methods take ids only: a #name would break the lookup
    that keeps confirmations from being posted twice."""
    result = run(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="s",
        INVOICEBOT_PUBLIC_URL="https://bot.example.test",
        INVOICEBOT_SECRET_KEY=generate_key(),
        INVOICEBOT_BILLING_CHANNEL="#billing",
    )
    assert result.returncode == 2
    assert "INVOICEBOT_BILLING_CHANNEL" in result.stdout + result.stderr
    assert "channel id" in result.stdout + result.stderr


def test_run_loads_no_development_tool(tmp_path: Path) -> None:
    """Sandboxes, their kit and the local Slack are for the demo and tests only."""
    script = (
        "import sys, bot.cli as cli\n"
        "async def serve(settings, app):\n"
        "    tools = ('sandbox', 'slack_emulator', 'bot.demo')\n"
        "    print(sorted(m for m in sys.modules if any(t in m for t in tools)))\n"
        "cli._serve = serve\n"
        "sys.exit(cli.main(['run']))\n"
    )
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "SYSTEMROOT") if k in os.environ}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={
            **keep,
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
            **startable(),
            "INVOICEBOT_DATABASE": str(tmp_path / "run.sqlite"),
        },
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_run_starts_without_the_garbage_collector_and_serves_with_it(tmp_path: Path) -> None:
    """Start-up turns the collector off (its passes over all that loading allocates cost
    some 40 ms); a bot that served with it off would grow without bound."""
    script = (
        "import gc, logging, os, signal, sys, bot.cli as cli, bot.web\n"
        "make = bot.web.create_app\n"
        "def create_app(*args):\n"
        "    print('starting', gc.isenabled(), flush=True)\n"
        "    return make(*args)\n"
        "bot.web.create_app = create_app\n"
        "class Listening(logging.Handler):\n"
        "    def emit(self, record):\n"
        "        if record.getMessage().startswith('listening'):\n"
        "            print('serving', gc.isenabled(), gc.get_freeze_count() > 0, flush=True)\n"
        "            os.kill(os.getpid(), signal.SIGTERM)\n"
        "logging.getLogger('invoicebot').addHandler(Listening())\n"
        "code = cli.main(['run', '--host', '127.0.0.1', '--port', sys.argv[1]])\n"
        "print('stopped', gc.isenabled(), flush=True)\n"
        "sys.exit(code)\n"
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "SYSTEMROOT") if k in os.environ}
    result = subprocess.run(
        [sys.executable, "-c", script, str(port)],
        capture_output=True,
        text=True,
        env={
            **keep,
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
            **startable(),
            "INVOICEBOT_DATABASE": str(tmp_path / "run.sqlite"),
        },
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == [
        "starting False",
        "serving True True",
        "stopped True",
    ], result.stdout


def test_the_command_line_imports_the_bot_when_a_command_runs() -> None:
    """`run` turns the garbage collector off before the bulk of its imports: importing
    `bot.cli` must leave them to the command."""
    script = (
        "import sys, bot.cli\n"
        "heavy = ('aiohttp', 'pydantic', 'sqlite_utils', 'slack_bolt', 'cryptography')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_models_build_their_validators_when_first_used_not_at_start() -> None:
    """Few models are used before `run` serves; building the rest at import cost its
    start-up some 25 ms."""
    script = (
        "import pydantic, bot.web, bot.models, bot.money\n"
        "from bot.plugins import make_plugin_manager\n"
        "import plugins.i3d.wire, plugins.payfirma.wire, plugins.pingproxies.wire\n"
        "make_plugin_manager()\n"
        "modules = (bot.models, plugins.i3d.wire, plugins.payfirma.wire,\n"
        "           plugins.pingproxies.wire)\n"
        "models = [v for m in modules for v in vars(m).values()\n"
        "          if isinstance(v, type) and issubclass(v, pydantic.BaseModel)\n"
        "          and v.__module__ == m.__name__]\n"
        "print(len(models) > 30, [m.__name__ for m in models if m.__pydantic_complete__],\n"
        "      bot.money.Money.__pydantic_complete__)\n"
        "print(bot.money.Money.of('1.50', 'eur'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.splitlines() == ["True [] False", "€1.50"]


def test_a_refused_start_leaves_the_garbage_collector_on(tmp_path: Path) -> None:
    """`invoicebot.cli.main` may run inside another program, which keeps its collector."""
    script = "import gc, sys, bot.cli as cli\nprint(cli.main(['run']), gc.isenabled())\n"
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "SYSTEMROOT") if k in os.environ}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**keep, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == "2 True", result.stderr


def test_migrate_brings_a_database_up_to_date_and_says_so(database: str) -> None:
    """On sqlite and on PostgreSQL, whose URL's password is never printed."""
    database = database.replace("invoicebot@", "invoicebot:db-password-1@")
    command = [sys.executable, "-m", "bot.cli", "migrate", "--database", database]
    first = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert first.returncode == 0 and "applied 001_initial" in first.stdout, first.stderr
    assert "db-password-1" not in first.stdout + first.stderr
    again = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 0 and again.stdout.strip().endswith("up to date")
    from bot.store import MIGRATIONS, Store, applied_migrations

    store = Store(database)  # a migrated database opens with nothing left to do
    applied = set(applied_migrations(store.db))
    store.close()
    assert applied == {name for name, _ in MIGRATIONS}


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("invoicebot")]
    return line


def test_an_approval_bracket_for_a_provider_not_loaded_is_refused(tmp_path: Path) -> None:
    """A mistyped provider would make its bracket apply to nothing, silently."""
    line = _one_line(
        run(
            tmp_path,
            **startable(),
            INVOICEBOT_DATABASE=str(tmp_path / "run.sqlite"),
            INVOICEBOT_APPROVALS="i3dd EUR 500 1 U0A",
        )
    )
    assert "INVOICEBOT_APPROVALS names i3dd" in line and "i3d" in line


def test_migrate_reads_the_database_from_dot_env_as_run_does(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("INVOICEBOT_DATABASE=from-dot-env.sqlite\n")
    result = _cli(tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-dot-env.sqlite").exists()
    assert not (tmp_path / "invoicebot.sqlite").exists()


@pytest.mark.parametrize(
    "database",
    [
        "postgressql://bot@127.0.0.1/bot",
        "mysql://bot@127.0.0.1/bot",
        "postgresql:/bot@127.0.0.1/bot",
        "host=127.0.0.1 dbname=bot",
        "sslmode=require host=127.0.0.1",
    ],
)
def test_a_mistyped_database_is_refused_not_made_a_sqlite_file(
    tmp_path: Path, database: str
) -> None:
    """Taken for a file name, it would start the bot on an empty database."""
    line = _one_line(
        run(
            tmp_path,
            **startable(),
            INVOICEBOT_DATABASE=database,
        )
    )
    assert "INVOICEBOT_DATABASE" in line and "postgresql://" in line
    assert "Value error" not in line
    assert "INVOICEBOT_DATABASE" in _one_line(
        _cli(tmp_path, "migrate", INVOICEBOT_DATABASE=database)
    )
    assert "--database" in _one_line(_cli(tmp_path, "migrate", "--database", database))
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_postgresql_is_one_line_without_the_password(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://bot:db-password-2@127.0.0.1:{port}/bot?connect_timeout=2"
    line = _one_line(_cli(tmp_path, "migrate", "--database", url))
    assert "cannot connect" in line and f"127.0.0.1:{port}" in line
    line = _one_line(
        run(
            tmp_path,
            **startable(),
            INVOICEBOT_DATABASE=url,
        )
    )
    assert "cannot connect" in line
    assert "db-password-2" not in line
    for hidden in (  # however the password is written, it is not printed
        f"postgresql://bot@127.0.0.1:{port}/bot?password=db-password-3&connect_timeout=2",
        f"postgresql://bot:db-pass#word-4@127.0.0.1:{port}/bot",
        f"postgresql://bot:db-pass%word-5@127.0.0.1:{port}/bot",
        f"postgresql://bot:db-password-6@127.0.0.1:{port}/bot?no_such_option=1",
    ):
        result = _cli(tmp_path, "migrate", "--database", hidden)
        assert "db-pass" not in _one_line(result) + result.stdout, hidden


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a database, " * 100)
    assert "cannot open the sqlite file" in _one_line(
        _cli(tmp_path, "migrate", "--database", str(tmp_path / "notes.txt"))
    )


def test_a_taken_port_or_an_impossible_one_is_said_plainly(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _cli(
            tmp_path,
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            **startable(),
            INVOICEBOT_DATABASE=str(tmp_path / "run.sqlite"),
        )
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in _one_line(result)
    assert not (tmp_path / "run.sqlite").exists(), "stopped before touching the database"
    line = _one_line(
        run(
            tmp_path,
            **startable(),
            INVOICEBOT_PORT="99999",
        )
    )
    assert "INVOICEBOT_PORT" in line
    for command in ("run", "demo"):
        result = _cli(tmp_path, command, "--port", "99999")
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "from 1 to 65535" in result.stderr


async def test_the_outgoing_session_keeps_no_cookies() -> None:
    """A cookie one workspace's call collected must not ride on another's."""
    seen: list[str | None] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Cookie"))
        response = web.Response(text="ok")
        response.set_cookie("session", "workspace-a")
        return response

    app = web.Application()
    app.router.add_get("/", answer)
    async with TestServer(app, host="127.0.0.1") as server, outgoing_session() as session:
        for _ in range(2):
            async with session.get(server.make_url("/")) as response:
                assert response.cookies["session"].value == "workspace-a"
    assert seen == [None, None]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("INVOICEBOT_PUBLIC_URL", "invoicebot.example.com"),
        ("INVOICEBOT_PUBLIC_URL", "ftp://invoicebot.example.com"),
        ("SLACK_API_URL", "slack.com/api"),
        ("SLACK_AUTHORIZE_URL", "https://"),
    ],
)
def test_an_address_without_its_scheme_or_host_is_refused(
    tmp_path: Path, name: str, value: str
) -> None:
    """A public URL typed as the manifest's bare host would make every pay link and
    landing unusable; a Slack address likewise every call. Both are said at start-up."""
    result = run(tmp_path, **{**startable(), name: value})
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("invoicebot:")]
    assert f"invalid {name}" in line
    assert "https://" in line
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SLACK_BOT_TOKEN", "xoxp-1-user-token", "xoxb-"),
        ("SLACK_APP_TOKEN", "xoxb-1-bot-token", "xapp-"),
    ],
)
def test_a_token_pasted_into_the_wrong_variable_is_refused(
    tmp_path: Path, name: str, value: str, expected: str
) -> None:
    """Slack's pages show several tokens side by side. A user token as the bot's would
    start and fail only when a confirmation is due; a bot token as the app-level one
    would retry Socket Mode for ever. The line names the variable, never the token."""
    result = run(tmp_path, **{**startable(), name: value, "SLACK_API_URL": "http://127.0.0.1:9/"})
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("invoicebot:")]
    assert f"invalid {name}" in line and expected in line
    assert value not in result.stderr and "Traceback" not in result.stderr


async def test_a_token_left_empty_in_dot_env_counts_as_unset(tmp_path: Path) -> None:
    """A `.env` kept from a template lists every variable: `SLACK_BOT_TOKEN=` and
    `SLACK_APP_TOKEN=` left empty must mean installing by OAuth over HTTP, not Socket
    Mode with an empty token retried for ever and no install page."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = {
        "SLACK_BOT_TOKEN": "",
        "SLACK_APP_TOKEN": "",
        "SLACK_CLIENT_ID": "1.2",
        "SLACK_CLIENT_SECRET": "c",
        "SLACK_SIGNING_SECRET": "s",
        "INVOICEBOT_PUBLIC_URL": "https://bot.example.test",
        "INVOICEBOT_SECRET_KEY": generate_key(),
        "INVOICEBOT_BILLING_CHANNEL": "",
        "INVOICEBOT_DATABASE": str(tmp_path / "run.sqlite"),
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
    }
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    keep = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    process = await serving(tmp_path, port, keep)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"http://127.0.0.1:{port}/slack/install", allow_redirects=False
            ) as response,
        ):
            assert response.status == 302
            assert "client_id=1.2" in response.headers["Location"]
    finally:
        process.kill()
        output = (await process.communicate())[0].decode()
    assert "Socket Mode" not in output


async def test_socket_mode_stops_while_slack_cannot_be_reached(tmp_path: Path) -> None:
    """Socket Mode retries its connection for as long as Slack cannot be reached (or
    refuses the app token); a SIGTERM or Ctrl-C meanwhile must still stop the bot, not
    wait for a connection that may never come."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    keep = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    env = {**keep, **startable(), "INVOICEBOT_DATABASE": str(tmp_path / "run.sqlite")}
    env.update(SLACK_APP_TOKEN="xapp-1", SLACK_API_URL="http://127.0.0.1:9/api/")
    process = await serving(tmp_path, port, env)
    await asyncio.sleep(1.5)  # past the first refused connection
    process.send_signal(signal.SIGTERM)
    try:
        output = (await asyncio.wait_for(process.communicate(), 10))[0].decode()
    except TimeoutError:
        process.kill()
        await process.communicate()
        raise AssertionError("invoicebot run ignored SIGTERM while connecting") from None
    assert process.returncode == 0, output
    assert "stopped" in output


@pytest.mark.parametrize("admins", [{}, {"INVOICEBOT_ADMINS": "U0ALEX"}], ids=["none", "set"])
async def test_a_workspace_without_admins_is_told_at_start(
    tmp_path: Path, admins: dict[str, str]
) -> None:
    """With one bot token nobody is an admin until INVOICEBOT_ADMINS names someone, and
    without one no provider can ever be connected: the start-up says so, once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    keep = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    env = {**keep, **startable(), **admins, "INVOICEBOT_DATABASE": str(tmp_path / "run.sqlite")}
    process = await serving(tmp_path, port, env)
    process.send_signal(signal.SIGTERM)
    output = (await asyncio.wait_for(process.communicate(), 20))[0].decode()
    warned = [line for line in output.splitlines() if "INVOICEBOT_ADMINS" in line]
    if admins:
        assert warned == []
    else:
        assert len(warned) == 1 and "connect" in warned[0], output


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("INVOICEBOT_ADMINS", "alex"),
        ("INVOICEBOT_PAYERS", "U0PAT,@pat"),
        ("INVOICEBOT_ADMIN_GROUP", "finance"),
        ("INVOICEBOT_PAYER_GROUP", "U0PAT"),
    ],
)
def test_people_named_by_handle_instead_of_id_are_refused(
    tmp_path: Path, name: str, value: str
) -> None:
    """Slack checks ids, not names: `alex` would match nobody, so nobody could pay or
    connect a provider, and nothing would say why."""
    result = run(tmp_path, **{**startable(), name: value, "INVOICEBOT_PORT": "not-a-port"})
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("invoicebot:")]
    assert f"{name} ({value.split(',')[-1]}: write" in line, line
    assert ("user group id such as S0" if name.endswith("_GROUP") else "member id") in line


@pytest.mark.parametrize("name", ["INVOICEBOT_ADMIN_GROUP", "INVOICEBOT_PAYER_GROUP"])
def test_a_group_of_only_spaces_is_named_and_said_to_be_blank(tmp_path: Path, name: str) -> None:
    """An empty value is ignored, but spaces are not: the message says which variable
    holds them and what to do, never a reason that starts with a bare colon."""
    result = run(tmp_path, **{**startable(), name: "   ", "INVOICEBOT_PORT": "not-a-port"})
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("invoicebot:")]
    assert f"{name} (is only spaces: write a user group id such as S0" in line, line
    assert "(:" not in line and "leave it unset" in line
