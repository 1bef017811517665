"""views.* Web API methods: open, push, update and publish modals and Home tabs.

A view Slack would refuse is answered with `invalid_arguments` and the problems in
`response_metadata.messages`, as Slack does; trigger ids, the stack limit and hashes are
enforced by `Surfaces`.
"""

from __future__ import annotations

import json
from typing import Any

from slack_emulator.blockkit import validate_view
from slack_emulator.calls import SlackError
from slack_emulator.modals import OpenView, SurfaceError, Surfaces
from slack_emulator.workspace import BOT_ID, Workspace

Args = dict[str, Any]
VIEW_SIZE_LIMIT = 250_000


def valid_view(args: Args, kind: str) -> dict[str, Any]:
    """The `view` argument, checked like Slack checks it, for a `modal` or `home` surface."""
    view = args.get("view")
    if view is None:
        raise SlackError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] missing view"]}
        )
    problems = validate_view(view)
    if isinstance(view, dict) and view.get("type") != kind:
        problems.append(f"type must be `{kind}` here [json-pointer:/view/type]")
    if problems:
        messages = [f"[ERROR] {problem}" for problem in problems]
        raise SlackError("invalid_arguments", response_metadata={"messages": messages})
    if len(json.dumps(view)) > VIEW_SIZE_LIMIT:
        raise SlackError("view_too_large")
    return view


def _shown(ws: Workspace, view: OpenView) -> Args:
    return {"ok": True, "view": view.to_api(ws.team_id, ws.app_id, BOT_ID, inputs_only=False)}


def views_open(ws: Workspace, surfaces: Surfaces, args: Args) -> Args:
    view = valid_view(args, "modal")
    try:
        trigger = surfaces.redeem(args.get("trigger_id"))
    except SurfaceError as refused:
        raise SlackError(refused.error) from None
    return _shown(ws, surfaces.open(trigger.user_id, view))


def views_push(ws: Workspace, surfaces: Surfaces, args: Args) -> Args:
    view = valid_view(args, "modal")
    try:
        trigger = surfaces.redeem(args.get("trigger_id"))
        return _shown(ws, surfaces.push(trigger.user_id, view))
    except SurfaceError as refused:
        raise SlackError(refused.error) from None


def views_update(ws: Workspace, surfaces: Surfaces, args: Args) -> Args:
    view_id, external_id = args.get("view_id"), args.get("external_id")
    if not view_id and not external_id:
        raise SlackError("invalid_arguments", response_metadata={"messages": ["[ERROR] view_id"]})
    target = surfaces.find(view_id, external_id)
    if target is None:
        raise SlackError("not_found")
    view = valid_view(args, str(target.definition.get("type")))
    try:
        return _shown(ws, surfaces.update(target, view, args.get("hash")))
    except SurfaceError as refused:
        raise SlackError(refused.error) from None


def views_publish(ws: Workspace, surfaces: Surfaces, args: Args) -> Args:
    user_id = str(args.get("user_id") or "")
    if user_id not in ws.users or ws.users[user_id].is_bot:
        raise SlackError("user_not_found")
    view = valid_view(args, "home")
    try:
        return _shown(ws, surfaces.publish(user_id, view, args.get("hash")))
    except SurfaceError as refused:
        raise SlackError(refused.error) from None


VIEW_METHODS = {
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
}
