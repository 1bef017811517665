"""Modal submission as the Slack client does it: fill inputs, check required ones, then
apply the app's acknowledgement (`response_action` errors / update / push / clear).

An empty acknowledgement closes the current view (the one below reappears); `clear`
closes the whole stack. Problems the user would see as "We had some trouble connecting"
are returned as an error name instead.
"""

from __future__ import annotations

import json
from typing import Any

from slack_emulator.blockkit import validate_view
from slack_emulator.elements import UserActionError, entry_for, has_state
from slack_emulator.modals import OpenView, SurfaceError, Surfaces
from slack_emulator.view_methods import VIEW_SIZE_LIMIT

REQUIRED = "Please complete this required field."


def fill(view: OpenView, values: dict[str, Any]) -> None:
    """Type/pick `values` ({block_id: {action_id: choice}}) into the view's input blocks."""
    inputs = {b.get("block_id"): b for b in view.blocks if b.get("type") == "input"}
    for block_id, actions in values.items():
        block = inputs.get(block_id)
        if block is None or not isinstance(actions, dict):
            raise UserActionError(f"no input block {block_id!r} in view {view.id}")
        element = block.get("element") or {}
        for action_id, choice in actions.items():
            if element.get("action_id") != action_id or not has_state(element):
                raise UserActionError(f"no input {action_id!r} in block {block_id!r}")
            view.picks.setdefault(block_id, {})[action_id] = entry_for(element, choice)


def missing_required(view: OpenView) -> dict[str, str]:
    """Errors for required inputs left empty; Slack's client refuses to submit those."""
    missing: dict[str, str] = {}
    for block in view.blocks:
        element = block.get("element") or {}
        if block.get("type") != "input" or block.get("optional") or not has_state(element):
            continue
        entry = view.picks.get(block["block_id"], {}).get(str(element.get("action_id")), {})
        picked = [v for k, v in entry.items() if k != "type" and v not in (None, "", [])]
        initial = [
            k for k in element if k.startswith("initial_") and element[k] not in (None, "", [])
        ]
        if not picked and not (not entry and initial):
            missing[block["block_id"]] = REQUIRED
    return missing


def outside_lengths(view: OpenView) -> dict[str, str]:
    """Errors for typed text longer than an input's `max_length` or shorter than its
    `min_length`: Slack's client refuses to submit those too, so the app never sees them."""
    refused: dict[str, str] = {}
    for block in view.blocks:
        element = block.get("element") or {}
        if block.get("type") != "input" or element.get("type") != "plain_text_input":
            continue
        entry = view.picks.get(block["block_id"], {}).get(str(element.get("action_id")))
        text = (entry or {}).get("value") if entry else element.get("initial_value")
        if not text:
            continue  # empty is the required check's to judge
        longest, shortest = element.get("max_length"), element.get("min_length")
        if isinstance(longest, int) and len(text) > longest:
            refused[block["block_id"]] = f"Must be {longest} characters or fewer."
        elif isinstance(shortest, int) and len(text) < shortest:
            refused[block["block_id"]] = f"Must be at least {shortest} characters."
    return refused


def apply_ack(surfaces: Surfaces, view: OpenView, ack: Any) -> str | None:
    """Change the modal stack as the view_submission ack says; an error name if refused."""
    action = ack.get("response_action") if isinstance(ack, dict) else None
    try:
        if action == "errors":
            return _show_errors(surfaces, view, ack.get("errors"))
        if action in ("update", "push"):
            new_view = ack.get("view")
            if validate_view(new_view) or new_view.get("type") != "modal":
                return "invalid_view"
            if len(json.dumps(new_view)) > VIEW_SIZE_LIMIT:
                return "view_too_large"
            if action == "update":
                surfaces.update(view, new_view, None)
            else:
                surfaces.push(view.user_id, new_view)
            return None
        surfaces.close(view.user_id, everything=action == "clear")
    except SurfaceError as refused:
        return refused.error
    return None


def _show_errors(surfaces: Surfaces, view: OpenView, errors: Any) -> str | None:
    inputs = {b.get("block_id") for b in view.blocks if b.get("type") == "input"}
    if not isinstance(errors, dict) or not errors:
        return "invalid_errors"
    view.errors = {k: str(v) for k, v in errors.items() if k in inputs}
    surfaces.changes.touch()
    return None if set(errors) <= inputs else "errors_for_unknown_block"
