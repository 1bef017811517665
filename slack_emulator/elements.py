"""Interactive elements: what a user can pick, and how Slack reports picks to the app.

Slack reports a pick twice: as the `actions[]` entry of a block_actions payload, and in
`state.values[block_id][action_id]` of every later payload from the same message or view.
Both shapes are built here from the element definition plus the user's choice, so a
choice that the element does not offer (an unknown option value) is refused up front.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson

from slack_emulator.blockkit import canonical, interactive_elements

TEXT_INPUTS = {"plain_text_input", "email_text_input", "url_text_input", "number_input"}
SINGLE_OPTION = {"static_select", "radio_buttons", "external_select", "overflow"}
MULTI_OPTION = {"multi_static_select", "checkboxes", "multi_external_select"}
# element type -> (state key, initial key) for pickers whose choice is a plain value.
PLAIN_PICKS = {
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "datetimepicker": ("selected_date_time", "initial_date_time"),
    "users_select": ("selected_user", "initial_user"),
    "multi_users_select": ("selected_users", "initial_users"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "channels_select": ("selected_channel", "initial_channel"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
}

Entry = dict[str, Any]
Picks = dict[str, dict[str, Entry]]


class UserActionError(ValueError):
    """Something a user could not do in Slack, like picking an option that is not offered."""


def has_state(element: dict[str, Any]) -> bool:
    kind = element.get("type")
    return (
        kind in TEXT_INPUTS
        or kind in MULTI_OPTION
        or kind in PLAIN_PICKS
        or (kind in SINGLE_OPTION and kind != "overflow")
    )


def options_of(element: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        found += group.get("options") or []
    return found


def _option(element: dict[str, Any], value: Any) -> dict[str, Any]:
    for option in options_of(element):
        if option.get("value") == value:
            return option
    raise UserActionError(f"`{element.get('action_id')}` has no option with value {value!r}")


def entry_for(element: dict[str, Any], choice: Any) -> Entry:
    """The state entry for picking `choice` (a value, option value(s), date, user id...)."""
    kind = str(element.get("type"))
    entry: Entry = {"type": kind}
    if kind in TEXT_INPUTS:
        entry["value"] = None if choice is None else str(choice)
    elif kind in SINGLE_OPTION:
        entry["selected_option"] = None if choice is None else _option(element, choice)
    elif kind in MULTI_OPTION:
        values = [choice] if isinstance(choice, str) else list(choice or [])
        entry["selected_options"] = [_option(element, value) for value in values]
    elif kind in PLAIN_PICKS:
        entry[PLAIN_PICKS[kind][0]] = choice
    else:
        raise UserActionError(f"a {kind} holds no value")
    return entry


def initial_entry(element: dict[str, Any]) -> Entry:
    """The state entry of an untouched element: its initial value, or nothing picked."""
    kind = str(element.get("type"))
    if kind in TEXT_INPUTS:
        return {"type": kind, "value": element.get("initial_value")}
    if kind in SINGLE_OPTION:
        return {"type": kind, "selected_option": element.get("initial_option")}
    if kind in MULTI_OPTION:
        return {"type": kind, "selected_options": element.get("initial_options") or []}
    state_key, initial_key = PLAIN_PICKS[kind]
    return {"type": kind, state_key: element.get(initial_key)}


def state_values(blocks: list[dict[str, Any]], picks: Picks, *, inputs_only: bool) -> Picks:
    """`state.values` for these blocks: each stateful element's pick, or its initial value."""
    values: Picks = {}
    for block in blocks:
        if inputs_only and block.get("type") != "input":
            continue
        block_id = str(block.get("block_id"))
        for element in interactive_elements(block):
            if has_state(element):
                action_id = str(element.get("action_id"))
                chosen = picks.get(block_id, {}).get(action_id) or initial_entry(element)
                values.setdefault(block_id, {})[action_id] = chosen
    return values


def find_element(
    blocks: list[dict[str, Any]],
    action_id: str,
    *,
    block_id: str | None = None,
    value: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(block, element) for `action_id`; `block_id` or a button's `value` tells twins apart."""
    for block in blocks:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        for element in interactive_elements(block):
            if element.get("action_id") != action_id:
                continue
            is_button = element.get("type") == "button"
            if is_button and value is not None and element.get("value") != value:
                continue
            return block, element
    raise UserActionError(f"no element with action_id {action_id!r} here")


def action_for(block_id: str, element: dict[str, Any], entry: Entry | None, ts: str) -> Entry:
    """One `actions[]` entry of a block_actions payload."""
    action: Entry = {
        "type": element.get("type"),
        "block_id": block_id,
        "action_id": element.get("action_id"),
        "action_ts": ts,
    }
    if element.get("type") == "button":
        action["text"] = element.get("text")
        for key in ("value", "style", "url"):
            if key in element:
                action[key] = element[key]
    else:
        if "placeholder" in element:
            action["placeholder"] = element["placeholder"]
        action.update({k: v for k, v in (entry or {}).items() if k != "type"})
    return action


def with_ids(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy with the `block_id`s and `action_id`s Slack fills in when a sender omits them.

    Every message and view a test or a benchmark sends passes here, so it is kept cheap:
    the local Slack shares the machine's cores with the bot it measures."""
    filled = _deep_copy(blocks)
    for index, block in enumerate(filled):
        if "block_id" not in block:
            seed = b"%d:%s" % (index, canonical(block))
            block["block_id"] = hashlib.sha256(seed).hexdigest()[:5]
        for position, element in enumerate(interactive_elements(block)):
            element.setdefault("action_id", f"{block['block_id']}-{position}")
    return filled


def _deep_copy(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Through JSON, several times faster than `copy.deepcopy`; the standard library's
    encoder for what orjson refuses (integers beyond 64 bits)."""
    try:
        return list(orjson.loads(orjson.dumps(blocks)))
    except orjson.JSONEncodeError:
        return list(json.loads(json.dumps(blocks)))
