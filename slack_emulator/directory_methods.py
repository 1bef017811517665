"""auth.test, users.*, conversations.* and usergroups.* Web API methods.

slack_sdk sends the read methods as GET with query parameters and conversations.open as a
form; `webapi` has already merged either into `args`.
"""

from __future__ import annotations

from typing import Any

from slack_emulator.calls import SlackError
from slack_emulator.chat_methods import channel_for
from slack_emulator.modals import Surfaces
from slack_emulator.workspace import BOT_ID, BOT_USER_ID, Workspace

Args = dict[str, Any]


def auth_test(ws: Workspace, surfaces: Surfaces, args: Args) -> Args:
    """Who the token is; in a Grid organization, which one too."""
    answer = {
        "ok": True,
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": ws.team_name,
        "user": ws.users[BOT_USER_ID].name,
        "team_id": ws.team_id,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": ws.org_wide_install,
    }
    if ws.enterprise is not None:
        answer["enterprise_id"] = ws.enterprise.id
    return answer


def users_info(ws: Workspace, surfaces: Surfaces, args: Args) -> Args:
    user = ws.users.get(str(args.get("user") or ""))
    if user is None:
        raise SlackError("user_not_found")
    return {"ok": True, "user": user.to_api(ws.team_id)}


def users_list(ws: Workspace, surfaces: Surfaces, args: Args) -> Args:
    members = [user.to_api(ws.team_id) for user in ws.users.values()]
    return {"ok": True, "members": members, "response_metadata": {"next_cursor": ""}}


def conversations_info(ws: Workspace, surfaces: Surfaces, args: Args) -> Args:
    channel = channel_for(ws, args, bot_must_be_in=False)
    return {"ok": True, "channel": channel.to_api(BOT_USER_ID)}


def conversations_list(ws: Workspace, surfaces: Surfaces, args: Args) -> Args:
    wanted = str(args.get("types") or "public_channel").split(",")
    shown = [
        c.to_api(BOT_USER_ID)
        for c in ws.channels.values()
        if ("im" if c.is_im else "private_channel" if c.is_private else "public_channel") in wanted
    ]
    return {"ok": True, "channels": shown, "response_metadata": {"next_cursor": ""}}


def conversations_members(ws: Workspace, surfaces: Surfaces, args: Args) -> Args:
    """Paged like Slack: `limit` (default 100) and an opaque `cursor`."""
    channel = channel_for(ws, args, bot_must_be_in=False)
    start = int(str(args.get("cursor") or "0").removeprefix("offset:") or 0)
    limit = int(args.get("limit") or 100)
    page = channel.members[start : start + limit]
    following = start + limit
    cursor = f"offset:{following}" if following < len(channel.members) else ""
    return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}


def conversations_open(ws: Workspace, surfaces: Surfaces, args: Args) -> Args:
    """Only DMs with one user are supported (no group DMs)."""
    if args.get("channel"):
        return {"ok": True, "channel": {"id": channel_for(ws, args).id}}
    users = [u for u in str(args.get("users") or "").split(",") if u]
    if not users:
        raise SlackError("users_list_not_supplied")
    if any(u not in ws.users for u in users):
        raise SlackError("user_not_found")
    if len(users) > 1:
        raise SlackError("not_supported_by_emulator")
    return {"ok": True, "channel": {"id": ws.dm_with(users[0]).id}}


def _flag(args: Args, name: str) -> bool:
    """A boolean argument as slack_sdk sends it ("1"/"0") or as JSON."""
    return str(args.get(name, "")).lower() in {"1", "true"}


def usergroups_users_list(ws: Workspace, surfaces: Surfaces, args: Args) -> Args:
    group = ws.usergroups.get(str(args.get("usergroup") or ""))
    if group is None:
        raise SlackError("no_such_subteam")
    return {"ok": True, "users": list(group.users)}


def usergroups_list(ws: Workspace, surfaces: Surfaces, args: Args) -> Args:
    """As Slack lists them: members only with `include_users`, a count (a string, as
    Slack sends it) only with `include_count`."""
    shown = []
    for g in ws.usergroups.values():
        group: Args = {
            "id": g.id,
            "team_id": ws.team_id,
            "is_usergroup": True,
            "name": g.name,
            "description": "",
            "handle": g.handle,
            "date_delete": 0,
        }
        if _flag(args, "include_users"):
            group["users"] = list(g.users)
        if _flag(args, "include_count"):
            group["user_count"] = str(len(g.users))
        shown.append(group)
    return {"ok": True, "usergroups": shown}


SCOPES = {
    "usergroups.list": "usergroups:read",
    "usergroups.users.list": "usergroups:read",
}
"""The bot scope each of these methods needs. Only they are checked: a token without
the scope gets `missing_scope` with what was `needed` and what was `provided`."""

DIRECTORY_METHODS = {
    "auth.test": auth_test,
    "users.info": users_info,
    "users.list": users_list,
    "conversations.info": conversations_info,
    "conversations.list": conversations_list,
    "conversations.members": conversations_members,
    "conversations.open": conversations_open,
    "usergroups.users.list": usergroups_users_list,
    "usergroups.list": usergroups_list,
}
