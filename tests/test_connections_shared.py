"""Processes on one PostgreSQL share their providers' connections: an admin who
disconnects a provider, or connects it again with other credentials, in one process is
obeyed by every other at once, not after its restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import aiohttp
import pytest

from bot.connections import Connections, NotConnected
from bot.credentials import CredentialBox, generate_key
from bot.provider import BadCredentials, Provider, TwoFactorRequired
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


class TwoFactorI3D(I3DProvider):
    """i3D.net as if it asked for a one-time code at sign-in; counts the codes answered."""

    answered: ClassVar[list[str]] = []

    async def verify(self) -> None:
        if not self.answered:
            raise TwoFactorRequired("Type the code we sent.", "challenge-1")

    async def answer_two_factor(self, challenge: str, code: str) -> None:
        self.answered.append(code)


async def test_a_sign_in_taken_in_another_process_is_not_taken_again_here(
    postgres_url: str, http: aiohttp.ClientSession
) -> None:
    """The code reached another process, which finished the sign-in: the same code sent
    again to the process that received the credentials finds the sign-in over."""
    box = CredentialBox(generate_key())
    here, there = Store(postgres_url, box), Store(postgres_url, box)
    TwoFactorI3D.answered.clear()
    try:
        registry: dict[str, type[Provider]] = {"i3d": TwoFactorI3D}
        ours, theirs = Connections(here, registry, http), Connections(there, registry, http)
        with pytest.raises(TwoFactorRequired):
            await ours.connect(TEAM, "i3d", credentials("key"), connected_by="U0ADMIN")
        await theirs.answer_two_factor(TEAM, "challenge-1", "123456")
        with pytest.raises(BadCredentials, match="expired"):
            await ours.answer_two_factor(TEAM, "challenge-1", "123456")
        assert TwoFactorI3D.answered == ["123456"]
    finally:
        here.close()
        there.close()


async def test_removing_the_app_deletes_a_sign_in_waiting_for_its_code(
    postgres_url: str, http: aiohttp.ClientSession
) -> None:
    """A workspace that removes the app has its providers' credentials deleted, the
    sealed ones of a sign-in still waiting for its code too."""
    store = Store(postgres_url, CredentialBox(generate_key()))
    TwoFactorI3D.answered.clear()
    try:
        connections = Connections(store, {"i3d": TwoFactorI3D}, http)
        with pytest.raises(TwoFactorRequired):
            await connections.connect(TEAM, "i3d", credentials("key"), connected_by="U0ADMIN")
        assert store.db.execute("SELECT COUNT(*) FROM sign_ins").fetchone()[0] == 1
        connections.forget_team(TEAM)
        assert store.db.execute("SELECT COUNT(*) FROM sign_ins").fetchone()[0] == 0
    finally:
        store.close()


async def test_the_connected_list_is_one_read_that_a_disconnect_meanwhile_cannot_break(
    postgres_url: str, http: aiohttp.ClientSession
) -> None:
    """Every list, App Home and schedule asks which providers are connected: on a shared
    database that is one read of the team's connections, not one more per provider, and
    a provider another process disconnects just after it breaks nothing."""
    box = CredentialBox(generate_key())
    here, there = Store(postgres_url, box), Store(postgres_url, box)
    try:
        ours = Connections(here, {"i3d": I3DProvider}, http)
        here.save_connection(TEAM, "i3d", credentials("key"), connected_by="U0ADMIN")
        reads: list[str] = []
        execute = here.db.execute

        def counted(sql: str, *args: Any, **kwargs: Any) -> Any:
            reads.append(sql)
            answer = execute(sql, *args, **kwargs)
            if "connections" in sql:  # another process disconnects it just after
                there.remove_connection(TEAM, "i3d")
            return answer

        here.db.execute = counted  # type: ignore[method-assign]
        assert [p.name for p in ours.connected(TEAM)] == ["i3d"]
        assert len(reads) == 1
        here.db.execute = execute  # type: ignore[method-assign]
        assert ours.connected(TEAM) == []
    finally:
        here.close()
        there.close()


async def test_a_sign_in_whose_code_never_came_is_deleted_after_its_ten_minutes(
    postgres_url: str, http: aiohttp.ClientSession
) -> None:
    """Nobody typed the code: its sealed credentials do not stay in the database until
    someone else signs in, they go once the sign-in's ten minutes are over."""
    store = Store(postgres_url, CredentialBox(generate_key()))
    TwoFactorI3D.answered.clear()
    try:
        connections = Connections(store, {"i3d": TwoFactorI3D}, http)
        with pytest.raises(TwoFactorRequired):
            await connections.connect(TEAM, "i3d", credentials("key"), connected_by="U0ADMIN")
        await connections.forget_old_sign_ins()
        assert store.db.execute("SELECT COUNT(*) FROM sign_ins").fetchone()[0] == 1
        store.db.execute("UPDATE sign_ins SET started_at = started_at - 601")
        connections._next_purge = 0.0  # a minute later
        await connections.forget_old_sign_ins()
        assert store.db.execute("SELECT COUNT(*) FROM sign_ins").fetchone()[0] == 0
    finally:
        store.close()
