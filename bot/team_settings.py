"""Each workspace's own choices, for a bot installed in several: billing channel, admins,
payers and their user groups. One workspace (`SLACK_BOT_TOKEN`) takes them from the
environment instead.

Rows of the `team_settings` key/value table, values as JSON.
"""

from __future__ import annotations

import json
from typing import Any

from bot.settings import Settings
from bot.store import Store, now_iso

BILLING_CHANNEL = "billing_channel"
ADMINS = "admins"
PAYERS = "payers"
ADMIN_GROUPS = "admin_groups"
PAYER_GROUPS = "payer_groups"
_SEEDS = {ADMIN_GROUPS: "admin_group", PAYER_GROUPS: "payer_group"}
"""The environment's one group for each (INVOICEBOT_ADMIN_GROUP, ..._PAYER_GROUP)."""


class TeamSettings:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def get(self, team_id: str, key: str) -> Any:
        row = self.store.db.execute(
            "SELECT value FROM team_settings WHERE team_id = ? AND key = ?", [team_id, key]
        ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, team_id: str, key: str, value: Any, user_id: str) -> None:
        self.store.db.execute(
            "INSERT INTO team_settings (team_id, key, value, updated_by, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (team_id, key) DO UPDATE SET "
            "value = excluded.value, updated_by = excluded.updated_by, "
            "updated_at = excluded.updated_at",
            [team_id, key, json.dumps(value), user_id, now_iso()],
        )

    def billing_channel(self, team_id: str) -> str | None:
        if not self.settings.oauth:
            return self.settings.billing_channel
        value = self.get(team_id, BILLING_CHANNEL)
        return str(value) if value else None

    def people(self, team_id: str, key: str) -> frozenset[str]:
        """Admins or payers: the environment's, and in a workspace installed by OAuth
        also those chosen there (the installer is its first admin)."""
        configured: frozenset[str] = getattr(self.settings, key)
        if not self.settings.oauth:
            return configured
        return configured | frozenset(self.get(team_id, key) or ())

    def groups(self, team_id: str, key: str) -> tuple[str, ...]:
        """Admin or payer user group ids: the environment's one, or those a workspace
        installed by OAuth chose (a group id means nothing in another workspace)."""
        if not self.settings.oauth:
            seeded: str | None = getattr(self.settings, _SEEDS[key])
            return (seeded,) if seeded else ()
        return tuple(str(group) for group in self.get(team_id, key) or ())

    def add_admin(self, team_id: str, user_id: str, *, by: str) -> None:
        admins = set(self.get(team_id, ADMINS) or ())
        if user_id not in admins:
            self.put(team_id, ADMINS, sorted({*admins, user_id}), by)
