"""Which bot token speaks for a workspace: the one `SLACK_BOT_TOKEN`, or an installation's.

Everything that calls Slack outside a request (the outbox sender, access checks on user
groups) asks `token(team_id)` here, so with the app installed in several workspaces each
call goes out with its own workspace's token. Installed tokens rotate: a token close to
expiry is refreshed under the installation's lease (see `bot.installations`), and a
process that finds the lease taken waits and reads what the holder saved.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

import aiohttp
from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator

from bot.installations import ISSUED_AT_KEY, Installations

log = logging.getLogger(__name__)

REFRESH_LEASE = 30.0
"""Seconds a process may hold an installation's refresh: longer than one Slack call."""
REFRESH_WAIT = 35.0
"""How long another process waits for that refresh before using what it has."""
REFRESH_POLL = 0.05


class BotTokens(Protocol):
    async def token(self, team_id: str | None) -> str | None:
        """The bot token for the workspace, or None when it is not installed."""


class SingleWorkspace:
    """`SLACK_BOT_TOKEN`: one workspace and a token that does not expire."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, team_id: str | None) -> str | None:
        return self._token


class InstalledWorkspaces:
    """Workspaces installed by OAuth, their bot tokens refreshed before they expire."""

    def __init__(
        self,
        installations: Installations,
        rotator: AsyncTokenRotator,
        *,
        minutes_before_expiration: int = 120,
        lease: float = REFRESH_LEASE,
        wait: float = REFRESH_WAIT,
    ) -> None:
        self.installations = installations
        self.rotator = rotator
        self.minutes_before_expiration = minutes_before_expiration
        self.lease = lease
        self.wait = wait

    def _expiring(self, bot: Bot) -> bool:
        """Within the margin before expiry: two hours, or half the token's life if that
        is shorter, so a short-lived token is not refreshed on every request."""
        expires = bot.bot_token_expires_at
        if expires is None:
            return False
        margin = self.minutes_before_expiration * 60.0
        issued = bot.custom_values.get(ISSUED_AT_KEY)
        if isinstance(issued, float | int):
            margin = min(margin, (expires - issued) / 2)
        return expires <= time.time() + margin

    @staticmethod
    def _alive(bot: Bot) -> bool:
        """The token still works for now, even if it could not be refreshed."""
        expires = bot.bot_token_expires_at
        return expires is None or expires > time.time()

    async def token(self, team_id: str | None) -> str | None:
        """A workspace of a Grid organization is installed under both ids: find which."""
        enterprise_id = self.installations.enterprise_of(team_id) if team_id else None
        bot = await self.bot(enterprise_id, team_id)
        return bot.bot_token if bot else None

    async def bot(
        self, enterprise_id: str | None, team_id: str | None, *, is_enterprise_install: bool = False
    ) -> Bot | None:
        """The installation's bot, with a token that is not about to expire."""

        async def read() -> Bot | None:
            return await self.installations.async_find_bot(
                enterprise_id=enterprise_id,
                team_id=team_id,
                is_enterprise_install=is_enterprise_install,
            )

        bot = await read()
        if bot is None or not self._expiring(bot):
            return bot
        seen = bot.bot_token
        deadline = time.monotonic() + self.wait
        while True:
            holder = self.installations.claim_refresh(
                bot.enterprise_id, None if is_enterprise_install else team_id, lease=self.lease
            )
            if holder is None:  # another process is refreshing: read what it saves
                if time.monotonic() > deadline:
                    log.warning("workspace %s: a token refresh is taking long", team_id)
                    return bot
                await asyncio.sleep(REFRESH_POLL)
                bot = await read()
                if bot is None or bot.bot_token != seen or not self._expiring(bot):
                    return bot
                continue
            try:
                return await self._refresh(await read(), seen)
            finally:
                self.installations.release_refresh(holder)

    async def _refresh(self, bot: Bot | None, seen: str) -> Bot | None:
        """Under the lease, with the row read again: spend the refresh token only if no
        other process did in the meantime (the token is still the one `seen` expiring),
        and save the new pair before letting go. A token refreshed a moment ago is used
        as it is, even when tokens live shorter than the margin before expiry."""
        if bot is None or bot.bot_token != seen or not self._expiring(bot):
            return bot
        try:
            rotated = await self.rotator.perform_bot_token_rotation(
                bot=bot, minutes_before_expiration=self.minutes_before_expiration
            )
        except SlackTokenRotationError as error:
            log.error(
                "workspace %s: Slack refused to refresh the bot token (%s)",
                bot.team_id,
                error.api_error.response.get("error"),
            )
            return bot if self._alive(bot) else None
        except (aiohttp.ClientError, TimeoutError) as error:
            # If Slack did refresh and the answer was lost, the refresh token is spent.
            log.error("workspace %s: no answer to a token refresh (%r)", bot.team_id, error)
            return bot if self._alive(bot) else None
        if rotated is None:
            return bot
        await self.installations.async_save_bot(rotated)
        log.info("workspace %s: bot token refreshed", bot.team_id)
        return rotated
