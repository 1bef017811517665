"""The aiohttp application: Slack's request URL, the pay and landing pages, health.

One factory builds it; shared resources (database, HTTP session, Bolt app, background
poller and outbox sender) are opened and closed in `cleanup_ctx` and kept under typed
`AppKey`s, never in module globals.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pluggy
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.signature import SignatureVerifier

from bot import pages, redaction
from bot.access import Access
from bot.approvals import Approvals
from bot.checkout import Checkout
from bot.clock import clock_from
from bot.connections import Connections
from bot.credentials import CredentialBox
from bot.installations import Installations
from bot.lost_creates import LostCreates
from bot.notifier import SlackNotifier
from bot.oauth_states import OAuthStates
from bot.outbox import OutboxSender
from bot.payments import Payments
from bot.plugins import providers
from bot.poller import Poller
from bot.scheduler import Scheduler
from bot.settings import Settings
from bot.settlement import IN_FLIGHT_LIMIT, Settlement
from bot.singleflight import SingleFlight
from bot.slack import approvals as slack_approvals
from bot.slack import intake
from bot.slack.app import ANSWER_BY, ANSWER_SECONDS, OAuth, make_bolt_app, make_web_client
from bot.slack.approvals_paid import PaidApprovals
from bot.slack.errors import finish_listeners
from bot.slack.priority import AckFirst
from bot.slack.progress import STANDING_IN
from bot.slack.services import Services
from bot.snapshots import ForgetOnSettlement, Snapshots
from bot.store import AUDIT_FLUSH_SECONDS, Store
from bot.team_settings import TeamSettings
from bot.timetable import parse_zone
from bot.workspaces import BotTokens, InstalledWorkspaces, SingleWorkspace

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SETTINGS = web.AppKey("settings", Settings)
PLUGINS = web.AppKey("plugins", pluggy.PluginManager)
STORE = web.AppKey("store", Store)
log = logging.getLogger(__name__)


class _UnreadableRequests(logging.Filter):
    """aiohttp logs a request it cannot parse (a request line or header over its limits,
    bytes that are not HTTP) as an ERROR with a traceback, before any handler runs; and a
    body it cannot decode (a compression that is not what it says) the same way, when it
    drains what a handler left unread. Anyone can send those, unsigned, so each becomes
    one INFO line naming what was wrong."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, web.RequestPayloadError):
            error = error.__cause__ or error
        if isinstance(error, (HttpProcessingError, web.RequestPayloadError)):
            record.msg, record.args = (
                "refused a request that is not readable HTTP (%s)",
                (type(error).__name__,),
            )
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info = record.exc_text = None
        return True


logging.getLogger("aiohttp.server").addFilter(_UnreadableRequests())
# aiohttp answers a request it cannot parse before any handler (or `_plain_server_header`)
# runs, with its default `Server: Python/<version> aiohttp/<version>`; that default is
# read from here when each such answer is made.
aiohttp.web_response.SERVER_SOFTWARE = "invoicebot"  # type: ignore[attr-defined]

HTTP = web.AppKey("http", aiohttp.ClientSession)
BOLT = web.AppKey("bolt", AsyncApp)
SERVICES = web.AppKey("services", Services)
POLLER = web.AppKey("poller", Poller)
OUTBOX = web.AppKey("outbox", OutboxSender)
SCHEDULER = web.AppKey("scheduler", Scheduler)

VERIFIER = web.AppKey("verifier", SignatureVerifier)

SLACK_EVENTS_PATH = "/slack/events"
LISTENERS_GRACE = 10.0
"""Seconds a stopping bot gives acked listeners to finish what they started."""
NOTIFIER = "bot.notifier"


async def _flush_audit_forever(store: Store, acks: AckFirst) -> None:
    """Every `AUDIT_FLUSH_SECONDS`, in a gap between acks (or after `acks.patience`): the
    writing thread takes the interpreter's lock once per row, and during a burst of
    commands each of those hand-overs stalled the acks (burst throughput 0.84x of bare
    Bolt with the flush in the burst, 0.87x with it in a gap; `python -m bench`). A
    kill -9 loses the rows not yet flushed: at most this period and the patience."""
    while True:
        await asyncio.sleep(AUDIT_FLUSH_SECONDS)
        await acks.turn()
        try:
            await store.flush_audit_in_background()
        except Exception:
            log.exception("could not write the audit log; retrying")


def _oauth(settings: Settings, store: Store, session: aiohttp.ClientSession) -> OAuth | None:
    """Installs kept in the database, when the bot is installed by OAuth."""
    if not settings.oauth or settings.slack_client_secret is None:
        return None
    installations = Installations(store)
    rotator = AsyncTokenRotator(
        client_id=settings.slack_client_id or "",
        client_secret=settings.slack_client_secret.get_secret_value(),
        # No retries: a refresh whose answer was lost has spent the refresh token.
        client=make_web_client(settings, session, retries=False),
    )
    return OAuth(installations, OAuthStates(store), InstalledWorkspaces(installations, rotator))


def outgoing_session() -> aiohttp.ClientSession:
    """The one client session for Slack and the providers. It keeps no cookies: both
    authenticate by header, and a cookie collected on one workspace's call must never
    ride along on another workspace's call to the same host."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=30), cookie_jar=aiohttp.DummyCookieJar()
    )


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings, pm = app[SETTINGS], app[PLUGINS]
    secret = settings.secret_key.get_secret_value()
    store = Store(settings.database, CredentialBox(secret))
    session = outgoing_session()
    registry = providers(pm)
    teams = TeamSettings(store, settings)
    if pm.get_plugin(NOTIFIER) is None:
        titles = {name: cls.title for name, cls in registry.items()}
        pm.register(
            SlackNotifier(teams.billing_channel, titles, notify_failures=settings.notify_failures),
            name=NOTIFIER,
        )
    client = make_web_client(settings, session)
    oauth = _oauth(settings, store, session)
    tokens: BotTokens = oauth.workspaces if oauth else SingleWorkspace(client.token or "")
    connections = Connections(store, registry, session)
    payments = Payments(store, pm)
    settlement = Settlement(
        payments,
        connections,
        first_delay=settings.poll_first_delay,
        max_delay=settings.poll_max_delay,
    )
    approvals = Approvals(store, settings.approval_policy)
    svc = Services(
        settings=settings,
        store=store,
        connections=connections,
        payments=payments,
        checkout=Checkout(
            connections,
            payments,
            settlement,
            settings.public_url,
            approvals,
            zone=parse_zone(settings.timezone),
        ),
        access=Access(teams, client, tokens),
        teams=teams,
        approvals=approvals,
        snapshots=Snapshots(fresh=settings.snapshot_seconds),
        clock=clock_from(settings.clock_file),
    )
    pm.register(ForgetOnSettlement(svc.snapshots), name=f"snapshots.{id(svc.snapshots)}")
    titles = {name: cls.title for name, cls in registry.items()}
    paid_approvals = pm.register(
        PaidApprovals(approvals, titles), name=f"approvals.{id(approvals)}"
    )
    sender = OutboxSender(
        store,
        make_web_client(settings, session, retries=False),
        session,
        tokens=oauth.workspaces if oauth else None,
        lease=settings.outbox_lease,
        admins=svc.access.admins_to_tell,
        billing=teams.billing_channel,
    )
    settlement.after_settled.append(sender.wake.set)
    approvals.after_change.append(sender.wake.set)
    poller = Poller(settlement, lease=settings.check_lease)
    lost = LostCreates(store, connections, svc.checkout, teams.billing_channel, sender.wake.set)
    poller.rounds.append(lost.run_once)
    poller.rounds.append(connections.forget_old_sign_ins)
    scheduler = Scheduler(
        runs=svc.runs,
        connections=connections,
        snapshots=svc.snapshots,
        access=svc.access,
        timetable=settings.timetable,
        clock=svc.clock,
        billing_channel=teams.billing_channel,
        wake=sender.wake.set,
        approvals=svc.approvals,
    )
    svc.runs.release_run_claims()
    # Alone on a sqlite file, every start still CREATED was cut short by our own end; on
    # a shared database another process may be making one now.
    settlement.reconcile_interrupted(
        started_before=time.time() - (IN_FLIGHT_LIMIT if store.shared else 0.0)
    )
    store.release_outbox_claims()
    # Alone on a sqlite file, a click still waiting for its answer was cut short by our
    # own end: its stand-in (or its payment's link) goes now, not minutes after the click.
    for prefix in STANDING_IN:
        store.outbox_due_now(prefix, time.time())
    store.release_check_claims(time.time(), poller.lease)
    # A billing channel set since a request's post was refused (INVOICEBOT_BILLING_CHANNEL).
    slack_approvals.post_where_billing_is_now(svc)
    app[STORE], app[HTTP], app[SERVICES], app[POLLER], app[OUTBOX] = (
        store,
        session,
        svc,
        poller,
        sender,
    )
    app[SCHEDULER] = scheduler
    app[BOLT] = make_bolt_app(settings, client, svc, oauth)
    # In Socket Mode Slack sends nothing over HTTP: a random secret refuses every request.
    signing = settings.slack_signing_secret
    app[VERIFIER] = SignatureVerifier(
        signing.get_secret_value()
        if signing is not None and not settings.socket_mode
        else secrets.token_hex(32)
    )
    app[pages.PAYMENTS], app[pages.SETTLEMENT] = payments, settlement
    app[pages.SECURE_COOKIES] = settings.https
    app[pages.PAID_PAGES] = pages.PaidPages()
    app[pages.LANDINGS] = SingleFlight()
    app[pages.BUSINESS] = settings.business_name or ""
    app[pages.COOKIE_KEY] = hashlib.sha256(b"invoicebot-landing-cookie:" + secret.encode()).digest()
    tasks = [
        asyncio.create_task(poller.run_forever(), name="payment poller"),
        asyncio.create_task(sender.run_forever(), name="outbox sender"),
        asyncio.create_task(_flush_audit_forever(store, svc.acks), name="audit flusher"),
        asyncio.create_task(slack_approvals.watch_forever(svc, client, tokens), name="approvals"),
        asyncio.create_task(scheduler.run_forever(), name="schedules"),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await finish_listeners(LISTENERS_GRACE)  # a list being posted still reaches Slack
        pm.unregister(name=paid_approvals)  # its store closes next
        await session.close()
        store.close()


async def slack_events(request: web.Request) -> web.StreamResponse:
    """Signature, then shape, then Bolt (see `bot.slack.intake`)."""
    try:
        body = await request.read()
    except web.RequestPayloadError:  # e.g. "gzip" said of bytes that are not
        log.info("refused a Slack request whose body cannot be decoded")
        return web.json_response({"error": "malformed request"}, status=400)
    if intake.is_ssl_check(body):
        return web.Response(status=200)
    if not intake.verified(request.app[VERIFIER], body, request.headers):
        log.info(
            "refused a Slack request with a missing or wrong signature (if Slack's own "
            "requests are refused, SLACK_SIGNING_SECRET is not the app's Signing Secret, "
            "or this machine's clock is off)"
        )
        return web.json_response({"error": "invalid request"}, status=401)
    try:
        bolt_request = intake.read(body.decode("utf-8"), request.query_string, request.headers)
    except (intake.Malformed, UnicodeDecodeError) as problem:
        log.warning("refused a signed Slack request that is malformed: %s", problem)
        return web.json_response({"error": "malformed request"}, status=400)
    if bolt_request.body.get("type") == "app_rate_limited":
        # No inner event for any listener: answered 200, since Slack may turn off an
        # app's events when over 5% of its deliveries in an hour are answered otherwise.
        log.warning(
            "Slack is holding back this app's events from workspace %s (over 30,000 in an "
            "hour): App Home and uninstall events may be missed until the hour is over",
            bolt_request.body.get("team_id"),
        )
        return web.Response(status=200)
    event = intake.delivery(bolt_request.body)
    if event is not None and not request.app[STORE].first_delivery(*event, time.time()):
        log.info("Slack delivered event %s again; it was handled already", event[0])
        return web.Response(status=200)
    bolt = request.app[BOLT]
    ANSWER_BY.set(time.monotonic() + ANSWER_SECONDS)  # inherited by its listeners' tasks
    with request.app[SERVICES].acks.acking():
        response = await bolt.async_dispatch(bolt_request)
    return await to_aiohttp_response(response)


async def slack_oauth(request: web.Request) -> web.StreamResponse:
    """`/slack/install` sends the browser to Slack; Slack sends it back to the redirect."""
    flow = request.app[BOLT].oauth_flow
    if flow is None:
        raise web.HTTPNotFound
    bolt_request = await to_bolt_request(request)
    if request.path == flow.install_path:
        response = await flow.handle_installation(bolt_request)
    else:
        response = await flow.handle_callback(bolt_request)
    return await to_aiohttp_response(response)


async def no_install_page(request: web.Request) -> web.Response:
    """With one bot token there is nothing to install: a person who followed an install
    link reads why, not aiohttp's bare status line."""
    return pages.page(
        "This bot has no install page",
        "<p>This invoicebot is installed with a single bot token, in one workspace, so "
        "there is nothing to install from here. In that workspace, type "
        "<code>/invoices</code> to use it.</p>",
        status=404,
    )


class DatabaseHealth:
    """Whether the last /healthz found the database down: a monitor probes every few
    seconds, and an outage is logged once, not once per probe."""

    def __init__(self) -> None:
        self.down = False


DATABASE_HEALTH = web.AppKey("database_health", DatabaseHealth)


async def healthz(request: web.Request) -> web.Response:
    try:
        request.app[STORE].db.execute("SELECT 1").fetchone()
    except Exception as error:
        return _database_down(request.app[DATABASE_HEALTH], error)
    if request.app[DATABASE_HEALTH].down:
        request.app[DATABASE_HEALTH].down = False
        log.info("/healthz: the database answers again")
    return web.json_response({"ok": True})


def _database_down(health: DatabaseHealth, error: Exception) -> web.Response:
    """503 with a body a monitor reads; one line in the log per outage, no traceback
    (the error's first line names no password: see `bot.postgres`)."""
    if not health.down:
        health.down = True
        reason = str(error).strip().splitlines()[:1] or ["no reason given"]
        log.warning(
            "/healthz: the database is unavailable (%s: %s)", type(error).__name__, reason[0]
        )
    return web.json_response({"ok": False, "database": "unavailable"}, status=503)


@web.middleware
async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Behind a trusted reverse proxy, the scheme and client address it saw are real."""
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    # The last hop is the one the trusted proxy added; earlier ones the client may forge.
    client = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
    if proto in ("http", "https") and client:
        request = request.clone(scheme=proto, remote=client)
    elif proto in ("http", "https"):
        request = request.clone(scheme=proto)
    elif client:
        request = request.clone(remote=client)
    return await handler(request)


async def _plain_server_header(request: web.Request, response: web.StreamResponse) -> None:
    """No library versions for anyone to look up."""
    response.headers["Server"] = "invoicebot"


def create_app(settings: Settings, pm: pluggy.PluginManager) -> web.Application:
    redaction.install()
    middlewares = [forwarded] if settings.trust_proxy else []
    app = web.Application(middlewares=[*middlewares, pages.plain_errors])
    app.on_response_prepare.append(_plain_server_header)
    app[SETTINGS] = settings
    app[PLUGINS] = pm
    app[DATABASE_HEALTH] = DatabaseHealth()
    app.cleanup_ctx.append(_resources)
    app.router.add_post(SLACK_EVENTS_PATH, slack_events)
    app.router.add_get("/healthz", healthz)
    if settings.oauth:
        app.router.add_get(pages.SLACK_INSTALL_PATH, slack_oauth)
        app.router.add_get(pages.SLACK_REDIRECT_PATH, slack_oauth)
    else:
        app.router.add_get(pages.SLACK_INSTALL_PATH, no_install_page)
        app.router.add_get(pages.SLACK_REDIRECT_PATH, no_install_page)
    pages.add_routes(app)
    return app
