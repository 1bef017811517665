"""What the Slack listeners need, built once per process by the web app."""

from __future__ import annotations

from dataclasses import dataclass

from bot.access import Access
from bot.checkout import Checkout
from bot.connections import Connections
from bot.payments import Payments
from bot.settings import Settings
from bot.store import Store


@dataclass
class Services:
    settings: Settings
    store: Store
    connections: Connections
    payments: Payments
    checkout: Checkout
    access: Access

    def provider_named(self, word: str) -> str | None:
        cls = self.connections.find_class(word)
        return cls.name if cls else None
