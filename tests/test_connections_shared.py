"""Processes on one PostgreSQL share their providers' connections: an admin who
disconnects a provider, or connects it again with other credentials, in one process is
obeyed by every other at once, not after its restart."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.connections import Connections, NotConnected
from bot.credentials import CredentialBox, generate_key
from bot.store import Store
from plugins.i3d import I3DCredentials, I3DProvider

TEAM = "T0TEAM"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def credentials(key: str) -> I3DCredentials:
    return I3DCredentials(api_key=key, base_url="http://127.0.0.1:1")


async def test_a_provider_disconnected_or_reconnected_elsewhere_is_obeyed_here(
    postgres_url: str, http: aiohttp.ClientSession
) -> None:
    box = CredentialBox(generate_key())
    here, there = Store(postgres_url, box), Store(postgres_url, box)
    try:
        registry = {"i3d": I3DProvider}
        ours, theirs = Connections(here, registry, http), Connections(there, registry, http)
        here.save_connection(TEAM, "i3d", credentials("old-key"), connected_by="U0ADMIN")
        assert [p.name for p in ours.connected(TEAM)] == ["i3d"]
        assert ours.get(TEAM, "i3d").credentials.api_key.get_secret_value() == "old-key"

        assert theirs.disconnect(TEAM, "i3d")
        assert ours.connected(TEAM) == []
        with pytest.raises(NotConnected):
            ours.get(TEAM, "i3d")

        there.save_connection(TEAM, "i3d", credentials("new-key"), connected_by="U0ADMIN")
        assert [p.name for p in ours.connected(TEAM)] == ["i3d"]
        there.save_connection(TEAM, "i3d", credentials("newer-key"), connected_by="U0ADMIN")
        assert ours.get(TEAM, "i3d").credentials.api_key.get_secret_value() == "newer-key"
    finally:
        here.close()
        there.close()
