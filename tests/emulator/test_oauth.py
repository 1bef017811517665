"""The emulator's OAuth install refuses what Slack refuses: unknown clients, unregistered
redirect URIs, a code used twice, a refresh token used twice, tokens of an uninstalled
workspace; and each workspace's token reaches only that workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import OAUTH, OAuthApp, OAuthServer, Workspace, create_app

REDIRECT = "https://invoicebot.test/slack/oauth_redirect"
APP = OAuthApp(
    client_id="111.222",
    client_secret="client-secret",
    redirect_urls=[REDIRECT],
    scopes=["commands", "chat:write", "channels:history"],
)


@dataclass
class Slack:
    server: TestServer
    oauth: OAuthServer
    http: aiohttp.ClientSession

    def client(self, token: str | None = None) -> AsyncWebClient:
        return AsyncWebClient(token=token, base_url=str(self.server.make_url("/api/")))

    async def authorize(self, **query: str) -> tuple[int, str]:
        """The status and the Location (or the page) Slack answers the browser with."""
        url = self.server.make_url("/oauth/v2/authorize").with_query(query)
        async with self.http.get(url, allow_redirects=False) as response:
            return response.status, response.headers.get("Location") or await response.text()

    async def code(self, team: str = "T0TEAM", scope: str = "commands,chat:write") -> str:
        status, location = await self.authorize(
            client_id=APP.client_id, scope=scope, state="s1", team=team,
            user="U0ADMIN", redirect_uri=REDIRECT,
        )  # fmt: skip
        assert status == 302, location
        return parse_qs(urlparse(location).query)["code"][0]

    async def install(
        self, team: str = "T0TEAM", scope: str = "commands,chat:write"
    ) -> dict[str, object]:
        code = await self.code(team, scope)
        answer = await self.client().oauth_v2_access(
            client_id=APP.client_id, client_secret=APP.client_secret, code=code,
            redirect_uri=REDIRECT,
        )  # fmt: skip
        return dict(answer.data)  # type: ignore[arg-type]


@pytest.fixture
async def slack() -> AsyncIterator[Slack]:
    app = create_app(
        request_url="http://127.0.0.1:1/slack/events",
        signing_secret="secret",
        bot_token="",
        oauth=APP,
        more_workspaces=[Workspace(team_id="T0OTHER", team_name="Other", team_domain="other")],
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        try:
            yield Slack(server, app[OAUTH], http)
        finally:
            await server.close()


async def test_authorize_redirects_with_code_and_state(slack: Slack) -> None:
    status, location = await slack.authorize(
        client_id=APP.client_id, scope="commands", state="xyz", team="T0TEAM", user="U0ADMIN"
    )
    assert status == 302
    query = parse_qs(urlparse(location).query)
    assert location.startswith(REDIRECT) and query["state"] == ["xyz"] and query["code"]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"client_id": "999.999"}, "invalid_client_id"),
        ({"redirect_uri": "https://evil.test/cb"}, "bad_redirect_uri"),
        ({"scope": "admin"}, "invalid_scope"),
    ],
)
async def test_authorize_refuses_without_redirecting(
    slack: Slack, change: dict[str, str], error: str
) -> None:
    query = {"client_id": APP.client_id, "scope": "commands", "team": "T0TEAM", "user": "U0ADMIN"}
    status, page = await slack.authorize(**{**query, **change})
    assert status == 400 and error in page


async def test_a_person_who_denies_sends_back_access_denied(slack: Slack) -> None:
    status, location = await slack.authorize(
        client_id=APP.client_id, scope="commands", state="s", team="T0TEAM", user="U0ADMIN",
        deny="1",
    )  # fmt: skip
    assert status == 302 and parse_qs(urlparse(location).query)["error"] == ["access_denied"]


async def test_a_code_works_once_and_only_with_the_client_secret(slack: Slack) -> None:
    code = await slack.code()
    with pytest.raises(SlackApiError) as wrong:
        await slack.client().oauth_v2_access(
            client_id=APP.client_id, client_secret="guess", code=code, redirect_uri=REDIRECT
        )
    assert wrong.value.response["error"] == "bad_client_secret"
    answer = await slack.client().oauth_v2_access(
        client_id=APP.client_id, client_secret=APP.client_secret, code=code, redirect_uri=REDIRECT
    )
    assert answer["team"]["id"] == "T0TEAM" and answer["authed_user"]["id"] == "U0ADMIN"
    assert answer["access_token"].startswith("xoxe.xoxb-") and answer["expires_in"] == 43_200
    with pytest.raises(SlackApiError) as again:
        await slack.client().oauth_v2_access(
            client_id=APP.client_id,
            client_secret=APP.client_secret,
            code=code,
            redirect_uri=REDIRECT,
        )
    assert again.value.response["error"] == "invalid_code"


async def test_the_redirect_uri_must_be_the_one_sent_to_authorize(slack: Slack) -> None:
    code = await slack.code()
    with pytest.raises(SlackApiError) as missing:
        await slack.client().oauth_v2_access(
            client_id=APP.client_id, client_secret=APP.client_secret, code=code
        )
    assert missing.value.response["error"] == "bad_redirect_uri"


async def test_each_token_speaks_for_its_own_workspace(slack: Slack) -> None:
    acme, other = await slack.install("T0TEAM"), await slack.install("T0OTHER")
    assert (await slack.client(str(acme["access_token"])).auth_test())["team_id"] == "T0TEAM"
    assert (await slack.client(str(other["access_token"])).auth_test())["team_id"] == "T0OTHER"
    await slack.client(str(other["access_token"])).chat_postMessage(channel="C0BILLING", text="hi")
    assert [m.text for m in slack.oauth.emulators["T0OTHER"].messages("C0BILLING")] == ["hi"]
    assert slack.oauth.emulators["T0TEAM"].messages("C0BILLING") == []


async def test_a_token_has_the_scopes_its_install_asked_for(slack: Slack) -> None:
    """The app asked for no `usergroups:read`, so its tokens, refreshed too, may not list
    user groups; the workspace's groups stay its own."""
    installed = await slack.install("T0TEAM")
    assert installed["scope"] == "commands,chat:write"
    with pytest.raises(SlackApiError) as caught:
        await slack.client(str(installed["access_token"])).usergroups_list()
    assert caught.value.response["error"] == "missing_scope"
    assert caught.value.response["needed"] == "usergroups:read"
    renewed = await slack.client().oauth_v2_access(
        client_id=APP.client_id, client_secret=APP.client_secret,
        grant_type="refresh_token", refresh_token=str(installed["refresh_token"]),
    )  # fmt: skip
    assert renewed["scope"] == "commands,chat:write"
    with pytest.raises(SlackApiError):
        await slack.client(str(renewed["access_token"])).usergroups_users_list(usergroup="S0PAYERS")


async def test_a_refresh_token_works_once(slack: Slack) -> None:
    installed = await slack.install()
    args = {
        "client_id": APP.client_id,
        "client_secret": APP.client_secret,
        "grant_type": "refresh_token",
        "refresh_token": str(installed["refresh_token"]),
    }
    fresh = await slack.client().oauth_v2_access(**args)
    assert fresh["access_token"] != installed["access_token"]
    assert (await slack.client(fresh["access_token"]).auth_test())["ok"]
    with pytest.raises(SlackApiError) as again:
        await slack.client().oauth_v2_access(**args)
    assert again.value.response["error"] == "invalid_refresh_token"


async def test_an_expired_token_is_refused(slack: Slack) -> None:
    installed = await slack.install()
    slack.oauth.tokens[str(installed["access_token"])].expires_at = 0.0
    with pytest.raises(SlackApiError) as expired:
        await slack.client(str(installed["access_token"])).auth_test()
    assert expired.value.response["error"] == "token_expired"


async def test_uninstalling_revokes_the_workspaces_tokens_only(slack: Slack) -> None:
    acme, other = await slack.install("T0TEAM"), await slack.install("T0OTHER")
    slack.oauth.uninstall_events("T0TEAM")
    with pytest.raises(SlackApiError) as revoked:
        await slack.client(str(acme["access_token"])).auth_test()
    assert revoked.value.response["error"] == "invalid_auth"
    assert (await slack.client(str(other["access_token"])).auth_test())["ok"]


async def test_the_control_api_acts_in_the_workspace_asked_for(slack: Slack) -> None:
    other = await slack.install("T0OTHER")
    state_url = slack.server.make_url("/emulator/state")
    async with slack.http.get(state_url.with_query(team="T0OTHER", user="U0ADMIN")) as answer:
        assert (await answer.json())["team"]["id"] == "T0OTHER"
    async with slack.http.get(state_url.with_query(user="U0ADMIN")) as answer:
        assert (await answer.json())["team"]["id"] == "T0TEAM"
    async with slack.http.get(state_url.with_query(team="T0NONE", user="U0ADMIN")) as answer:
        assert answer.status == 404
    uninstall = slack.server.make_url("/emulator/uninstall").with_query(team="T0OTHER")
    async with slack.http.post(uninstall, json={}) as answer:
        assert answer.status == 200
    with pytest.raises(SlackApiError):
        await slack.client(str(other["access_token"])).auth_test()


async def test_a_distributed_app_reads_15_messages_a_page_once_a_minute(slack: Slack) -> None:
    """reference/slack.md §4: an app installed by OAuth outside the Marketplace gets one
    conversations.history call a minute and at most 15 messages a page."""
    installed = await slack.install("T0TEAM", "commands,chat:write,channels:history")
    workspace = slack.oauth.emulators["T0TEAM"].workspace
    for n in range(20):
        workspace.post("C0BILLING", f"message {n}", [], user="U0PAYER")
    client = slack.client(str(installed["access_token"]))
    page = await client.conversations_history(channel="C0BILLING", limit=100)
    assert len(page["messages"]) == 15 and page["has_more"]
    with pytest.raises(SlackApiError) as caught:
        await client.conversations_history(channel="C0BILLING", limit=100)
    assert caught.value.response.status_code == 429
    assert int(caught.value.response.headers["Retry-After"]) > 50
