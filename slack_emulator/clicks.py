"""Clicks and picks in messages and views, sent as Slack's block_actions payloads.

A pick is remembered per user in the message (or in the view) so that later payloads
carry it in `state.values`. Every click gets a fresh trigger_id; clicks in messages also
get a response_url tied to that message, so `replace_original` replaces it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_emulator import payloads
from slack_emulator.delivery import BotReply
from slack_emulator.elements import (
    UserActionError,
    action_for,
    entry_for,
    find_element,
    has_state,
    state_values,
)
from slack_emulator.modals import OpenView
from slack_emulator.workspace import Message

if TYPE_CHECKING:
    from slack_emulator.client import Emulator

Block = dict[str, Any]


def _pick(
    blocks: list[Block], action_id: str, block_id: str | None, value: Any, selected: Any
) -> tuple[Block, Block, Block | None]:
    """(block, element, state entry); a button has no entry, its `value` picks the twin."""
    block, element = find_element(blocks, action_id, block_id=block_id, value=value)
    if element.get("type") == "button":
        return block, element, None
    return block, element, entry_for(element, selected if selected is not None else value)


def _dispatches(block: Block) -> bool:
    """Input blocks only send block_actions when they ask for it (`dispatch_action`)."""
    return block.get("type") != "input" or bool(block.get("dispatch_action"))


async def in_message(
    emu: Emulator, user_id: str, message: Message, action_id: str,
    block_id: str | None, value: Any, selected: Any,
) -> BotReply | None:  # fmt: skip
    channel = emu.channel_for(user_id, message.channel)
    block, element, entry = _pick(message.blocks, action_id, block_id, value, selected)
    if entry is not None and has_state(element):
        picks = message.selections.setdefault(user_id, {}).setdefault(block["block_id"], {})
        picks[action_id] = entry
        emu.workspace.changes.touch()
    if not _dispatches(block):
        return None
    ws = emu.workspace
    hook = emu.response_urls.issue(user_id, channel.id, source=message, acked=False)
    trigger_id = emu.surfaces.issue_trigger(user_id)
    url = emu.url(f"/hooks/{hook.id}")
    container = {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": channel.id,
        "is_ephemeral": message.ephemeral_to is not None,
    }
    payload = payloads.block_actions(
        ws,
        user_id,
        container=container,
        actions=[action_for(block["block_id"], element, entry, f"{emu.clock.now():.6f}")],
        state=state_values(message.blocks, message.selections.get(user_id, {}), inputs_only=False),
        trigger_id=trigger_id,
        channel=channel,
        message=None if message.ephemeral_to else message.to_api(ws.team_id, ws.app_id),
        response_url=url,
    )
    try:
        reply = await emu.bot.send(payloads.interaction(payload), payloads.FORM)
    finally:
        hook.acked.set()
    reply.trigger_id, reply.response_url = trigger_id, url
    return reply


async def in_view(
    emu: Emulator, user_id: str, view: OpenView, action_id: str,
    block_id: str | None, value: Any, selected: Any,
) -> BotReply | None:  # fmt: skip
    if view.user_id != user_id:
        raise UserActionError(f"{user_id} does not see view {view.id}")
    block, element, entry = _pick(view.blocks, action_id, block_id, value, selected)
    if entry is not None and has_state(element):
        view.picks.setdefault(block["block_id"], {})[action_id] = entry
        emu.surfaces.changes.touch()
    if not _dispatches(block):
        return None
    trigger_id = emu.surfaces.issue_trigger(user_id)
    shown = emu.view_api(view, inputs_only=False)
    payload = payloads.block_actions(
        emu.workspace,
        user_id,
        container={"type": "view", "view_id": view.id},
        actions=[action_for(block["block_id"], element, entry, f"{emu.clock.now():.6f}")],
        state=shown["state"]["values"],
        trigger_id=trigger_id,
        view=shown,
    )
    reply = await emu.bot.send(payloads.interaction(payload), payloads.FORM)
    reply.trigger_id = trigger_id
    return reply
