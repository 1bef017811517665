"""Which providers each workspace connected, as ready-to-use provider objects.

Instances are kept for the life of the process so a provider can cache its own session
(an OAuth token, a JWT) across requests; reconnecting replaces the instance. On a
database other processes share, each use reads the stored connection again: an admin
may disconnect or reconnect it in any of them, and every process obeys at once.
"""

from __future__ import annotations

import time

import aiohttp
from pydantic import BaseModel

from bot.provider import BadCredentials, Provider, ProviderError, TwoFactorRequired, WrongCode
from bot.store import Store

TWO_FACTOR_WINDOW = 10 * 60.0


class NotConnected(ProviderError):
    """The workspace has not connected this provider (or no such provider is installed)."""


class Connections:
    def __init__(
        self, store: Store, registry: dict[str, type[Provider]], http: aiohttp.ClientSession
    ) -> None:
        self.store = store
        self.registry = registry
        self.http = http
        self._instances: dict[tuple[str, str], tuple[bytes, Provider]] = {}
        """Each provider object with the sealed credentials it was made from."""
        # Which providers each team has, read once: every command asks, few change it.
        self._names: dict[str, tuple[str, ...]] = {}
        # Sign-ins waiting for a one-time code (wall-clock start): the code is never stored;
        # on a shared database the sign-in is kept there too, sealed (`_share_sign_in`).
        self._pending: dict[tuple[str, str], tuple[float, Provider, str]] = {}
        self._next_purge = 0.0  # monotonic: when `forget_old_sign_ins` next deletes

    def provider_class(self, name: str) -> type[Provider]:
        cls = self.registry.get(name)
        if cls is None:
            known = ", ".join(sorted(self.registry)) or "none"
            raise NotConnected(f"There is no provider called “{name}”. Installed: {known}.")
        return cls

    def find_class(self, word: str) -> type[Provider] | None:
        """A provider by its name or its title, ignoring case ("i3d", "i3D.net")."""
        wanted = word.casefold()
        for cls in self.registry.values():
            if wanted in (cls.name.casefold(), cls.title.casefold()):
                return cls
        return None

    def get(self, team_id: str, name: str) -> Provider:
        cls = self.provider_class(name)
        key = (team_id, name)
        kept = self._instances.get(key)
        if kept is not None and not self.store.shared:
            return kept[1]  # one process on the file: only this one changes it
        sealed = self.store.sealed_connection(team_id, name)
        if sealed is None:
            self._instances.pop(key, None)
            raise NotConnected(
                f"{cls.title} is not connected. An admin can connect it with "
                f"`/invoices connect {cls.name}`."
            )
        return self._made(key, cls, sealed)

    def _made(self, key: tuple[str, str], cls: type[Provider], sealed: bytes) -> Provider:
        """The kept provider object, or a new one when its credentials were saved anew."""
        kept = self._instances.get(key)
        if kept is None or kept[0] != sealed:
            credentials = self.store.open_connection(sealed, cls.Credentials)
            kept = self._instances[key] = (sealed, cls(credentials, self.http))
        return kept[1]

    def connected(self, team_id: str) -> list[Provider]:
        if self.store.shared:  # one read of them all: a disconnect just after breaks nothing
            stored = self.store.sealed_connections(team_id)
            live = {name for name, _ in stored}
            for key in [k for k in self._instances if k[0] == team_id and k[1] not in live]:
                del self._instances[key]  # disconnected: its session goes with it
            return [
                self._made((team_id, name), self.registry[name], sealed)
                for name, sealed in stored
                if name in self.registry
            ]
        names = self._names.get(team_id)
        if names is None:
            names = self._names[team_id] = tuple(self.store.connected_providers(team_id))
        return [self.get(team_id, name) for name in names if name in self.registry]

    async def connect(
        self, team_id: str, name: str, credentials: BaseModel, *, connected_by: str
    ) -> Provider:
        """Check the credentials with the provider, then store them encrypted.

        A provider that asks for a one-time code raises `TwoFactorRequired`; the sign-in
        waits here, in memory (and, on a shared database, sealed in `sign_ins` for any
        process) for ten minutes, until `answer_two_factor` brings the code.
        """
        provider = self.provider_class(name)(credentials, self.http)
        try:
            await provider.verify()
        except TwoFactorRequired as challenge:
            pending = (time.time(), provider, connected_by)
            self._pending[(team_id, challenge.challenge)] = pending
            self._share_sign_in(team_id, challenge.challenge, pending)
            raise
        return self._keep(team_id, provider, connected_by)

    def _share_sign_in(
        self, team_id: str, challenge: str, pending: tuple[float, Provider, str]
    ) -> None:
        """On a database other processes share, the code may reach any of them: the
        sign-in is kept there too, its credentials sealed as a connection's are."""
        if not self.store.shared:
            return
        started, provider, connected_by = pending
        self.store.keep_sign_in(
            team_id,
            challenge,
            provider.name,
            provider.credentials,
            connected_by=connected_by,
            started_at=started,
            forget_before=time.time() - TWO_FACTOR_WINDOW,
        )

    async def forget_old_sign_ins(self) -> None:
        """Delete kept sign-ins whose ten minutes are over (at most once a minute): their
        sealed credentials must not wait in the database for the next sign-in."""
        now = time.monotonic()
        if not self.store.shared or now < self._next_purge:
            return
        self._next_purge = now + 60.0
        self.store.forget_sign_ins(before=time.time() - TWO_FACTOR_WINDOW)

    def _take_sign_in(self, team_id: str, challenge: str) -> tuple[float, Provider, str] | None:
        """The sign-in, taken once: on a shared database its row decides, so a code sent
        again here after another process took it finds it over, not signs in twice."""
        pending = self._pending.pop((team_id, challenge), None)
        if not self.store.shared:
            return pending
        kept = self.store.take_sign_in(team_id, challenge)
        if kept is None:
            return None
        if pending is None:
            name, sealed, connected_by, started = kept
            cls = self.provider_class(name)
            credentials = self.store.open_connection(sealed, cls.Credentials)
            pending = (started, cls(credentials, self.http), connected_by)
        return pending

    async def answer_two_factor(self, team_id: str, challenge: str, code: str) -> Provider:
        pending = self._take_sign_in(team_id, challenge)
        if pending is None or time.time() - pending[0] > TWO_FACTOR_WINDOW:
            raise BadCredentials("That sign-in has expired. Connect the provider again.")
        _, provider, connected_by = pending
        try:
            await provider.answer_two_factor(challenge, code)
        except WrongCode:
            self._pending[(team_id, challenge)] = pending  # same challenge, another try
            self._share_sign_in(team_id, challenge, pending)
            raise
        await provider.verify()
        return self._keep(team_id, provider, connected_by)

    def _keep(self, team_id: str, provider: Provider, connected_by: str) -> Provider:
        sealed = self.store.save_connection(
            team_id, provider.name, provider.credentials, connected_by=connected_by
        )
        self._instances[(team_id, provider.name)] = (sealed, provider)
        self._names.pop(team_id, None)
        return provider

    def forget_team(self, team_id: str) -> list[str]:
        """Every provider of a workspace that removed the app: credentials deleted."""
        for key in [key for key in self._instances if key[0] == team_id]:
            del self._instances[key]
        self._pending = {k: v for k, v in self._pending.items() if k[0] != team_id}
        self._names.pop(team_id, None)
        return self.store.remove_team_connections(team_id)

    def disconnect(self, team_id: str, name: str) -> bool:
        self._instances.pop((team_id, name), None)
        self._names.pop(team_id, None)
        return self.store.remove_connection(team_id, name)
