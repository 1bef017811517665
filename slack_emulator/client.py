"""The user's side of Slack: type slash commands, click, pick, submit and close modals.

`Emulator` holds the whole fake Slack (workspace, modals, response_urls, Web API log and
faults) and sends each user action to the bot exactly as Slack would: signed, with a
fresh trigger_id and response_url, then shows the bot's acknowledgement the way Slack
shows it. The JSON API and the page drive these same methods.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from slack_emulator import clicks, payloads
from slack_emulator.calls import ApiCall, Faults, SlackError
from slack_emulator.clock import Clock
from slack_emulator.delivery import BotLink, BotReply
from slack_emulator.directory import Channel
from slack_emulator.elements import UserActionError
from slack_emulator.events import Events
from slack_emulator.files import Files
from slack_emulator.modals import OpenView, Surfaces
from slack_emulator.response_urls import ResponseUrls
from slack_emulator.submissions import apply_ack, fill, missing_required, outside_lengths
from slack_emulator.workspace import BOT_ID, SLACKBOT_USER_ID, Message, Workspace

if TYPE_CHECKING:
    from slack_emulator.oauth import OAuthServer

T = TypeVar("T")


class Emulator:
    """A local Slack with one bot; `create_app` serves it, tests may also drive it directly."""

    def __init__(
        self,
        *,
        request_url: str,
        signing_secret: str,
        bot_token: str,
        clock: Clock | None = None,
        workspace: Workspace | None = None,
        public_url: str | None = None,
        ack_timeout: float = 3.0,
        bot_scopes: Iterable[str] | None = None,
    ) -> None:
        self.workspace = workspace or Workspace()
        if clock is not None:
            self.workspace.clock = clock
        self.clock = self.workspace.clock
        self.surfaces = Surfaces(self.workspace.changes, self.clock)
        self.response_urls = ResponseUrls(self.workspace, self.clock)
        self.bot = BotLink(request_url, signing_secret, ack_timeout)
        self.events = Events(self.bot, self.clock, self.workspace.changes)
        self.bot_token = bot_token
        self.bot_scopes = None if bot_scopes is None else frozenset(bot_scopes)
        """The scopes `bot_token` was granted; None grants every scope the emulator checks."""
        self.public_url = public_url
        self.calls: list[ApiCall] = []
        self.faults = Faults()
        self.files = Files()
        self.oauth: OAuthServer | None = None
        """Set when the app is installed by OAuth (`slack_emulator.oauth`)."""

    # What a user sees -------------------------------------------------------------------

    def messages(self, channel_id: str) -> list[Message]:
        return list(self.workspace.messages[channel_id])

    def ephemerals(self, user_id: str, channel_id: str | None = None) -> list[Message]:
        shown = self.workspace.ephemerals.items()
        return [m for (c, u), ms in shown for m in ms if u == user_id and channel_id in (None, c)]

    def modal(self, user_id: str) -> OpenView | None:
        return self.surfaces.top(user_id)

    def home(self, user_id: str) -> OpenView | None:
        return self.surfaces.homes.get(user_id)

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    async def wait_until(self, condition: Callable[[], T], seconds: float = 5.0) -> T:
        """Wait for the bot's background work to show, e.g. a message after `respond()`."""
        return await self.workspace.changes.until(condition, seconds)

    # What a user does -------------------------------------------------------------------

    async def slash_command(
        self, user_id: str, channel_id: str, text: str = "", *, command: str = "/invoices"
    ) -> BotReply:
        """Type `/command text` in a channel; the ack's message (if any) is shown."""
        channel = self.channel_for(user_id, channel_id)
        if channel.is_archived:
            raise UserActionError(f"#{channel.name} is archived: nothing can be typed there")
        hook = self.response_urls.issue(user_id, channel.id, from_command=True, acked=False)
        trigger_id = self.surfaces.issue_trigger(user_id)
        url = self.url(f"/hooks/{hook.id}")
        body = payloads.slash_command(
            self.workspace, user_id, channel, command, text, url, trigger_id
        )
        try:
            reply = await self.bot.send(body, payloads.FORM)
            reply.trigger_id, reply.response_url = trigger_id, url
            shown = reply.json if isinstance(reply.json, dict) else {"text": reply.body}
            if reply.error is None and (shown.get("text") or shown.get("blocks")):
                try:
                    self.response_urls.respond(hook, shown)
                except SlackError as refused:
                    reply.error = refused.error
        finally:
            hook.acked.set()
        if reply.error is not None:  # Slackbot tells the user, as in Slack
            failed = f'{command} failed with the error "{reply.error}"'
            self.workspace.post(channel.id, failed, [], user=SLACKBOT_USER_ID, ephemeral_to=user_id)
        return reply

    async def click(
        self,
        user_id: str,
        target: Message | OpenView | str,
        action_id: str,
        *,
        block_id: str | None = None,
        value: str | None = None,
        selected: str | list[str] | None = None,
    ) -> BotReply | None:
        """Click a button or pick in a select/overflow/checkboxes of a message or view.

        `target` is a Message, an OpenView, a message ts or a view id. `value` tells apart
        buttons sharing an action_id, or is the text typed into a dispatching input;
        `selected` is the option value (or values) picked. Picks in input blocks without
        `dispatch_action` are only remembered (Slack sends nothing), so None is returned.
        """
        view = target if isinstance(target, OpenView) else None
        if isinstance(target, str):
            view = self.surfaces.find(target)
        if view is not None:
            return await clicks.in_view(self, user_id, view, action_id, block_id, value, selected)
        message = target if isinstance(target, Message) else None
        message = message or self.workspace.find(str(target), viewer=user_id)
        if message is None or message.ephemeral_to not in (None, user_id):
            raise UserActionError(f"{user_id} sees no message {target!r}")
        return await clicks.in_message(self, user_id, message, action_id, block_id, value, selected)

    async def submit_view(
        self, user_id: str, view_id: str | None = None, values: dict[str, Any] | None = None
    ) -> BotReply:
        """Fill `values` ({block_id: {action_id: text | option value(s)}}) and press submit."""
        view = self.surfaces.top(user_id)
        if view is None or view_id not in (None, view.id):
            raise UserActionError(f"{user_id} has no open modal {view_id or ''}".strip())
        if "submit" not in view.definition:  # Slack shows only Close: nothing to press
            raise UserActionError(f"the modal {view.id} has no submit button")
        fill(view, values or {})
        view.errors = missing_required(view)
        too_long = outside_lengths(view)
        view.errors = {**too_long, **view.errors}
        self.surfaces.changes.touch()
        if view.errors:
            error = "input_length_refused" if set(view.errors) <= set(too_long) else ""
            return BotReply(0, "", error or "required_input_missing")
        trigger_id = self.surfaces.issue_trigger(user_id)
        shown = self.view_api(view, inputs_only=True)
        payload = payloads.view_submission(self.workspace, user_id, shown, trigger_id)
        applied = self.surfaces.submitting[user_id] = asyncio.Event()
        try:
            reply = await self.bot.send(payloads.interaction(payload), payloads.FORM)
            reply.trigger_id = trigger_id
            if reply.error is None:
                reply.error = apply_ack(self.surfaces, view, reply.json if reply.body else {})
        finally:
            applied.set()
        return reply

    async def close_view(self, user_id: str, *, everything: bool = False) -> BotReply | None:
        """Press Cancel (back to the view below) or X (`everything`); view_closed if asked."""
        view = self.surfaces.top(user_id)
        if view is None:
            raise UserActionError(f"{user_id} has no open modal")
        closed = self.surfaces.close(user_id, everything=everything)
        notify = [v for v in closed if v.definition.get("notify_on_close")]
        if not notify:
            return None
        shown = self.view_api(notify[-1], inputs_only=True)
        payload = payloads.view_closed(self.workspace, user_id, shown, is_cleared=everything)
        return await self.bot.send(payloads.interaction(payload), payloads.FORM)

    async def open_home(self, user_id: str) -> BotReply:
        """Open the App Home tab: Slack sends the `app_home_opened` event (and sends it
        again, as Slack does, when the answer is late or an error: `events`)."""
        self._user(user_id)
        home = self.home(user_id)
        shown = self.view_api(home, inputs_only=False) if home else None
        dm = self.workspace.dm_with(user_id)
        body = payloads.app_home_opened(self.workspace, user_id, dm, shown, self.clock.now())
        return await self.events.deliver(body)

    async def uninstall(self) -> list[BotReply]:
        """Remove the app from this workspace: its tokens stop working, the app hears
        `app_uninstalled` and `tokens_revoked`."""
        if self.oauth is None:
            raise UserActionError("the app was not installed by OAuth")
        events = self.oauth.uninstall_events(self.workspace.team_id)
        return [await self.events.deliver(body) for body in events]

    async def close(self) -> None:
        await self.bot.close()

    # Shared with clicks and the JSON API ------------------------------------------------

    def view_api(self, view: OpenView, *, inputs_only: bool) -> dict[str, Any]:
        ws = self.workspace
        return view.to_api(ws.team_id, ws.app_id, BOT_ID, inputs_only=inputs_only)

    def _user(self, user_id: str) -> None:
        if user_id not in self.workspace.users or self.workspace.users[user_id].is_bot:
            raise UserActionError(f"no user {user_id!r}")

    def channel_for(self, user_id: str, channel_id: str) -> Channel:
        self._user(user_id)
        channel = self.workspace.resolve_channel(channel_id)
        if channel is None or user_id not in channel.members:
            raise UserActionError(f"{user_id} is not in channel {channel_id!r}")
        return channel

    def url(self, path: str) -> str:
        if not self.public_url:
            raise RuntimeError("Emulator.public_url is not set (the emulator's own base URL)")
        return self.public_url.rstrip("/") + path
