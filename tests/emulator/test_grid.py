"""A workspace of an Enterprise Grid organization: the emulator names the organization
wherever Slack does, and a real Bolt app reads the same workspace out of every kind of
request; installing on the whole organization is offered only to an app that allows it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import OAUTH, Enterprise, OAuthApp, Workspace, create_app
from tests.emulator.conftest import Running
from tests.emulator.test_oauth import APP, REDIRECT, Slack

GRID = Enterprise("E0GRID", "Initech Group")
PAYER, GENERAL = "U0PAYER", "C0GENERAL"


@pytest.fixture
async def slack(request: pytest.FixtureRequest) -> AsyncIterator[Slack]:
    """Two workspaces of one Grid organization and one on its own (T0OTHER)."""
    app_settings: OAuthApp = getattr(request, "param", APP)
    app = create_app(
        request_url="http://127.0.0.1:1/slack/events",
        signing_secret="secret",
        bot_token="",
        oauth=app_settings,
        workspace=Workspace(team_id="T0SALES", team_name="Sales", enterprise=GRID),
        more_workspaces=[
            Workspace(team_id="T0OPS", team_name="Ops", team_domain="ops", enterprise=GRID),
            Workspace(team_id="T0OTHER", team_name="Other", team_domain="other"),
        ],
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        try:
            yield Slack(server, app[OAUTH], http)
        finally:
            await server.close()


async def test_a_grid_workspace_installs_on_itself(slack: Slack) -> None:
    sales = await slack.install("T0SALES")
    assert sales["team"] == {"id": "T0SALES", "name": "Sales"}
    assert sales["enterprise"] == {"id": "E0GRID", "name": "Initech Group"}
    assert sales["is_enterprise_install"] is False
    other = await slack.install("T0OTHER")
    assert other["enterprise"] is None and other["is_enterprise_install"] is False
    renewed = await slack.client().oauth_v2_access(
        client_id=APP.client_id, client_secret=APP.client_secret,
        grant_type="refresh_token", refresh_token=str(sales["refresh_token"]),
    )  # fmt: skip
    assert renewed["team"]["id"] == "T0SALES" and renewed["enterprise"]["id"] == "E0GRID"
    who = await slack.client(str(renewed["access_token"])).auth_test()
    assert who["team_id"] == "T0SALES" and who["enterprise_id"] == "E0GRID"
    assert who["is_enterprise_install"] is False
    assert "enterprise_id" not in (await slack.client(str(other["access_token"])).auth_test())


async def test_the_whole_organization_is_not_offered_without_org_deploy(slack: Slack) -> None:
    status, page = await slack.authorize(
        client_id=APP.client_id, scope="commands", team="T0SALES", user="U0ADMIN", org="1"
    )
    assert status == 400 and "org_install_not_offered" in page


ORG_APP = OAuthApp(**{**APP.__dict__, "org_deploy": True})


@pytest.mark.parametrize("slack", [ORG_APP], indirect=True)
async def test_an_organizations_install_names_no_workspace(slack: Slack) -> None:
    status, page = await slack.authorize(
        client_id=APP.client_id, scope="commands", team="T0OTHER", user="U0ADMIN", org="1"
    )
    assert status == 400 and "org_install_not_offered" in page  # not in an organization
    status, location = await slack.authorize(
        client_id=APP.client_id, scope="commands", team="T0SALES", user="U0ADMIN", org="1",
        redirect_uri=REDIRECT,
    )  # fmt: skip
    assert status == 302
    answer = await slack.client().oauth_v2_access(
        client_id=APP.client_id, client_secret=APP.client_secret, redirect_uri=REDIRECT,
        code=parse_qs(urlparse(location).query)["code"][0],
    )  # fmt: skip
    assert answer["team"] is None and answer["is_enterprise_install"] is True
    assert answer["enterprise"] == {"id": "E0GRID", "name": "Initech Group"}
    workspaces = slack.oauth.emulators
    assert workspaces["T0SALES"].workspace.org_wide_install
    assert workspaces["T0OPS"].workspace.org_wide_install
    assert not workspaces["T0OTHER"].workspace.org_wide_install


def where(context: AsyncBoltContext) -> tuple[str | None, str | None, bool | None]:
    return context.enterprise_id, context.team_id, context.is_enterprise_install


@pytest.mark.parametrize("org_wide", [False, True])
async def test_bolt_reads_the_workspace_and_its_organization_from_every_request(
    running: Running, bolt: AsyncApp, org_wide: bool
) -> None:
    expected = ("E0GRID", "T0TEAM", org_wide)
    emulator = running.emulator
    emulator.workspace.enterprise = GRID
    emulator.workspace.org_wide_install = org_wide
    seen: dict[str, Any] = {}
    button = {
        "type": "actions",
        "block_id": "row",
        "elements": [
            {
                "type": "button",
                "action_id": "open",
                "text": {"type": "plain_text", "text": "Open"},
                "value": "1",
            }
        ],
    }
    modal = {
        "type": "modal",
        "callback_id": "form",
        "title": {"type": "plain_text", "text": "Form"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {
                "type": "input",
                "block_id": "note",
                "label": {"type": "plain_text", "text": "Note"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }

    @bolt.command("/invoices")
    async def command(ack: AsyncAck, context: AsyncBoltContext, command: dict) -> None:
        seen["command"], seen["command_name"] = where(context), command["enterprise_name"]
        await ack(text="Pick", blocks=[button])

    @bolt.action("open")
    async def action(ack: AsyncAck, context: AsyncBoltContext, body: dict) -> None:
        seen["action"], seen["team"] = where(context), body["team"]
        await ack()
        await AsyncWebClient(token="xoxb-emulator-test", base_url=running.api_url).views_open(
            trigger_id=body["trigger_id"], view=modal
        )

    @bolt.view("form")
    async def submitted(ack: AsyncAck, context: AsyncBoltContext) -> None:
        seen["view"] = where(context)
        await ack()

    @bolt.event("app_home_opened")
    async def home(context: AsyncBoltContext, body: dict) -> None:
        seen["event"], seen["authorizations"] = where(context), body["authorizations"]

    await emulator.slash_command(PAYER, GENERAL, "")
    (shown,) = emulator.ephemerals(PAYER, GENERAL)
    await emulator.click(PAYER, shown, "open")
    opened = await emulator.wait_until(lambda: emulator.modal(PAYER))
    await emulator.submit_view(PAYER, opened.id, {"note": {"value": "hi"}})
    await emulator.open_home(PAYER)
    await emulator.wait_until(lambda: "event" in seen)
    assert seen["command"] == seen["action"] == seen["view"] == expected
    # An organization's install authorizes the organization: events name no workspace.
    assert seen["event"] == (("E0GRID", None, True) if org_wide else expected)
    assert seen["command_name"] == "Initech Group"
    assert seen["team"] == {
        "id": "T0TEAM",
        "domain": "acme",
        "enterprise_id": "E0GRID",
        "enterprise_name": "Initech Group",
    }
    (authorization,) = seen["authorizations"]
    assert authorization["enterprise_id"] == "E0GRID"
    assert authorization["is_enterprise_install"] is org_wide
    assert authorization["team_id"] == (None if org_wide else "T0TEAM")
