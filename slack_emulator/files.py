"""Files, as Slack takes them since it retired `files.upload`: three steps.

1. `files.getUploadURLExternal(filename, length)` returns an `upload_url` and a `file_id`;
2. the file's bytes are POSTed to `upload_url` (raw, or as multipart form data);
3. `files.completeUploadExternal(files=[{id, title}], channel_id?, initial_comment?)`
   finishes it and, with `channel_id` or `channels`, shares it there as a message with
   the files. Only conversation ids (C…, G…, D…, Z…) are taken: a user id or a #name is
   `invalid_arguments`, as Slack answers it (the DM's D… id comes from
   `conversations.open`).

`files.upload` answers `method_deprecated`, as Slack does since 2025-11-12 for every app
(new apps could not use it from 2024-05-08). A file whose bytes never arrived, an id
that was never issued or was already completed is `file_not_found`; sharing to a
channel the bot is not in is `not_in_channel`. Slack refuses these; so does this.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from slack_emulator.calls import SlackError
from slack_emulator.chat_methods import channel_for
from slack_emulator.workspace import BOT_ID, BOT_USER_ID

if TYPE_CHECKING:
    from slack_emulator.client import Emulator

Args = dict[str, Any]
UPLOAD_PATH = "/upload/v1/{file_id}"
RETIRED = frozenset({"files.upload"})
SLACK_PATTERN = "^[CGDZ][A-Z0-9]{8,}$"
"""What Slack checks each channel against, as its refusal quotes it."""
CONVERSATION_ID = re.compile(r"[CGDZ][A-Z0-9]+")
"""The same, without the length: the emulator's own ids (C0SECRET, D0PAYER) are shorter."""


@dataclass
class UploadedFile:
    id: str
    name: str
    length: int
    content: bytes | None = None
    title: str = ""
    completed: bool = False
    channels: list[str] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title or self.name,
            "size": len(self.content or b""),
            "user": BOT_USER_ID,
            "channels": list(self.channels),
            "is_external": False,
        }


class Files:
    """The workspace's files, and the upload URLs handed out for them."""

    def __init__(self) -> None:
        self.by_id: dict[str, UploadedFile] = {}

    def shared_in(self, channel_id: str) -> list[UploadedFile]:
        return [f for f in self.by_id.values() if channel_id in f.channels]


def get_upload_url(emulator: Emulator, args: Args) -> Args:
    name = str(args.get("filename") or "")
    length = str(args.get("length") or "")
    if not name or not length.isdigit() or int(length) <= 0:
        raise SlackError("invalid_arguments")
    file_id = "F" + secrets.token_hex(5).upper()
    emulator.files.by_id[file_id] = UploadedFile(file_id, name, int(length))
    base = emulator.public_url or ""
    return {
        "ok": True,
        "file_id": file_id,
        "upload_url": base + UPLOAD_PATH.format(file_id=file_id),
    }


def complete_upload(emulator: Emulator, args: Args) -> Args:
    ws = emulator.workspace
    wanted = args.get("files")
    if isinstance(wanted, str):
        try:
            wanted = json.loads(wanted)
        except ValueError:
            raise SlackError("invalid_arguments") from None
    if not isinstance(wanted, list) or not wanted or not all(isinstance(f, dict) for f in wanted):
        raise SlackError("invalid_arguments")
    found = []
    for item in wanted:
        uploaded = emulator.files.by_id.get(str(item.get("id") or ""))
        if uploaded is None or uploaded.completed or uploaded.content is None:
            raise SlackError("file_not_found")
        found.append((uploaded, str(item.get("title") or "")))
    field_name = "channel_id" if args.get("channel_id") else "channels"
    wanted_channels = [c.strip() for c in str(args.get(field_name) or "").split(",") if c.strip()]
    if any(not CONVERSATION_ID.fullmatch(c) for c in wanted_channels):
        message = (
            f"[ERROR] input must match regex pattern: {SLACK_PATTERN} [json-pointer:/{field_name}]"
        )
        raise SlackError("invalid_arguments", response_metadata={"messages": [message]})
    channels = [channel_for(ws, {"channel": c}, ids_only=True) for c in wanted_channels]
    for uploaded, title in found:
        uploaded.completed, uploaded.title = True, title or uploaded.name
        uploaded.channels += [channel.id for channel in channels]
    for channel in channels:
        ws.post(
            channel.id, str(args.get("initial_comment") or ""), [], user=BOT_USER_ID,
            bot_id=BOT_ID, files=[uploaded.to_api() for uploaded, _ in found],
        )  # fmt: skip
    return {"ok": True, "files": [uploaded.to_api() for uploaded, _ in found]}


def retired(emulator: Emulator, args: Args) -> Args:
    raise SlackError("method_deprecated")


FILE_METHODS = {
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
    **dict.fromkeys(RETIRED, retired),
}


async def receive_upload(request: web.Request, emulator: Emulator) -> web.Response:
    """Step 2: the bytes, raw or as the first part of a multipart form."""
    uploaded = emulator.files.by_id.get(request.match_info["file_id"])
    if uploaded is None or uploaded.completed:
        return web.Response(status=404, text="not found")
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        part = await reader.next()
        content = await part.read() if isinstance(part, BodyPartReader) else b""
    else:
        content = await request.read()
    uploaded.content = bytes(content)
    emulator.workspace.changes.touch()
    return web.Response(text=f"OK - {len(content)}")
