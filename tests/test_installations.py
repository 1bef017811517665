"""Installations and OAuth states on the bot's database, shared by every process.

Two `Store`s on one file stand for two bot processes: a state is accepted by one of them
only, and a token close to expiry is refreshed once, both ending with a working token.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.credentials import CredentialBox, generate_key
from bot.installations import Installations, OrgWideInstall
from bot.oauth_states import OAuthStates
from bot.store import Store
from bot.workspaces import InstalledWorkspaces
from slack_emulator import OAUTH, OAuthServer, create_app
from tests.emulator.test_oauth import APP
from tests.postgres import stored_bytes

KEY = generate_key()


@pytest.fixture
def stores(database: str) -> Iterator[tuple[Store, Store]]:
    """Two processes' stores on one database, sqlite or PostgreSQL."""
    first = Store(database, CredentialBox(KEY))
    second = Store(database, CredentialBox(KEY))
    try:
        yield first, second
    finally:
        first.close()
        second.close()


@pytest.fixture
async def slack() -> AsyncIterator[tuple[OAuthServer, str]]:
    app = create_app(
        request_url="http://127.0.0.1:1/slack/events", signing_secret="s", bot_token="", oauth=APP
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield app[OAUTH], str(server.make_url("/api/"))
    finally:
        await server.close()


def installation(token: str, refresh: str, expires_at: int, **more: Any) -> Installation:
    return Installation(
        app_id="A0INVOICEBOT", team_id="T0TEAM", team_name="Acme", bot_token=token,
        bot_id="B0BOT", bot_user_id="U0BOT", bot_scopes="commands,chat:write",
        bot_refresh_token=refresh, bot_token_expires_at=expires_at, user_id="U0ADMIN", **more,
    )  # fmt: skip


async def test_tokens_are_sealed_at_rest_and_found_again(stores: tuple[Store, Store]) -> None:
    first, second = stores
    await Installations(first).async_save(installation("xoxe.xoxb-1-secret", "xoxe-1-r", 2**31))
    found = await Installations(second).async_find_installation(
        enterprise_id=None, team_id="T0TEAM"
    )
    assert found is not None and found.bot_token == "xoxe.xoxb-1-secret"
    assert found.bot_refresh_token == "xoxe-1-r" and found.user_id == "U0ADMIN"
    assert found.bot_token_expires_at == 2**31
    first.flush_audit()
    raw = stored_bytes(first)
    assert b"xoxe.xoxb-1-secret" not in raw and b"xoxe-1-r" not in raw


async def test_deleting_forgets_the_workspace(stores: tuple[Store, Store]) -> None:
    installations = Installations(stores[0])
    await installations.async_save(installation("xoxb-a", "r", 2**31))
    await installations.async_delete_installation(enterprise_id=None, team_id="T0TEAM")
    assert await installations.async_find_bot(enterprise_id=None, team_id="T0TEAM") is None


async def test_a_grid_workspace_is_found_by_the_workspace_alone(
    stores: tuple[Store, Store],
) -> None:
    """Kept under its organization and itself; what runs outside a request (the outbox,
    user group checks) knows only the workspace, and still finds its token."""
    installations = Installations(stores[0])
    await installations.async_save(installation("xoxb-grid", "r", 2**31, enterprise_id="E0GRID"))
    rotator = AsyncTokenRotator(client_id=APP.client_id, client_secret=APP.client_secret)
    workspaces = InstalledWorkspaces(Installations(stores[1]), rotator)
    assert await workspaces.token("T0TEAM") == "xoxb-grid"
    assert await installations.async_find_bot(enterprise_id=None, team_id="T0TEAM") is None
    await installations.async_delete_all(enterprise_id="E0GRID", team_id="T0TEAM")
    assert await workspaces.token("T0TEAM") is None


async def test_an_install_on_a_whole_organization_is_not_kept(stores: tuple[Store, Store]) -> None:
    installations = Installations(stores[0])
    org_wide = installation(
        "xoxb-org", "r", 2**31, enterprise_id="E0GRID", is_enterprise_install=True
    )
    org_wide.team_id = None
    with pytest.raises(OrgWideInstall):
        await installations.async_save(org_wide)
    assert installations.installed_teams() == []


async def test_a_state_is_accepted_once_by_any_process(stores: tuple[Store, Store]) -> None:
    first, second = OAuthStates(stores[0]), OAuthStates(stores[1])
    state = await first.async_issue()
    results = await asyncio.gather(second.async_consume(state), first.async_consume(state))
    assert sorted(results) == [False, True]
    assert not await first.async_consume("made-up")


async def test_an_expired_state_is_refused(stores: tuple[Store, Store]) -> None:
    states = OAuthStates(stores[0], expiration_seconds=-1)
    assert not await states.async_consume(await states.async_issue())


async def test_two_processes_refresh_an_expiring_token_once(
    stores: tuple[Store, Store], slack: tuple[OAuthServer, str]
) -> None:
    oauth, api_url = slack
    # Inside the two hours before expiry: refresh now.
    answer = await _installed(oauth, stores[0], expires_at=int(time.time()) + 60)

    def process(store: Store) -> InstalledWorkspaces:
        client = AsyncWebClient(base_url=api_url)
        rotator = AsyncTokenRotator(
            client_id=APP.client_id, client_secret=APP.client_secret, client=client
        )
        return InstalledWorkspaces(Installations(store), rotator)

    tokens = await asyncio.gather(*(process(store).token("T0TEAM") for store in [*stores, *stores]))
    assert oauth.refreshes == 1
    assert len(set(tokens)) == 1 and tokens[0] != answer["access_token"]
    test = await AsyncWebClient(token=tokens[0], base_url=api_url).auth_test()
    assert test["team_id"] == "T0TEAM"


PROCESS = """
import asyncio, sys
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from bot.credentials import CredentialBox
from bot.installations import Installations
from bot.store import Store
from bot.workspaces import InstalledWorkspaces

async def main(path, key, api_url, client_id, client_secret):
    store = Store(path, CredentialBox(key))
    client = AsyncWebClient(base_url=api_url)
    rotator = AsyncTokenRotator(client_id=client_id, client_secret=client_secret, client=client)
    print(await InstalledWorkspaces(Installations(store), rotator).token("T0TEAM"))

asyncio.run(main(*sys.argv[1:]))
"""


async def test_separate_processes_refresh_once(
    stores: tuple[Store, Store], slack: tuple[OAuthServer, str], database: str
) -> None:
    oauth, api_url = slack
    answer = await _installed(oauth, stores[0], expires_at=int(time.time()) + 60)
    args = [database, KEY, api_url, APP.client_id, APP.client_secret]
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", PROCESS, *args, stdout=asyncio.subprocess.PIPE
        )
        for _ in range(4)
    ]
    outputs = [(await p.communicate())[0].decode().strip() for p in processes]
    assert oauth.refreshes == 1
    assert len(set(outputs)) == 1 and outputs[0].startswith("xoxe.xoxb-")
    assert outputs[0] != answer["access_token"]


async def _installed(oauth: OAuthServer, store: Store, *, expires_at: int) -> dict[str, Any]:
    """Installed through the emulator's OAuth, the token stored as expiring at `expires_at`."""
    code = oauth.authorize(
        {"client_id": APP.client_id, "scope": "commands", "team": "T0TEAM", "user": "U0ADMIN"}
    ).split("code=")[1]
    answer = oauth.access(
        {"client_id": APP.client_id, "client_secret": APP.client_secret, "code": code}, ""
    )
    await Installations(store).async_save(
        installation(answer["access_token"], answer["refresh_token"], expires_at)
    )
    issued_long_ago(store)
    return answer


def issued_long_ago(store: Store) -> None:
    """As if the stored tokens had been issued twelve hours ago."""
    store.db.execute("UPDATE installations SET token_issued_at = ?", [time.time() - 43_200])


async def test_a_refused_refresh_leaves_no_token(
    stores: tuple[Store, Store], slack: tuple[OAuthServer, str]
) -> None:
    _, api_url = slack
    await Installations(stores[0]).async_save(installation("xoxb-old", "spent", 0))
    issued_long_ago(stores[0])
    rotator = AsyncTokenRotator(
        client_id=APP.client_id,
        client_secret=APP.client_secret,
        client=AsyncWebClient(base_url=api_url),
    )
    workspaces = InstalledWorkspaces(Installations(stores[0]), rotator)
    assert await workspaces.token("T0TEAM") is None
    assert Installations(stores[1]).claim_refresh(None, "T0TEAM", lease=1) is not None


async def test_a_lease_held_by_a_process_that_died_runs_out(stores: tuple[Store, Store]) -> None:
    first, second = Installations(stores[0]), Installations(stores[1])
    await first.async_save(installation("xoxb-a", "r", 2**31))
    held = first.claim_refresh(None, "T0TEAM", lease=30)
    assert held is not None and second.claim_refresh(None, "T0TEAM", lease=30) is None
    stores[0].db.execute("UPDATE installations SET refresh_until = ?", [time.time() - 1])
    assert second.claim_refresh(None, "T0TEAM", lease=30) is not None


async def test_a_refused_refresh_keeps_a_token_that_still_works(
    stores: tuple[Store, Store], slack: tuple[OAuthServer, str]
) -> None:
    oauth, api_url = slack
    answer = await _installed(oauth, stores[0], expires_at=int(time.time()) + 60)
    oauth.refresh_tokens.clear()  # as if another install had spent it
    rotator = AsyncTokenRotator(
        client_id=APP.client_id,
        client_secret=APP.client_secret,
        client=AsyncWebClient(base_url=api_url),
    )
    workspaces = InstalledWorkspaces(Installations(stores[0]), rotator)
    assert await workspaces.token("T0TEAM") == answer["access_token"]


async def test_a_short_lived_token_is_refreshed_at_half_its_life(
    stores: tuple[Store, Store], slack: tuple[OAuthServer, str]
) -> None:
    oauth, api_url = slack
    await Installations(stores[0]).async_save(
        installation("xoxb-short", "r", int(time.time()) + 600)
    )
    rotator = AsyncTokenRotator(
        client_id=APP.client_id,
        client_secret=APP.client_secret,
        client=AsyncWebClient(base_url=api_url),
    )
    workspaces = InstalledWorkspaces(Installations(stores[0]), rotator)
    assert await workspaces.token("T0TEAM") == "xoxb-short"  # ten minutes of ten left
    assert oauth.refreshes == 0
