"""Workspaces that installed invoicebot by OAuth, kept in the bot's own database.

Bolt's `AsyncInstallationStore` on the tables made by `008_installations`, so every
process serving the app sees the same installs. Tokens (bot token, refresh token and
their expiry) are sealed with the same key as provider credentials; only what names
the workspace is stored in the clear.

A refresh token is single-use, so refreshing takes a lease on the installation's row
(`claim_refresh`): one process at a time, and a process that dies frees it when the
lease runs out. A PostgreSQL store would hold `SELECT … FOR UPDATE` instead.

Settings, admins and provider credentials belong to one workspace, so only workspace
installs are kept, including those of a workspace in an Enterprise Grid organization
(keyed by both ids); an install on a whole organization is refused when saved.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

from slack_bolt.error import BoltError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from bot.store import Store

log = logging.getLogger(__name__)

ISSUED_AT_KEY = "token_issued_at"
"""In a found bot's `custom_values`: when its token was saved, to tell its lifetime."""
_SEALED_FIELDS = ("bot_token", "bot_refresh_token", "bot_token_expires_at")


def _key(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool) -> list[str]:
    """The row's primary key: an org-wide install is found by its enterprise alone."""
    return [enterprise_id or "", "" if is_enterprise_install else team_id or ""]


class OrgWideInstall(BoltError):
    """Slack installed the app on a whole Grid organization, which invoicebot does not serve."""

    def __init__(self, installation: Installation) -> None:
        super().__init__(f"an install on organization {installation.enterprise_id}")
        self.enterprise_name = installation.enterprise_name


class Installations(AsyncInstallationStore):
    """Bot installations only: invoicebot asks for no user token."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        """Raises `OrgWideInstall`, saving nothing, for an install on a whole organization."""
        if installation.is_enterprise_install:
            raise OrgWideInstall(installation)
        await self.async_save_bot(installation.to_bot())
        if installation.user_id:
            self.store.db.execute(
                "UPDATE installations SET installer_user_id = ? "
                "WHERE enterprise_id = ? AND team_id = ?",
                [
                    installation.user_id,
                    *_key(
                        installation.enterprise_id,
                        installation.team_id,
                        installation.is_enterprise_install,
                    ),
                ],
            )

    async def async_save_bot(self, bot: Bot) -> None:
        """Insert or replace the workspace's tokens; a refresh in flight keeps its lease."""
        secret = {name: getattr(bot, name) for name in _SEALED_FIELDS}
        self.store.db.execute(
            "INSERT INTO installations (enterprise_id, team_id, team_name, app_id, bot_id, "
            "bot_user_id, bot_scopes, is_enterprise_install, sealed, installed_at, "
            "token_issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (enterprise_id, team_id) DO UPDATE SET "
            "team_name = excluded.team_name, app_id = excluded.app_id, "
            "bot_id = excluded.bot_id, bot_user_id = excluded.bot_user_id, "
            "bot_scopes = excluded.bot_scopes, sealed = excluded.sealed, "
            "token_issued_at = excluded.token_issued_at",
            [
                *_key(bot.enterprise_id, bot.team_id, bot.is_enterprise_install),
                bot.team_name,
                bot.app_id,
                bot.bot_id,
                bot.bot_user_id,
                ",".join(bot.bot_scopes),
                int(bot.is_enterprise_install),
                self.store.seal_text(json.dumps(secret)),
                bot.installed_at,
                time.time(),  # tokens are saved as Slack issues them
            ],
        )

    def _row(
        self, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool
    ) -> dict[str, Any] | None:
        cursor = self.store.db.execute(
            "SELECT * FROM installations WHERE enterprise_id = ? AND team_id = ?",
            _key(enterprise_id, team_id, bool(is_enterprise_install)),
        )
        row = cursor.fetchone()
        return dict(zip([c[0] for c in cursor.description], row, strict=True)) if row else None

    def _fields(self, row: dict[str, Any]) -> dict[str, Any] | None:
        opened = self.store.open_text(row["sealed"])
        if opened is None:
            log.error(
                "the tokens of workspace %s cannot be opened: the key changed", row["team_id"]
            )
            return None
        return {
            "app_id": row["app_id"],
            "enterprise_id": row["enterprise_id"] or None,
            "team_id": row["team_id"] or None,
            "team_name": row["team_name"],
            "bot_id": row["bot_id"],
            "bot_user_id": row["bot_user_id"],
            "bot_scopes": row["bot_scopes"] or "",
            "is_enterprise_install": bool(row["is_enterprise_install"]),
            "installed_at": row["installed_at"],
            "custom_values": {ISSUED_AT_KEY: row["token_issued_at"]},
            **json.loads(opened),
        }

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        row = self._row(enterprise_id, team_id, bool(is_enterprise_install))
        fields = self._fields(row) if row else None
        return Bot(**fields) if fields else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        row = self._row(enterprise_id, team_id, bool(is_enterprise_install))
        fields = self._fields(row) if row else None
        if fields is None or row is None:
            return None
        return Installation(**fields, user_id=row["installer_user_id"] or "")

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.store.db.execute(
            "DELETE FROM installations WHERE enterprise_id = ? AND team_id = ?",
            [enterprise_id or "", team_id or ""],
        )

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:  # there are no user installations to delete one by one
            await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    def enterprise_of(self, team_id: str) -> str | None:
        """The Grid organization a workspace installed in belongs to, None outside Grid.
        Its row is keyed by both, and outside a request only the workspace is known."""
        row = self.store.db.execute(
            "SELECT enterprise_id FROM installations "
            "WHERE team_id = ? AND is_enterprise_install = 0",
            [team_id],
        ).fetchone()
        return (str(row[0]) or None) if row else None

    def installed_teams(self) -> list[str]:
        return [row[0] for row in self.store.db.execute("SELECT team_id FROM installations")]

    # the refresh lease --------------------------------------------------------------

    def claim_refresh(
        self, enterprise_id: str | None, team_id: str | None, *, lease: float
    ) -> str | None:
        """A holder id when this process may refresh now, None when another one is.

        One conditional UPDATE: sqlite applies it atomically, so of two processes asking
        at once exactly one gets the row until `lease` seconds pass or it releases it.
        """
        holder, now = secrets.token_hex(8), time.time()
        cursor = self.store.db.execute(
            "UPDATE installations SET refresh_holder = ?, refresh_until = ? "
            "WHERE enterprise_id = ? AND team_id = ? "
            "AND (refresh_until IS NULL OR refresh_until < ?)",
            [holder, now + lease, enterprise_id or "", team_id or "", now],
        )
        return holder if cursor.rowcount == 1 else None

    def release_refresh(self, holder: str) -> None:
        self.store.db.execute(
            "UPDATE installations SET refresh_holder = NULL, refresh_until = NULL "
            "WHERE refresh_holder = ?",
            [holder],
        )
