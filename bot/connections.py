"""Which providers each workspace connected, as ready-to-use provider objects.

Instances are kept for the life of the process so a provider can cache its own session
(an OAuth token, a JWT) across requests; reconnecting replaces the instance.
"""

from __future__ import annotations

import aiohttp
from pydantic import BaseModel

from bot.provider import Provider, ProviderError
from bot.store import Store


class NotConnected(ProviderError):
    """The workspace has not connected this provider (or no such provider is installed)."""


class Connections:
    def __init__(
        self, store: Store, registry: dict[str, type[Provider]], http: aiohttp.ClientSession
    ) -> None:
        self.store = store
        self.registry = registry
        self.http = http
        self._instances: dict[tuple[str, str], Provider] = {}

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
        if key not in self._instances:
            credentials = self.store.connection(team_id, name, cls.Credentials)
            if credentials is None:
                raise NotConnected(
                    f"{cls.title} is not connected. An admin can connect it with "
                    f"`/invoices connect {cls.name}`."
                )
            self._instances[key] = cls(credentials, self.http)
        return self._instances[key]

    def connected(self, team_id: str) -> list[Provider]:
        return [
            self.get(team_id, name)
            for name in self.store.connected_providers(team_id)
            if name in self.registry
        ]

    async def connect(
        self, team_id: str, name: str, credentials: BaseModel, *, connected_by: str
    ) -> Provider:
        """Check the credentials with the provider, then store them encrypted."""
        provider = self.provider_class(name)(credentials, self.http)
        await provider.verify()
        self.store.save_connection(team_id, name, credentials, connected_by=connected_by)
        self._instances[(team_id, name)] = provider
        return provider

    def disconnect(self, team_id: str, name: str) -> bool:
        self._instances.pop((team_id, name), None)
        return self.store.remove_connection(team_id, name)
