"""The `state` of each install in progress, kept in the bot's database.

Bolt checks the state that comes back to `/slack/oauth_redirect` against this store (and
against the browser's cookie). A state is accepted once: consuming it is a DELETE that
only one caller can win, in any number of processes, so a replayed redirect is refused.
"""

from __future__ import annotations

import logging
import secrets
import time

from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.store import Store

log = logging.getLogger(__name__)


class OAuthStates(AsyncOAuthStateStore):
    def __init__(self, store: Store, *, expiration_seconds: float = 600.0) -> None:
        self.store = store
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        state = secrets.token_urlsafe(32)
        now = time.time()
        with self.store.transaction():
            self.store.db.execute("DELETE FROM oauth_states WHERE expires_at < ?", [now])
            self.store.db.execute(
                "INSERT INTO oauth_states (state, expires_at) VALUES (?, ?)",
                [state, now + self.expiration_seconds],
            )
        return state

    async def async_consume(self, state: str) -> bool:
        """True for a state issued here, unexpired and not consumed before."""
        cursor = self.store.db.execute(
            "DELETE FROM oauth_states WHERE state = ? AND expires_at >= ?",
            [state or "", time.time()],
        )
        return cursor.rowcount == 1
