"""`invoicebot run | demo | migrate | plugins | secret-key`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import signal
import socket
import sys
from dataclasses import asdict
from pathlib import Path
from typing import IO, TYPE_CHECKING

from bot import redaction

if TYPE_CHECKING:
    from aiohttp import web

    from bot.settings import Settings

try:
    import fcntl
except ImportError:  # not on Windows: a sqlite file's single bot is then on trust
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("invoicebot")


def _fail(message: str) -> int:
    print(f"invoicebot: {message}", file=sys.stderr)
    return 2


def cmd_plugins(args: argparse.Namespace) -> int:
    from bot.plugins import describe, describe_unloaded, make_plugin_manager

    pm = make_plugin_manager(plugins_dir=args.plugins_dir, skip_broken=args.all)
    infos = describe(pm, include_builtin=args.all)
    if args.all:
        infos += describe_unloaded(pm)
    print(json.dumps([asdict(info) for info in infos], indent=2))
    return 0


LISTEN_BACKLOG = 2048
"""Connections the kernel queues before the bot accepts them (capped by somaxconn)."""


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the database's tables up to this version, then exit: run it before starting
    a new version (`invoicebot run` migrates too, but a rollout should not wait on it)."""
    from bot.engine import DatabaseUnavailable, database_problem, open_engine, shown
    from bot.settings import MissingSettings, load_database
    from bot.store import migrate

    try:
        database = args.database or load_database()
        if problem := database_problem(database):
            raise MissingSettings(f"invalid --database ({problem})")
        db = open_engine(database)
    except (MissingSettings, DatabaseUnavailable) as error:
        return _fail(f"cannot migrate: {error}.")
    try:
        applied = migrate(db)
    finally:
        db.close()
    name = shown(database)
    print(f"{name}: applied {', '.join(applied)}" if applied else f"{name}: up to date")
    return 0


def cmd_secret_key(args: argparse.Namespace) -> int:
    from bot.credentials import generate_key

    print(generate_key())
    return 0


class CannotListen(Exception):
    """The bot's address cannot be bound; said in one line."""


SHUTDOWN_GRACE = 5.0
"""Seconds a stopping bot gives requests already in progress. Lists already acknowledged
then get up to `LISTENERS_GRACE` more: allow 20 s between SIGTERM and SIGKILL."""


def _listening_socket(host: str, port: int) -> socket.socket:
    """The bot's socket, bound before anything else starts: a second bot on a taken port
    stops before it opens the database, where its start-up would take over the running
    bot's payments in flight and its queued posts."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        # A storm of payers landing at once (everyone clicks Pay after the reminder) must
        # queue, not be refused: aiohttp's default backlog of 128 dropped connections.
        return socket.create_server((host, port), family=family[0][0], backlog=LISTEN_BACKLOG)
    except OSError as error:  # taken, not this machine's address, or no such host
        reason = error.strerror or str(error)
        raise CannotListen(f"cannot listen on {host}:{port}: {reason}") from None


def _serve_alone(database: str) -> IO[str] | None:
    """Hold a sqlite file for this process while it runs (the lock goes with the process,
    even on kill -9). A second bot on the same file would take the first one's payments
    in flight for interrupted and its queued posts for abandoned; PostgreSQL is the way
    to run several."""
    from bot.engine import DatabaseUnavailable, is_url

    if is_url(database) or fcntl is None:
        return None
    path = Path(database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = (path.parent / f"{path.name}.lock").open("a")
    except OSError as error:
        raise DatabaseUnavailable(f"cannot open the sqlite file {path}: {error}") from None
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise DatabaseUnavailable(
            f"another invoicebot is serving {path}; a sqlite file is served by one process "
            "(for several, use PostgreSQL: see README, Several processes on PostgreSQL)"
        ) from None
    return lock


async def _drain_socket_mode(within: float) -> None:
    """Let requests that came over the socket answer before it closes: Socket Mode runs
    each in a task of its own that nothing else waits for."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        busy = [
            task
            for task in asyncio.all_tasks()
            if task.get_coro().__qualname__.endswith("run_message_listeners")  # type: ignore[union-attr]
        ]
        if not busy:
            return
        await asyncio.wait(busy, timeout=deadline - asyncio.get_running_loop().time())


async def _serve(settings: Settings, app: web.Application) -> None:
    """Serve until SIGTERM or SIGINT, then stop as one would by hand: stop listening,
    finish requests in progress, post lists already acknowledged, close the database (a
    sqlite file's write-ahead log is folded back in). A container manager stops a
    process with SIGTERM, whose default would end it mid-write. A second signal ends it
    at once, as a person pressing Ctrl-C again expects."""
    from aiohttp import web

    from bot.engine import DatabaseUnavailable
    from bot.web import BOLT

    sock = _listening_socket(settings.host, settings.port)
    try:
        alone = _serve_alone(settings.database)
    except DatabaseUnavailable:
        sock.close()
        raise
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stop() -> None:
        stopping.set()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    # Slack's requests are many and alike: no access log.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE)
    await runner.setup()
    await web.SockSite(runner, sock, backlog=LISTEN_BACKLOG).start()  # asyncio listens again
    # Everything loaded so far lives as long as the process: leave it out of the garbage
    # collector's full passes, which would otherwise stall the event loop for tens of ms;
    # and collect the young generation less often, as a burst of commands keeps many
    # short-lived objects (measured with `python -m bench`: p99 ack latency).
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    log.info("listening on http://%s:%s", settings.host, settings.port)
    try:
        if settings.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            assert settings.slack_app_token is not None
            handler = AsyncSocketModeHandler(app[BOLT], settings.slack_app_token.get_secret_value())
            log.info("connecting to Slack in Socket Mode")
            # The client retries a refused connection for ever: a stop must not wait on it.
            connecting = asyncio.ensure_future(handler.connect_async())  # type: ignore[no-untyped-call]
            waiting = asyncio.ensure_future(stopping.wait())
            try:
                await asyncio.wait({connecting, waiting}, return_when=asyncio.FIRST_COMPLETED)
                await waiting
                await _drain_socket_mode(SHUTDOWN_GRACE)
            finally:
                connecting.cancel()
                await asyncio.gather(connecting, return_exceptions=True)
                await handler.close_async()  # type: ignore[no-untyped-call]
        else:
            await stopping.wait()
        log.info("stopping")
    finally:
        await runner.cleanup()
        if alone is not None:
            alone.close()
        log.info("stopped")


def cmd_run(args: argparse.Namespace) -> int:
    # Loading the bot allocates much and frees little (modules, classes, pydantic
    # schemas), and the collector's passes over it cost some 40 ms of the start-up:
    # it is off while loading. What loading made then stays out of its passes for good
    # (`gc.freeze`, as `_serve` does once listening; a few thousand objects of garbage
    # among it, the same at every start), and it is on again before the database opens.
    gc.disable()
    try:
        loaded = _load(args)
        if not isinstance(loaded, int):
            gc.freeze()
    finally:
        gc.enable()
    if isinstance(loaded, int):
        return loaded
    from bot.engine import DatabaseUnavailable

    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C before serving began
            asyncio.run(_serve(*loaded))
    except (DatabaseUnavailable, CannotListen) as error:
        return _fail(f"cannot start: {error}.")
    return 0


def _load(args: argparse.Namespace) -> tuple[Settings, web.Application] | int:
    """The settings and the app to serve, or the exit status of a refused start."""
    from bot.plugins import make_plugin_manager, providers
    from bot.settings import MissingSettings, load_settings
    from bot.web import create_app

    try:
        settings = load_settings()
    except MissingSettings as error:
        return _fail(f"cannot start: {error}. Set them in the environment or in .env (see README).")
    if args.host:
        settings = settings.model_copy(update={"host": args.host})
    if args.port:
        settings = settings.model_copy(update={"port": args.port})
    if not settings.oauth and not settings.admins and not settings.admin_group:
        # By OAuth the installer is the first admin; with one bot token only these name one.
        log.warning(
            "nobody is an invoicebot admin, so no provider can be connected: set "
            "INVOICEBOT_ADMINS to your Slack member id (profile, ⋮, Copy member ID)"
        )
    pm = make_plugin_manager(plugins_dir=args.plugins_dir)
    loaded = sorted(providers(pm))
    log.info("providers: %s", ", ".join(loaded) or "none")
    named = {b.provider for b in settings.approval_policy.brackets if b.provider}
    if unknown := sorted(named - set(loaded)):
        return _fail(
            f"cannot start: INVOICEBOT_APPROVALS names {', '.join(unknown)}, which is not a "
            f"loaded provider (loaded: {', '.join(loaded) or 'none'})."
        )
    return settings, create_app(settings, pm)


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import DemoOptions, DemoUnavailable, run_demo
    from bot.plugins import make_plugin_manager

    pm = make_plugin_manager(plugins_dir=args.plugins_dir)
    options = DemoOptions(port=args.port, data_dir=args.data_dir, reset=args.reset)
    try:
        asyncio.run(run_demo(options, pm))
    except (OSError, DemoUnavailable) as error:
        return _fail(f"cannot start the demo: {error}")
    return 0


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: a number from 1 to 65535")
    return port


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="invoicebot", description="See and settle invoices in Slack."
    )
    root.add_argument(
        "--plugins-dir", type=Path, help="also load every *.py file in this directory as a plugin"
    )
    sub = root.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve Slack (HTTP, or Socket Mode with SLACK_APP_TOKEN)")
    run.add_argument("--host", help="address to listen on (default: INVOICEBOT_HOST, else 0.0.0.0)")
    run.add_argument(
        "--port", type=_port, help="port to listen on (default: INVOICEBOT_PORT, else 3000)"
    )
    run.set_defaults(func=cmd_run)
    demo = sub.add_parser(
        "demo", help="everything on this machine: bot, provider sandboxes, a local Slack"
    )
    demo.add_argument("--port", type=_port, default=8000, help="the local Slack's port")
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=Path("invoicebot-demo"),
        help="database (kept after stopping, cleared on the next start) and key",
    )
    demo.add_argument(
        "--reset",
        action="store_true",
        help="also forget the data directory's secret key (every start has a fresh "
        "database, as the sandboxes start afresh)",
    )
    demo.set_defaults(func=cmd_demo)
    plugins = sub.add_parser("plugins", help="list loaded plugins as JSON")
    plugins.add_argument(
        "--all",
        action="store_true",
        help="also installed plugins that did not load: disabled by INVOICEBOT_PLUGINS, "
        "or unavailable (with the import error)",
    )
    plugins.set_defaults(func=cmd_plugins)
    migrate = sub.add_parser(
        "migrate", help="bring the database up to this version's tables, then exit"
    )
    migrate.add_argument(
        "--database",
        help="a sqlite path or a postgresql:// URL (default: INVOICEBOT_DATABASE, else "
        "invoicebot.sqlite)",
    )
    migrate.set_defaults(func=cmd_migrate)
    key = sub.add_parser("secret-key", help="print a new INVOICEBOT_SECRET_KEY")
    key.set_defaults(func=cmd_secret_key)
    return root


def main(argv: list[str] | None = None) -> int:
    redaction.install()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except Exception as error:
        from bot.plugins import PluginError  # already imported when it is one

        if isinstance(error, PluginError):
            return _fail(str(error))
        raise


if __name__ == "__main__":
    sys.exit(main())
