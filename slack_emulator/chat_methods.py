"""chat.* Web API methods: post, post ephemeral, update and delete, with Slack's refusals.

Invalid blocks refuse the whole message (`invalid_blocks`, nothing stored). Blocks without
a top-level `text` are accepted, as Slack does, but answered with the warning
`missing_text_fallback` so tests can insist on the fallback.
"""

from __future__ import annotations

import json
from typing import Any

from slack_emulator.blockkit import MESSAGE_BLOCK_LIMIT, MESSAGE_TEXT_LIMIT, block_problems
from slack_emulator.calls import SlackError
from slack_emulator.directory import Channel
from slack_emulator.elements import with_ids
from slack_emulator.modals import Surfaces
from slack_emulator.workspace import BOT_ID, BOT_USER_ID, Message, Workspace

Args = dict[str, Any]
MISSING_TEXT_FALLBACK = "missing_text_fallback"


def message_content(args: Args, previous: Message | None = None) -> tuple[str, list, list[str]]:
    """(text, blocks, warnings) of a message body, or the SlackError Slack would answer."""
    text, blocks = args.get("text"), args.get("blocks")
    if previous is not None:
        text = previous.text if text is None else text
        blocks = previous.blocks if blocks is None else blocks
    if not text and not blocks and not args.get("attachments"):
        raise SlackError("no_text")
    text = "" if text is None else str(text)
    if len(text) > MESSAGE_TEXT_LIMIT:
        raise SlackError("msg_too_long")
    problems = block_problems(blocks if blocks is not None else [], limit=MESSAGE_BLOCK_LIMIT)
    if problems:
        messages = [f"[ERROR] {problem}" for problem in problems]
        raise SlackError(
            "invalid_blocks", errors=problems, response_metadata={"messages": messages}
        )
    warnings = [MISSING_TEXT_FALLBACK] if blocks and not text.strip() else []
    return text, with_ids(blocks or []), warnings


def with_warnings(body: Args, warnings: list[str]) -> Args:
    if warnings:
        body.update(warning=",".join(warnings), response_metadata={"warnings": warnings})
    return body


def channel_for(
    ws: Workspace,
    args: Args,
    *,
    bot_must_be_in: bool = True,
    ids_only: bool = False,
    public_too: bool = False,
) -> Channel:
    """`ids_only`: for methods that take a conversation's id and nothing else, where Slack
    answers a user id or a #name with `channel_not_found`. A private channel or a direct
    message the bot is not in is `channel_not_found` too: the bot cannot see it at all.
    `public_too`: a public channel the bot is not in will do (`chat:write.public`)."""
    ref = str(args.get("channel") or "")
    channel = ws.channels.get(ref) if ids_only else ws.resolve_channel(ref)
    if channel is None:
        raise SlackError("channel_not_found")
    if bot_must_be_in and BOT_USER_ID not in channel.members:
        hidden = channel.is_private or channel.is_im
        if hidden or not public_too:
            raise SlackError("channel_not_found" if hidden else "not_in_channel")
    return channel


def _bot_message(ws: Workspace, args: Args) -> tuple[Channel, Message]:
    """For the methods that name a message by conversation id and ts: Slack's chat.update
    wants a direct message's D… id, not the user's id (which chat.postMessage takes)."""
    channel = channel_for(ws, args, bot_must_be_in=False, ids_only=True)
    message = ws.find(str(args.get("ts") or ""), channel=channel.id)
    if message is None:
        raise SlackError("message_not_found")
    return channel, message


def post_message(
    ws: Workspace, surfaces: Surfaces, args: Args, *, public_too: bool = False
) -> Args:
    """`public_too`: the token has `chat:write.public`, with which Slack posts to a public
    channel the bot is not in (without joining it)."""
    channel = channel_for(ws, args, public_too=public_too)
    if channel.is_archived:
        raise SlackError("is_archived")
    text, blocks, warnings = message_content(args)
    metadata = args.get("metadata")
    if isinstance(metadata, str):
        metadata = json.loads(metadata or "null")
    if metadata is not None and (
        not isinstance(metadata, dict)
        or not metadata.get("event_type")
        or not isinstance(metadata.get("event_payload"), dict)
    ):
        raise SlackError("invalid_metadata_format")
    message = ws.post(
        channel.id, text, blocks, user=BOT_USER_ID, bot_id=BOT_ID,
        thread_ts=args.get("thread_ts"), metadata=metadata,
    )  # fmt: skip
    shown = message.to_api(ws.team_id, ws.app_id)
    return with_warnings(
        {"ok": True, "channel": channel.id, "ts": message.ts, "message": shown}, warnings
    )


def post_ephemeral(ws: Workspace, surfaces: Surfaces, args: Args) -> Args:
    channel = channel_for(ws, args)
    user = str(args.get("user") or "")
    if user not in ws.users:
        raise SlackError("user_not_found")
    if user not in channel.members:
        raise SlackError("user_not_in_channel")
    text, blocks, warnings = message_content(args)
    message = ws.post(
        channel.id, text, blocks, user=BOT_USER_ID, bot_id=BOT_ID, ephemeral_to=user,
        thread_ts=args.get("thread_ts"),
    )  # fmt: skip
    return with_warnings({"ok": True, "message_ts": message.ts}, warnings)


def update(ws: Workspace, surfaces: Surfaces, args: Args) -> Args:
    channel, message = _bot_message(ws, args)
    if message.user != BOT_USER_ID:
        raise SlackError("cant_update_message")
    text, blocks, warnings = message_content(args, previous=message)
    ws.replace(message, text, blocks)
    shown = message.to_api(ws.team_id, ws.app_id)
    body = {"ok": True, "channel": channel.id, "ts": message.ts, "text": text, "message": shown}
    return with_warnings(body, warnings)


def delete(ws: Workspace, surfaces: Surfaces, args: Args) -> Args:
    channel, message = _bot_message(ws, args)
    if message.user != BOT_USER_ID:
        raise SlackError("cant_delete_message")
    ws.delete(message)
    return {"ok": True, "channel": channel.id, "ts": message.ts}


def get_permalink(ws: Workspace, surfaces: Surfaces, args: Args) -> Args:
    channel, message = _bot_message(
        ws, {"channel": args.get("channel"), "ts": args.get("message_ts")}
    )
    link = (
        f"https://{ws.team_domain}.slack.com/archives/{channel.id}/p{message.ts.replace('.', '')}"
    )
    return {"ok": True, "channel": channel.id, "permalink": link}


def history_scope(ws: Workspace, args: Args) -> str | None:
    """The scope conversations.history and .replies need for the conversation asked
    about, as Slack asks: one for each kind of conversation, so a token allowed to read
    channels may still not read a direct message. None where the conversation is not
    known (the method then answers `channel_not_found`)."""
    channel = ws.channels.get(str(args.get("channel") or ""))
    if channel is None:
        return None
    if channel.is_im:
        return "im:history"
    return "groups:history" if channel.is_private else "channels:history"


def history(ws: Workspace, surfaces: Surfaces, args: Args, *, most: int = 999) -> Args:
    """conversations.history: newest first, between `oldest` and `latest`; the bot must be
    a member, and metadata is shown only with `include_all_metadata`, as Slack does. It
    takes a conversation's id only: a user id is not the DM with them there. `most`: the
    largest page Slack gives this app (15 to a distributed one outside the Marketplace)."""
    channel = channel_for(ws, args, ids_only=True)
    oldest = float(args.get("oldest") or 0)
    latest = float(args.get("latest") or "inf")
    inclusive = str(args.get("inclusive")).lower() in ("true", "1")
    limit = max(1, min(int(args.get("limit") or 100), most))
    found = [
        m
        for m in reversed(ws.messages[channel.id])
        if (oldest <= float(m.ts) <= latest if inclusive else oldest < float(m.ts) < latest)
        and not m.thread_ts
    ]
    return _page(ws, found, args, limit)


def _page(ws: Workspace, found: list[Message], args: Args, limit: int) -> Args:
    """One page of `found` from the request's cursor, as history and replies answer;
    metadata only with `include_all_metadata`."""
    with_metadata = str(args.get("include_all_metadata")).lower() in ("true", "1")
    start = int(args.get("cursor") or 0)
    shown = []
    for message in found[start : start + limit]:
        item = message.to_api(ws.team_id, ws.app_id)
        if with_metadata and message.metadata:
            item["metadata"] = message.metadata
        shown.append(item)
    more = start + limit < len(found)
    return {
        "ok": True,
        "messages": shown,
        "has_more": more,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


def replies(ws: Workspace, surfaces: Surfaces, args: Args, *, most: int = 999) -> Args:
    """conversations.replies: the thread's parent, then its replies between `oldest` and
    `latest`, oldest first; metadata only with `include_all_metadata`. A `ts` that is no
    thread's parent in the channel is `thread_not_found`. `most`: as for `history`."""
    channel = channel_for(ws, args, ids_only=True)
    parent = str(args.get("ts") or "")
    messages = ws.messages[channel.id]
    if not any(m.ts == parent and not m.thread_ts for m in messages):
        raise SlackError("thread_not_found")
    oldest = float(args.get("oldest") or 0)
    latest = float(args.get("latest") or "inf")
    limit = max(1, min(int(args.get("limit") or 100), most))
    found = [m for m in messages if m.ts == parent and not m.thread_ts] + [
        m for m in messages if m.thread_ts == parent and oldest < float(m.ts) < latest
    ]
    return _page(ws, found, args, limit)


CHAT_METHODS = {
    "conversations.history": history,
    "conversations.replies": replies,
    "chat.postMessage": post_message,
    "chat.postEphemeral": post_ephemeral,
    "chat.update": update,
    "chat.delete": delete,
    "chat.getPermalink": get_permalink,
}
