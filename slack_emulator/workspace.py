"""The workspace's people, places and messages: what Slack would hold for one team.

Everything a user or the bot can see lives here, so the Web API, the response_url
endpoints, the user-side client and the page all read and change one state. Every change
bumps `changes.version`, which the page long-polls on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from slack_emulator.clock import Clock, SystemClock
from slack_emulator.directory import Channel, User, UserGroup, default_channels, default_users

BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
SLACKBOT_USER_ID = "USLACKBOT"
T = TypeVar("T")


@dataclass(frozen=True)
class Enterprise:
    """The Enterprise Grid organization a workspace belongs to."""

    id: str
    name: str


@dataclass
class Message:
    """A channel message, or an ephemeral one when `ephemeral_to` names its only reader."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str
    bot_id: str | None = None
    ephemeral_to: str | None = None
    thread_ts: str | None = None
    edited: bool = False
    metadata: dict[str, Any] | None = None
    """Message metadata (`event_type`, `event_payload`), shown only to those who ask."""
    files: list[dict[str, Any]] = field(default_factory=list)
    """Files shared with the message (`files.completeUploadExternal`)."""
    # What each user has picked in this message's selects and checkboxes:
    # selections[user_id][block_id][action_id] = a state.values entry.
    selections: dict[str, dict[str, dict[str, dict[str, Any]]]] = field(default_factory=dict)

    def to_api(self, team_id: str, app_id: str) -> dict[str, Any]:
        """The message as Slack's Web API and interaction payloads show it."""
        shown: dict[str, Any] = {
            "type": "message",
            "ts": self.ts,
            "user": self.user,
            "text": self.text,
            "team": team_id,
            "blocks": self.blocks,
        }
        if self.bot_id:
            shown.update(bot_id=self.bot_id, app_id=app_id)
        if self.thread_ts:
            shown["thread_ts"] = self.thread_ts
        if self.edited:
            shown["edited"] = {"user": self.user, "ts": self.ts}
        if self.files:
            shown["files"] = self.files
        return shown


class Changes:
    """A version counter that waiters can block on (the page's long-poll)."""

    def __init__(self) -> None:
        self.version = 0
        self._event = asyncio.Event()

    def touch(self) -> None:
        self.version += 1
        self._event.set()
        self._event = asyncio.Event()

    async def until(self, condition: Callable[[], T], seconds: float) -> T:
        """`condition()` once it is truthy, re-checked after every change; TimeoutError if not."""
        deadline = time.monotonic() + seconds
        while True:
            seen = self.version
            result = condition()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {seconds} s")
            await self.wait(seen, remaining)

    def release(self) -> None:
        """Wake every waiter now, the version unchanged: the server is stopping, and a
        page's long-poll would otherwise hold its shutdown for the whole grace period."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, since: int, seconds: float) -> int:
        """The version once it is past `since`, or after `seconds` whatever it is."""
        if self.version <= since:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), seconds)
        return self.version


class Workspace:
    """One team (T0TEAM "Acme" by default) with its users, channels, DMs and messages;
    with `enterprise`, a workspace of that Enterprise Grid organization."""

    def __init__(
        self,
        *,
        team_id: str = "T0TEAM",
        team_name: str = "Acme",
        team_domain: str = "acme",
        app_id: str = "A0INVOICEBOT",
        users: Iterable[User] | None = None,
        channels: Iterable[Channel] | None = None,
        usergroups: Iterable[UserGroup] | None = None,
        clock: Clock | None = None,
        enterprise: Enterprise | None = None,
    ) -> None:
        self.team_id, self.team_name, self.team_domain = team_id, team_name, team_domain
        self.enterprise = enterprise
        self.org_wide_install = False
        """The app was installed on the whole organization rather than on this workspace."""
        self.app_id = app_id
        self.clock: Clock = clock or SystemClock()
        self.users = {u.id: u for u in (default_users() if users is None else users)}
        self.users.setdefault(BOT_USER_ID, User(BOT_USER_ID, "invoicebot", "invoicebot", True))
        chosen = default_channels(self.users) if channels is None else channels
        self.channels = {c.id: c for c in chosen}
        default_groups = [UserGroup("S0PAYERS", "payers", "Payers", ["U0PAYER"])]
        self.usergroups = {g.id: g for g in (default_groups if usergroups is None else usergroups)}
        self.messages: dict[str, list[Message]] = {cid: [] for cid in self.channels}
        self.ephemerals: dict[tuple[str, str], list[Message]] = {}
        self.changes = Changes()
        self._last_ts = (0, 0)
        for user in list(self.users.values()):
            if not user.is_bot:
                self.dm_with(user.id)

    def next_ts(self) -> str:
        """A Slack-style `ts`, strictly increasing even when the clock stands still."""
        seconds, seq = self._last_ts
        now = int(self.clock.now())
        self._last_ts = (now, 1) if now > seconds else (seconds, seq + 1)
        return f"{self._last_ts[0]}.{self._last_ts[1]:06d}"

    def dm_with(self, user_id: str) -> Channel:
        """The bot's DM with `user_id`, created on first use like conversations.open."""
        for channel in self.channels.values():
            if channel.is_im and channel.im_user == user_id:
                return channel
        dm = Channel("D" + user_id[1:], "", [user_id, BOT_USER_ID], is_im=True, im_user=user_id)
        self.channels[dm.id] = dm
        self.messages[dm.id] = []
        return dm

    def resolve_channel(self, ref: str) -> Channel | None:
        """A channel from an id, a `#name`/name, or a user id (meaning the DM with the bot)."""
        if ref in self.channels:
            return self.channels[ref]
        if ref in self.users and not self.users[ref].is_bot:
            return self.dm_with(ref)
        name = ref.removeprefix("#")
        return next((c for c in self.channels.values() if c.name and c.name == name), None)

    def channels_of(self, user_id: str) -> list[Channel]:
        return [c for c in self.channels.values() if user_id in c.members]

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]], **kw: Any) -> Message:
        message = Message(channel, self.next_ts(), text, blocks, **kw)
        if message.ephemeral_to:
            self.ephemerals.setdefault((channel, message.ephemeral_to), []).append(message)
        else:
            self.messages[channel].append(message)
        self.changes.touch()
        return message

    def find(
        self, ts: str, *, channel: str | None = None, viewer: str | None = None
    ) -> Message | None:
        """A channel message by ts, or one of `viewer`'s ephemerals."""
        for message in self._visible(viewer):
            if message.ts == ts and channel in (None, message.channel):
                return message
        return None

    def _visible(self, viewer: str | None) -> Iterable[Message]:
        for messages in self.messages.values():
            yield from messages
        for (_, to_user), messages in self.ephemerals.items():
            if to_user == viewer:
                yield from messages

    def replace(self, message: Message, text: str, blocks: list[dict[str, Any]]) -> None:
        message.text, message.blocks, message.selections = text, blocks, {}
        message.edited = message.ephemeral_to is None
        self.changes.touch()

    def delete(self, message: Message) -> None:
        if message.ephemeral_to:
            self.ephemerals[(message.channel, message.ephemeral_to)].remove(message)
        else:
            self.messages[message.channel].remove(message)
        self.changes.touch()

    def team(self) -> dict[str, str]:
        """The `team` of an interaction payload; a Grid workspace names its organization."""
        shown = {"id": self.team_id, "domain": self.team_domain}
        if self.enterprise is not None:
            shown.update(enterprise_id=self.enterprise.id, enterprise_name=self.enterprise.name)
        return shown

    def enterprise_api(self) -> dict[str, str] | None:
        """The `enterprise` object of payloads and oauth.v2.access: None outside Grid."""
        org = self.enterprise
        return None if org is None else {"id": org.id, "name": org.name}
