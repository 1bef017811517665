"""Two workspaces install invoicebot through the OAuth flow, on loopback with real HTTP and
signed requests, against the emulator's stand-in for Slack's OAuth endpoints.

Each workspace sees only its own providers, invoices, settings and payments; tokens are
refreshed once however many processes ask; a workspace that removes the app takes its
tokens and provider credentials with it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from yarl import URL

from bot.approvals_policy import Policy
from bot.credentials import generate_key
from bot.installations import Installations
from bot.models import PaymentState
from bot.plugins import make_plugin_manager
from bot.settings import Settings
from bot.web import OUTBOX, SCHEDULER, SERVICES, STORE, create_app
from plugins.i3d import I3DCredentials
from plugins.i3d.sandbox import SANDBOX
from slack_emulator import (
    OAUTH,
    Channel,
    Emulator,
    Message,
    OAuthApp,
    OAuthServer,
    UserGroup,
    Workspace,
)
from slack_emulator import create_app as create_emulator
from slack_emulator.delivery import signed_headers
from tests.scenario.conftest import I3D_TOKEN, held_port
from tests.scenario.harness import pay_in_browser
from tests.test_installations import issued_long_ago
from tests.test_outcome_messages import paid

ACME, GLOBEX = "T0TEAM", "T0GLOBEX"
ADMIN, PAYER, BILLING, GENERAL = "U0ADMIN", "U0PAYER", "C0BILLING", "C0GENERAL"
VIEWER = "U0VIEWER"
ACME_GROUPS = [
    UserGroup("S0PAYERS", "payers", "Payers", [PAYER]),
    UserGroup("S0FINANCE", "finance", "Finance", [VIEWER]),
]
GLOBEX_GROUPS = [UserGroup("S0GLOBEXOPS", "ops", "Globex Ops", [PAYER, VIEWER])]
SECRET = "oauth-scenario-signing-secret"


@dataclass
class Installed:
    oauth: OAuthServer
    slack: TestServer
    bots: list[TestServer]
    settings: Settings
    browser: aiohttp.ClientSession

    async def wait_for(self, check: Callable[[], object], within: float = 5.0) -> None:
        deadline = time.monotonic() + within
        while not check():
            assert time.monotonic() < deadline, "gave up waiting"
            await asyncio.sleep(0.02)

    def workspace(self, team_id: str) -> Emulator:
        return self.oauth.emulators[team_id]

    async def install(
        self, team_id: str, user: str = ADMIN, *, scopes: list[str] | None = None, org: bool = False
    ) -> tuple[int, str]:
        """What an installer's browser does: our install URL, Slack's consent, back to us.
        `scopes`: as an install link of an older version asked for fewer; `org`: the
        installer chose the workspace's whole Grid organization."""
        bot = self.bots[0]
        async with self.browser.get(
            bot.make_url("/slack/install"), allow_redirects=False
        ) as started:
            assert started.status == 302
            to_slack = URL(started.headers["Location"])
        consent = to_slack.update_query(team=team_id, user=user)
        if scopes is not None:
            consent = consent.update_query(scope=",".join(scopes))
        if org:
            consent = consent.update_query(org="1")
        async with self.browser.get(consent, allow_redirects=False) as slack_answer:
            assert slack_answer.status == 302, await slack_answer.text()
            back = slack_answer.headers["Location"]
        async with self.browser.get(back) as finished:
            return finished.status, await finished.text()


@pytest.fixture
async def installed(database: str, i3d_sandbox: TestServer) -> AsyncIterator[Installed]:
    globex = Workspace(
        team_id=GLOBEX, team_name="Globex & Co", team_domain="globex", usergroups=GLOBEX_GROUPS
    )
    workspaces = [Workspace(usergroups=ACME_GROUPS), globex]
    async with serving(database, i3d_sandbox, workspaces) as running:
        yield running


@asynccontextmanager
async def serving(
    database: str, i3d_sandbox: TestServer, workspaces: list[Workspace], *, org_deploy: bool = False
) -> AsyncIterator[Installed]:
    """Slack with these workspaces, none installed yet, and two bot processes on `database`.
    `org_deploy`: the app may be installed on a whole Grid organization."""
    held = [held_port(), held_port()]  # bound now: Slack's server below takes any port
    ports = [int(sock.getsockname()[1]) for sock in held]
    public_url = f"http://127.0.0.1:{ports[0]}"
    i3d_sandbox.app[SANDBOX].return_url = f"{public_url}/landing/i3d"
    app = OAuthApp(
        client_id="1234.5678",
        client_secret="oauth-scenario-client-secret",
        redirect_urls=[f"{public_url}/slack/oauth_redirect"],
        scopes=sorted(Settings.model_fields["slack_scopes"].default),
        org_deploy=org_deploy,
    )
    slack_app = create_emulator(
        request_url=f"{public_url}/slack/events",
        signing_secret=SECRET,
        bot_token="",
        oauth=app,
        workspace=workspaces[0],
        more_workspaces=workspaces[1:],
    )
    slack = TestServer(slack_app, host="127.0.0.1")
    await slack.start_server()
    settings = Settings(
        slack_client_id=app.client_id,
        slack_client_secret=app.client_secret,
        slack_signing_secret=SECRET,
        slack_api_url=str(slack.make_url("/api/")),
        slack_authorize_url=str(slack.make_url("/oauth/v2/authorize")),
        public_url=public_url,
        secret_key=generate_key(),
        database=database,
        poll_first_delay=0.2,
        poll_max_delay=0.5,
        _env_file=None,  # type: ignore[call-arg]
    )
    bots = []
    for port, sock in zip(ports, held, strict=True):  # two processes on one database
        bot = TestServer(
            create_app(settings, make_plugin_manager(allowed={"i3d"})),
            host="127.0.0.1",
            port=port,
            socket_factory=lambda *_, sock=sock: sock,
        )
        await bot.start_server()
        bots.append(bot)
    # Browsers treat loopback as a secure origin: they send it `Secure` cookies over http.
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[URL(public_url)])
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        try:
            yield Installed(slack_app[OAUTH], slack, bots, settings, browser)
        finally:
            for bot in bots:
                await bot.close()
            await slack.close()


async def connect_i3d(installed: Installed, team_id: str, i3d_sandbox: TestServer) -> None:
    credentials = I3DCredentials(
        api_key=I3D_TOKEN,  # type: ignore[arg-type]
        base_url=str(i3d_sandbox.make_url("")).rstrip("/"),
    )
    await (
        installed.bots[0]
        .app[SERVICES]
        .connections.connect(team_id, "i3d", credentials, connected_by=ADMIN)
    )


async def install_both(installed: Installed, i3d_sandbox: TestServer) -> None:
    """Both workspaces installed, each with i3D.net connected."""
    for team_id in (ACME, GLOBEX):
        await installed.install(team_id)
        await connect_i3d(installed, team_id, i3d_sandbox)


def announced(workspace: Emulator, channel: str) -> list[Message]:
    """The channel's posts after the note invoicebot leaves when it becomes the billing
    channel."""
    return [m for m in workspace.messages(channel) if "chose this channel" not in m.text]


async def shown_to(workspace: Emulator, user: str, channel: str, text: str) -> str:
    """Type `/invoices <text>` and wait for the bot's answer; all the text it shows."""
    before = len(workspace.ephemerals(user, channel))
    await workspace.slash_command(user, channel, text)
    answers = await workspace.wait_until(
        lambda: workspace.ephemerals(user, channel)[before:] or None, seconds=10
    )
    return "\n".join(str(m.blocks) + m.text for m in answers)


async def test_two_workspaces_install_and_see_only_their_own(
    installed: Installed, i3d_sandbox: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for team_id in (ACME, GLOBEX):
        status, page = await installed.install(team_id)
        assert status == 200 and "invoicebot is installed" in page, page
    assert "Globex &amp; Co" in page  # the workspace's name, escaped
    acme, globex = installed.workspace(ACME), installed.workspace(GLOBEX)
    await connect_i3d(installed, ACME, i3d_sandbox)

    assert "will be announced in" in await shown_to(acme, ADMIN, BILLING, "billing")
    acme_list = await shown_to(acme, ADMIN, GENERAL, "")
    globex_list = await shown_to(globex, ADMIN, GENERAL, "")
    assert "INV-" in acme_list
    assert "INV-" not in globex_list and "connect" in globex_list
    assert "i3D.net*: not connected" in await shown_to(globex, ADMIN, GENERAL, "status")
    assert "i3D.net*: not connected" not in await shown_to(acme, ADMIN, GENERAL, "status")

    # The installer is each workspace's admin; nobody else is, in either.
    assert "will be announced in" in await shown_to(globex, ADMIN, BILLING, "billing")
    assert "Only invoicebot admins" in await shown_to(acme, PAYER, GENERAL, "billing")
    teams = installed.bots[0].app[SERVICES].teams
    assert teams.billing_channel(ACME) == BILLING and teams.billing_channel(GLOBEX) == BILLING
    assert teams.people(ACME, "admins") == {ADMIN} == teams.people(GLOBEX, "admins")

    # Each answer went out with its own workspace's token, and no token was logged.
    assert acme.calls_to("auth.test") and globex.calls_to("auth.test")
    assert all(call.ok for call in acme.calls + globex.calls)
    issued = [*installed.oauth.tokens, *installed.oauth.refresh_tokens]
    codes = [c.args["code"] for c in acme.calls_to("oauth.v2.access") if "code" in c.args]
    assert len(issued) == 4 and len(codes) == 2
    assert not [secret for secret in issued + codes if secret in caplog.text]


def element(message: Message, action_id: str, wanted: str = "") -> dict[str, Any]:
    for block in message.blocks:
        for candidate in [*block.get("elements", []), block.get("accessory") or {}]:
            if candidate.get("action_id") == action_id and wanted in str(candidate):
                return dict(candidate)
    raise AssertionError(f"no {action_id} in {message.blocks}")


async def pay_an_invoice(workspace: Emulator, user: str) -> None:
    """List the invoices, pay i3D's INV-24-0101 by iDEAL and come back from the bank: a
    click on each of Pay, the method, the bank and Get link, then the browser."""
    await shown_to(workspace, user, GENERAL, "")
    listing = [m for m in workspace.ephemerals(user, GENERAL) if "INV-" in str(m.blocks)][-1]
    pay = element(listing, "pay", "|410001")
    await workspace.click(user, listing, "pay", value=pay["value"])
    for action_id, picked in (("choose_method", "10"), ("choose_issuer", "INGBNL2A")):
        await workspace.wait_until(lambda a=action_id: a in str(listing.blocks))  # type: ignore[misc]
        await workspace.click(user, listing, action_id, selected=picked)
    await workspace.wait_until(
        lambda: "'INGBNL2A'" in str(listing.blocks) and "get_link" in str(listing.blocks)
    )
    await workspace.click(user, listing, "get_link")
    await workspace.wait_until(lambda: "open_link" in str(listing.blocks), seconds=10)
    async with aiohttp.ClientSession() as payer_browser:
        _, page = await pay_in_browser(payer_browser, element(listing, "open_link")["url"])
    assert "paid" in page.lower()


async def test_the_billing_channel_is_one_invoicebot_can_post_in(installed: Installed) -> None:
    """Announcements to a private channel the app was not invited to would be refused by
    Slack and never seen: the command says so and keeps the channel it had."""
    status, page = await installed.install(ACME)
    assert status == 200, page
    acme = installed.workspace(ACME)
    secret = Channel("G0FINANCE", "finance", [ADMIN, PAYER], is_private=True)
    acme.workspace.channels[secret.id] = secret
    acme.workspace.messages[secret.id] = []
    teams = installed.bots[0].app[SERVICES].teams

    said = await shown_to(acme, ADMIN, secret.id, "billing")
    assert "invite invoicebot first" in said and "will be announced" not in said
    assert acme.messages(secret.id) == [] and teams.billing_channel(ACME) is None

    secret.members.append("U0BOT")  # /invite @invoicebot
    assert "will be announced in" in await shown_to(acme, ADMIN, secret.id, "billing")
    (hello,) = acme.messages(secret.id)
    assert f"<@{ADMIN}> chose this channel for invoicebot" in hello.text
    assert teams.billing_channel(ACME) == secret.id


async def test_a_payment_is_announced_in_its_own_workspace_only(
    installed: Installed, i3d_sandbox: TestServer
) -> None:
    await install_both(installed, i3d_sandbox)
    for team_id in (ACME, GLOBEX):
        await shown_to(installed.workspace(team_id), ADMIN, BILLING, "billing")
    acme, globex = installed.workspace(ACME), installed.workspace(GLOBEX)
    await pay_an_invoice(acme, ADMIN)
    posted = await acme.wait_until(lambda: announced(acme, BILLING), seconds=10)
    assert "INV-24-0101" in str(posted[0].blocks) + posted[0].text
    assert announced(globex, BILLING) == []
    store = installed.bots[0].app[STORE]
    assert store.recent_settlements(GLOBEX) == [] and len(store.recent_settlements(ACME)) == 1


async def test_the_digest_goes_to_each_workspaces_own_channel_once_chosen(
    installed: Installed, i3d_sandbox: TestServer
) -> None:
    await install_both(installed, i3d_sandbox)
    acme, globex = installed.workspace(ACME), installed.workspace(GLOBEX)
    await shown_to(acme, ADMIN, BILLING, "billing")  # Globex has not chosen one yet
    bot = installed.bots[0].app
    for team_id in (ACME, GLOBEX):
        await bot[SCHEDULER]._digest(team_id, "2026-12-07")
    bot[OUTBOX].wake.set()
    posted = await acme.wait_until(lambda: announced(acme, BILLING))
    assert "INV-" in str(posted[0].blocks) + posted[0].text
    await installed.wait_for(lambda: bot[STORE].outbox_pending() == 0)
    assert globex.messages(BILLING) == []


async def test_queued_calls_go_out_with_their_own_workspaces_token(
    installed: Installed,
) -> None:
    for team_id in (ACME, GLOBEX):
        await installed.install(team_id)
    bot = installed.bots[0].app
    store = bot[STORE]
    store.enqueue(
        "chat.postMessage", {"channel": BILLING, "text": "Globex paid"}, key="g", team_id=GLOBEX
    )
    store.enqueue(
        "chat.postMessage", {"channel": BILLING, "text": "Acme paid"}, key="a", team_id=ACME
    )
    store.enqueue(
        "chat.postMessage", {"channel": BILLING, "text": "gone"}, key="x", team_id="T0GONE"
    )
    bot[OUTBOX].wake.set()
    globex, acme = installed.workspace(GLOBEX), installed.workspace(ACME)
    await globex.wait_until(lambda: globex.messages(BILLING))
    await acme.wait_until(lambda: acme.messages(BILLING))
    assert [m.text for m in globex.messages(BILLING)] == ["Globex paid"]
    assert [m.text for m in acme.messages(BILLING)] == ["Acme paid"]
    await installed.wait_for(lambda: store.outbox_pending() == 0)
    (gone,) = [row for row in store.outbox_items() if row["key"] == "x"]
    assert gone["gave_up_at"] and "removed" in gone["last_error"]


async def test_admins_choose_their_own_workspaces_payers(installed: Installed) -> None:
    for team_id in (ACME, GLOBEX):
        await installed.install(team_id)
    acme = installed.workspace(ACME)
    refused = await shown_to(acme, PAYER, GENERAL, "people")
    assert "Only invoicebot admins" in refused and acme.modal(PAYER) is None
    await acme.slash_command(ADMIN, GENERAL, "people")
    modal = await acme.wait_until(lambda: acme.modal(ADMIN))
    assert modal.definition["callback_id"] == "people"
    reply = await acme.submit_view(ADMIN, values={"admins": {"value": []}})
    assert reply.error == "required_input_missing"  # Slack keeps at least one admin
    await acme.submit_view(
        ADMIN, values={"admins": {"value": [ADMIN]}, "payers": {"value": [PAYER]}}
    )
    access = installed.bots[1].app[SERVICES].access  # the other process reads the same
    assert await access.may_pay(ACME, PAYER) and not await access.may_pay(GLOBEX, PAYER)
    assert not await access.may_administer(ACME, PAYER)


def group_options(modal: Any, block_id: str) -> list[str]:
    (block,) = [b for b in modal.definition["blocks"] if b.get("block_id") == block_id]
    return [o["text"]["text"] for o in block["element"]["options"]]


async def test_admins_choose_user_groups_of_their_own_workspace_only(
    installed: Installed,
) -> None:
    for team_id in (ACME, GLOBEX):
        await installed.install(team_id)
    acme, globex = installed.workspace(ACME), installed.workspace(GLOBEX)
    await globex.slash_command(ADMIN, GENERAL, "people")
    offered = await globex.wait_until(lambda: globex.modal(ADMIN))
    assert group_options(offered, "admin_groups") == ["@ops (Globex Ops)"]
    await acme.slash_command(ADMIN, GENERAL, "people")
    modal = await acme.wait_until(lambda: acme.modal(ADMIN))
    acme_groups = ["@payers (Payers)", "@finance (Finance)"]
    assert group_options(modal, "admin_groups") == acme_groups
    assert group_options(modal, "payer_groups") == acme_groups
    reply = await acme.submit_view(
        ADMIN,
        values={
            "admins": {"value": [ADMIN]},
            "admin_groups": {"value": ["S0FINANCE"]},
            "payer_groups": {"value": ["S0PAYERS"]},
        },
    )
    saved = acme.modal(ADMIN)
    assert reply.error is None and saved is not None
    assert "the members of 2 user group(s)" in str(saved.definition)
    await acme.close_view(ADMIN, everything=True)

    # A member of Acme's Finance group administers Acme, in any process; not Globex.
    access = installed.bots[1].app[SERVICES].access
    assert await access.may_administer(ACME, VIEWER) and await access.may_pay(ACME, PAYER)
    assert not await access.may_administer(GLOBEX, VIEWER)
    assert not await access.may_pay(GLOBEX, PAYER)
    assert "will be announced in" in await shown_to(acme, VIEWER, GENERAL, "billing")
    assert "Only invoicebot admins" in await shown_to(globex, VIEWER, GENERAL, "billing")

    await acme.slash_command(ADMIN, GENERAL, "people")
    again = await acme.wait_until(lambda: acme.modal(ADMIN))
    (admin_groups,) = [b for b in again.definition["blocks"] if b["block_id"] == "admin_groups"]
    assert [o["value"] for o in admin_groups["element"]["initial_options"]] == ["S0FINANCE"]
    # Each workspace's groups were asked for with its own token.
    assert acme.calls_to("usergroups.list") and globex.calls_to("usergroups.list")
    assert all(call.ok for call in acme.calls + globex.calls)


async def test_without_usergroups_read_the_people_dialog_offers_people_only(
    installed: Installed,
) -> None:
    granted = sorted(set(installed.settings.slack_scopes) - {"usergroups:read"})
    await installed.install(ACME, scopes=granted)
    teams = installed.bots[0].app[SERVICES].teams
    teams.put(ACME, "admin_groups", ["S0FINANCE"], ADMIN)  # chosen while it could be read
    acme = installed.workspace(ACME)
    await acme.slash_command(ADMIN, GENERAL, "people")
    modal = await acme.wait_until(lambda: acme.modal(ADMIN))
    shown = [b["block_id"] for b in modal.definition["blocks"]]
    assert shown == ["admins", "payers", "groups_note"]
    note = str(modal.definition["blocks"][-1])
    assert "usergroups:read" in note and "chosen before stay as they are" in note
    (refused,) = acme.calls_to("usergroups.list")
    assert refused.error == "missing_scope" and refused.response["needed"] == "usergroups:read"
    await acme.submit_view(
        ADMIN, values={"admins": {"value": [ADMIN]}, "payers": {"value": [PAYER]}}
    )
    await installed.wait_for(lambda: teams.people(ACME, "payers") == {PAYER})
    assert teams.groups(ACME, "admin_groups") == ("S0FINANCE",)
    # Its members cannot be read either, so they are no admins: refused, not guessed.
    assert not await installed.bots[0].app[SERVICES].access.may_administer(ACME, VIEWER)

    await acme.close_view(ADMIN, everything=True)
    policy = Policy.parse("EUR 500 1 U0ADMIN,S0FINANCE", 24)
    installed.bots[0].app[SERVICES].approvals.save_policy(ACME, policy, user_id=ADMIN)
    await acme.slash_command(ADMIN, GENERAL, "settings")  # approvers: people only too
    settings = await acme.wait_until(lambda: acme.modal(ADMIN))
    shown = [b["block_id"] for b in settings.definition["blocks"]]
    assert "b0.users" in shown and "b0.groups" not in shown
    assert "chosen before stay as they are" in str(settings.definition["blocks"])


async def test_app_home_shows_each_workspace_its_own_payments(installed: Installed) -> None:
    for team_id in (ACME, GLOBEX):
        await installed.install(team_id)
    store = installed.bots[0].app[STORE]
    payment = paid(
        team_id=ACME, user_id=ADMIN, invoice_numbers=("INV-ACME-1",), state=PaymentState.LINK_ISSUED
    )
    store.add_payment(payment, token_hash="h1", token_expires_at=time.time() + 60)
    shown = {}
    for team_id in (ACME, GLOBEX):
        workspace = installed.workspace(team_id)
        await workspace.open_home(ADMIN)
        home = await workspace.wait_until(lambda w=workspace: w.home(ADMIN))  # type: ignore[misc]
        shown[team_id] = str(home.definition)
    assert "INV-ACME-1" in shown[ACME] and "INV-ACME-1" not in shown[GLOBEX]


async def test_slack_can_check_the_request_url_before_any_install(installed: Installed) -> None:
    body = json.dumps({"token": "x", "challenge": "c-123", "type": "url_verification"})
    headers = signed_headers(SECRET, body, "application/json", int(time.time()))
    async with installed.browser.post(
        installed.bots[0].make_url("/slack/events"), data=body, headers=headers
    ) as answer:
        assert answer.status == 200 and "c-123" in await answer.text()


@pytest.mark.parametrize("path", ["/slack/install", "/slack/oauth_redirect?code=x&state=y"])
async def test_the_install_addresses_posted_to_read_as_words(
    installed: Installed, path: str
) -> None:
    async with installed.browser.post(installed.bots[0].make_url(path)) as sent:
        body = await sent.text()
    assert sent.status == 405 and sent.headers["Allow"] == "GET,HEAD"
    assert "405" not in body and "web browser" in body


async def test_a_state_is_used_once(installed: Installed) -> None:
    async with installed.browser.get(
        installed.bots[0].make_url("/slack/install"), allow_redirects=False
    ) as started:
        consent = URL(started.headers["Location"]).update_query(team=ACME, user=ADMIN)
    async with installed.browser.get(consent, allow_redirects=False) as answer:
        back = answer.headers["Location"]
    async with installed.browser.get(back) as first:
        assert first.status == 200
    async with installed.browser.get(back) as replayed:
        page = await replayed.text()
        assert replayed.status == 400 and "expired or was already used" in page
        assert "invalid_state" not in page and "Traceback" not in page


async def test_a_denied_install_says_so_plainly(installed: Installed) -> None:
    async with installed.browser.get(
        installed.bots[0].make_url("/slack/install"), allow_redirects=False
    ) as started:
        consent = URL(started.headers["Location"]).update_query(team=ACME, user=ADMIN, deny="1")
    async with installed.browser.get(consent) as finished:
        assert "was not installed, as you chose" in await finished.text()
    assert (
        await Installations(installed.bots[0].app[STORE]).async_find_bot(
            enterprise_id=None, team_id=ACME
        )
        is None
    )


async def test_processes_refresh_an_expiring_token_once(installed: Installed) -> None:
    await installed.install(ACME)
    store = installed.bots[0].app[STORE]
    installations = Installations(store)
    bot = await installations.async_find_bot(enterprise_id=None, team_id=ACME)
    assert bot is not None and bot.bot_refresh_token
    bot.bot_token_expires_at = int(time.time()) + 60  # twelve hours have nearly passed
    await installations.async_save_bot(bot)
    issued_long_ago(store)

    processes = [server.app[SERVICES].access.tokens for server in installed.bots]
    tokens = await asyncio.gather(*(p.token(ACME) for p in processes * 3))
    assert installed.oauth.refreshes == 1
    assert len(set(tokens)) == 1 and tokens[0] != bot.bot_token
    assert "connect" in await shown_to(installed.workspace(ACME), ADMIN, GENERAL, "")


async def test_uninstalling_deletes_tokens_and_credentials(
    installed: Installed, i3d_sandbox: TestServer
) -> None:
    await install_both(installed, i3d_sandbox)
    acme = installed.workspace(ACME)
    replies = await acme.uninstall()
    assert [reply.status for reply in replies] == [200, 200]
    store = installed.bots[0].app[STORE]
    installations = Installations(store)
    assert await installations.async_find_bot(enterprise_id=None, team_id=ACME) is None
    assert store.connected_providers(ACME) == []
    assert await installations.async_find_bot(enterprise_id=None, team_id=GLOBEX) is not None
    assert store.connected_providers(GLOBEX) == ["i3d"]
    actions = [(e.action, e.team_id) for e in store.audit_log()]
    assert ("workspace.uninstalled", ACME) in actions
    await acme.slash_command(ADMIN, GENERAL, "")
    refused = await acme.wait_until(lambda: acme.ephemerals(ADMIN, GENERAL) or None)
    assert "not installed in this workspace" in refused[-1].text


async def test_the_install_page_drops_characters_that_reorder_a_workspaces_name(
    database: str, i3d_sandbox: TestServer
) -> None:
    """A workspace's name is typed by its admins: a right-to-left override in it turned
    the install page's sentence around, as the payers' pages and Slack's messages never
    let a provider's text do."""
    named = Workspace(team_name="Acme \u202eoc.live\u202c Ltd", usergroups=ACME_GROUPS)
    async with serving(database, i3d_sandbox, [named]) as running:
        status, page = await running.install(ACME)
    assert status == 200 and "Acme oc.live Ltd" in page
    assert not {"\u202e", "\u202c"} & set(page)


async def request_approval(workspace: Emulator, number: str) -> None:
    """The admin asks for approval to pay `number`, from its pay menu."""
    await shown_to(workspace, ADMIN, GENERAL, f"pay {number}")
    menu = [m for m in workspace.ephemerals(ADMIN, GENERAL) if number in str(m.blocks)][-1]
    await workspace.click(ADMIN, menu, "request_approval")
    await workspace.wait_until(
        lambda: (m := workspace.modal(ADMIN)) and "Request" in str(m.definition)
    )
    await workspace.submit_view(ADMIN, values={})


async def test_an_approval_dm_slack_held_back_is_sent_later_with_its_workspaces_token(
    installed: Installed, i3d_sandbox: TestServer
) -> None:
    """Installed by OAuth there is no one bot token: a request's DM that Slack refused
    for now is sent again with the workspace's own token, and the request counts as
    delivered only once it went."""
    await install_both(installed, i3d_sandbox)
    acme = installed.workspace(ACME)
    await shown_to(acme, ADMIN, BILLING, "billing")
    svc = installed.bots[0].app[SERVICES]
    svc.approvals.save_policy(ACME, Policy.parse("EUR 500 1 U0VIEWER", 24), user_id=ADMIN)
    acme.faults.rate_limit("conversations.open", retry_after=30)  # Val's DM, first
    await request_approval(acme, "INV-24-0104")
    db = svc.approvals.store.db
    await acme.wait_until(lambda: db.execute("SELECT id FROM approval_requests").fetchall())
    val = acme.workspace.dm_with(VIEWER).id
    await acme.wait_until(lambda: acme.messages(acme.workspace.dm_with(ADMIN).id))
    assert acme.messages(val) == []
    db.execute("UPDATE approval_requests SET deliver_after = 0")  # Slack's wait is over
    (dm,) = await acme.wait_until(lambda: acme.messages(val), seconds=10)
    assert "INV-24-0104" in dm.text
    await installed.wait_for(
        lambda: db.execute("SELECT delivered_at FROM approval_requests").fetchone()[0]
    )
    assert not [c for c in acme.calls_to("conversations.open") if c.error == "not_authed"]


async def test_a_request_its_channel_refused_is_posted_where_an_admin_moves_billing(
    installed: Installed, i3d_sandbox: TestServer
) -> None:
    """#billing was archived, and refused the request's post for good: the admin types
    `/invoices billing` in #general, and the waiting request is posted there, so finance
    sees it and not only its outcome."""
    await install_both(installed, i3d_sandbox)
    acme = installed.workspace(ACME)
    await shown_to(acme, ADMIN, BILLING, "billing")
    acme.workspace.channels[BILLING].is_archived = True
    svc = installed.bots[0].app[SERVICES]
    svc.approvals.save_policy(ACME, Policy.parse("EUR 500 1 U0VIEWER", 24), user_id=ADMIN)
    await request_approval(acme, "INV-24-0104")
    (refused,) = await acme.wait_until(
        lambda: [c for c in acme.calls_to("chat.postMessage") if c.error == "is_archived"]
    )
    assert "asks for approval" in refused.args["text"]
    assert "will be announced in" in await shown_to(acme, ADMIN, GENERAL, "billing")
    (root,) = await acme.wait_until(
        lambda: [m for m in acme.messages(GENERAL) if "asks for approval" in m.text]
    )
    assert "INV-24-0104" in root.text
