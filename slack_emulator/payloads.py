"""The bodies Slack sends to an app's request URL, field for field.

Slash commands are one flat form; interactions are a form with a single `payload` field
holding JSON; events are JSON. Shapes follow Slack's documented payloads and the
fixtures in bolt-python's own scenario tests.

A workspace of an Enterprise Grid organization sends its organization along: the
command's `enterprise_id` and `enterprise_name`, an interaction's `enterprise` and
`team.enterprise_id`, an event's `enterprise_id` and `authorizations`. Whether the app
was installed on that workspace or on the whole organization is `is_enterprise_install`;
an organization's install authorizes no one workspace (`team_id` null).
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlencode

from slack_emulator.directory import Channel
from slack_emulator.workspace import BOT_USER_ID, Workspace

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
VERIFICATION = "emulator-verification-token"


def slash_command(
    ws: Workspace,
    user_id: str,
    channel: Channel,
    command: str,
    text: str,
    response_url: str,
    trigger_id: str,
) -> str:
    org = ws.enterprise
    grid = {"enterprise_id": org.id, "enterprise_name": org.name} if org else {}
    return urlencode(
        {
            "token": VERIFICATION,
            "team_id": ws.team_id,
            "team_domain": ws.team_domain,
            **grid,
            "channel_id": channel.id,
            "channel_name": channel_name(channel),
            "user_id": user_id,
            "user_name": ws.users[user_id].name,
            "command": command,
            "text": slack_escaped(text),
            "api_app_id": ws.app_id,
            "is_enterprise_install": "true" if ws.org_wide_install else "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def slack_escaped(text: str) -> str:
    """Typed text as Slack sends it to an app: `&`, `<` and `>` as HTML entities (Slack's
    control characters), whatever the command's `should_escape`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def channel_name(channel: Channel) -> str:
    return "directmessage" if channel.is_im else channel.name


def interaction(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def _common(ws: Workspace, kind: str, user_id: str) -> dict[str, Any]:
    user = ws.users[user_id]
    return {
        "type": kind,
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": ws.team_id},
        "api_app_id": ws.app_id,
        "token": VERIFICATION,
        "team": ws.team(),
        "enterprise": ws.enterprise_api(),
        "is_enterprise_install": ws.org_wide_install,
    }


def block_actions(
    ws: Workspace,
    user_id: str,
    *,
    container: dict[str, Any],
    actions: list[dict[str, Any]],
    state: dict[str, Any],
    trigger_id: str,
    channel: Channel | None = None,
    message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
    response_url: str | None = None,
) -> dict[str, Any]:
    """A block_actions payload; ephemeral messages come without `message`, as in Slack."""
    payload = _common(ws, "block_actions", user_id)
    payload.update(container=container, trigger_id=trigger_id, state={"values": state})
    if channel is not None:
        payload["channel"] = {"id": channel.id, "name": channel_name(channel)}
    if message is not None:
        payload["message"] = message
    if view is not None:
        payload["view"] = view
    if response_url is not None:
        payload["response_url"] = response_url
    payload["actions"] = actions
    return payload


def view_submission(ws: Workspace, user_id: str, view: dict[str, Any], trigger_id: str) -> dict:
    payload = _common(ws, "view_submission", user_id)
    payload.update(view=view, trigger_id=trigger_id, response_urls=[])
    return payload


def view_closed(ws: Workspace, user_id: str, view: dict[str, Any], *, is_cleared: bool) -> dict:
    payload = _common(ws, "view_closed", user_id)
    payload.update(view=view, is_cleared=is_cleared)
    return payload


def app_home_opened(
    ws: Workspace, user_id: str, channel: Channel, view: dict[str, Any] | None, now: float
) -> str:
    """The event_callback envelope Slack posts (as JSON) when a user opens the Home tab."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel.id,
        "tab": "home",
    }
    if view is not None:
        event["view"] = view
    return event_callback(ws, event, now)


def event_callback(ws: Workspace, event: dict[str, Any], now: float) -> str:
    """The envelope (as JSON) in which Slack posts an event to the app."""
    org = ws.enterprise.id if ws.enterprise else None
    return json.dumps(
        {
            "token": VERIFICATION,
            "team_id": ws.team_id,
            **({"enterprise_id": org} if org else {}),
            "api_app_id": ws.app_id,
            "event": {"event_ts": f"{now:.6f}", **event},
            "type": "event_callback",
            "event_id": "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": org,
                    "team_id": None if ws.org_wide_install else ws.team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": ws.org_wide_install,
                }
            ],
            "is_ext_shared_channel": False,
        }
    )
