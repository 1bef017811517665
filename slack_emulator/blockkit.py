"""Block Kit validation the way Slack refuses messages and views, reusable by tests.

`slack_sdk.models` checks lengths and required fields, but it silently drops unknown
block and element types and skips several Slack rules (50 blocks per message, unique ids,
overflow sizes, the text fallback, plain_text-only texts, option counts, option groups'
labels and sizes, what a context or an empty actions block holds). Both functions return
human-readable problems, each ending in a Slack-style `[json-pointer:...]`; an empty list
means Slack would accept it.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import orjson
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
MESSAGE_TEXT_LIMIT = 40_000
BUTTON_VALUE_LIMIT = 2000
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150
FIELD_TEXT_LIMIT = 2000
OVERFLOW_OPTIONS = (2, 5)
CHOICE_OPTION_LIMIT = 10  # radio_buttons and checkboxes
OPTION_DESCRIPTION_LIMIT = 75
CONTEXT_TEXT_LIMIT = 3000
GROUP_LABEL_LIMIT = 75
GROUP_OPTION_LIMIT = 100  # an option group's options; slack_sdk checks neither
# Elements whose options Slack shows in a menu, where an option's text must be plain_text;
# radio_buttons and checkboxes may use mrkdwn.
MENU_ELEMENTS = {"static_select", "multi_static_select", "overflow"}
CONTEXT_ELEMENTS = {"image", "plain_text", "mrkdwn"}

_MALFORMED = (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError)


def validate_message(payload: dict[str, Any], *, require_text: bool = True) -> list[str]:
    """Problems with a chat.postMessage / response_url body (`text`, `blocks`)."""
    problems: list[str] = []
    text, blocks = payload.get("text"), payload.get("blocks")
    if text is not None and not isinstance(text, str):
        problems.append("must be a string [json-pointer:/text]")
    elif text and len(text) > MESSAGE_TEXT_LIMIT:
        problems.append(f"must be at most {MESSAGE_TEXT_LIMIT} characters [json-pointer:/text]")
    if blocks is None:
        if not text and not payload.get("attachments"):
            problems.append("a message needs `text` or `blocks` [json-pointer:/text]")
        return problems
    problems += block_problems(blocks, limit=MESSAGE_BLOCK_LIMIT)
    if require_text and not (isinstance(text, str) and text.strip()):
        problems.append("blocks need a non-empty top-level `text` fallback [json-pointer:/text]")
    return problems


def validate_view(view: Any) -> list[str]:
    """Problems with a modal or Home tab view (views.open/update/push/publish)."""
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    blocks = view.get("blocks")
    problems = block_problems(blocks, limit=VIEW_BLOCK_LIMIT, pointer="/view/blocks")
    if view.get("type") not in ("modal", "home"):
        problems.append("type must be `modal` or `home` [json-pointer:/view/type]")
    # Blocks were checked above; give View stand-ins so it checks only the view's own fields.
    stand_ins = [{"type": "divider"}] * len(blocks) if isinstance(blocks, list) else blocks
    try:
        View(**{**view, "blocks": stand_ins}).to_dict()
    except _MALFORMED as error:
        problems.append(f"{error} [json-pointer:/view]")
    for key in ("title", "submit", "close"):
        problems += [f"{p} [json-pointer:/view]" for p in _plain_text(view.get(key), key)]
    if view.get("type") == "modal" and not view.get("title"):
        problems.append("a modal needs a `title` [json-pointer:/view/title]")
    has_input = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if view.get("type") == "modal" and has_input and not view.get("submit"):
        problems.append("a modal with input blocks needs `submit` [json-pointer:/view/submit]")
    return problems


def block_problems(blocks: Any, *, limit: int, pointer: str = "/blocks") -> list[str]:
    """Problems with a list of blocks; `limit` is 50 for messages, 100 for views."""
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{pointer}]"]
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"no more than {limit} items allowed [json-pointer:{pointer}]")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"[json-pointer:{pointer}/{index}]"
        if not isinstance(block, dict):
            problems.append(f"must be an object {where}")
            continue
        problems += [f"{problem} {where}" for problem in _problems_of(block)]
        block_id = block.get("block_id")
        if block_id is not None and block_id in block_ids:
            problems.append(f"duplicate block_id `{block_id}` {where}")
        block_ids.add(block_id)
    return problems


def canonical(block: dict[str, Any]) -> bytes:
    """A block as JSON with its keys sorted: equal blocks give equal bytes. orjson is
    several times faster than the standard encoder, which serves what orjson refuses
    (integers beyond 64 bits, lone surrogates); TypeError or ValueError for what is not
    JSON at all."""
    try:
        return orjson.dumps(block, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(block, sort_keys=True).encode()


def _problems_of(block: dict[str, Any]) -> tuple[str, ...]:
    """A block's problems, judged once per distinct block: the same list posted to many
    response_urls (a burst of commands) is checked once, with the same verdict."""
    try:
        dumped = canonical(block)
    except (TypeError, ValueError):
        return tuple(_block_problems(block))
    return _judged(dumped)


@functools.lru_cache(maxsize=4096)
def _judged(dumped: bytes) -> tuple[str, ...]:
    return tuple(_block_problems(json.loads(dumped)))


def _block_problems(block: dict[str, Any]) -> list[str]:
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [f"unsupported block type `{block.get('type')}`"]
        shown = parsed.to_dict()
    except _MALFORMED as error:
        return [str(error) or f"malformed `{block.get('type')}` block"]
    return (
        _dropped_parts(block, shown)
        + _element_problems(block)
        + _empty_texts(block)
        + _composition_problems(block)
    )


def _plain_text(value: Any, path: str) -> list[str]:
    """Slack refuses a mrkdwn text object where only plain_text is allowed (headers,
    labels, buttons, menu options...) with "must be a valid enum value"."""
    if isinstance(value, dict) and value.get("type") != "plain_text":
        return [f"`{path}.type` must be a valid enum value: plain_text"]
    return []


def _composition_problems(block: dict[str, Any]) -> list[str]:
    """Rules slack_sdk's models skip: which text objects must be plain_text, what a
    context block may hold, and how many elements or options a block or element takes."""
    kind = block.get("type")
    problems: list[str] = []
    if kind == "header":
        problems += _plain_text(block.get("text"), "text")
    elif kind == "input":
        problems += _plain_text(block.get("label"), "label")
        problems += _plain_text(block.get("hint"), "hint")
    elif kind in ("actions", "context") and block.get("elements") == []:
        problems.append("`elements` must provide at least 1 item")
    elif kind == "context":
        problems += _context_problems(block.get("elements"))
    places = {"actions": "elements", "section": "accessory", "input": "element"}
    for index, element in enumerate(interactive_elements(block)):
        where = places[str(kind)] + (f".{index}" if kind == "actions" else "")
        problems += _element_texts(element, where)
    return problems


def _context_problems(elements: Any) -> list[str]:
    """A context block shows only images and text objects (no buttons), 3000 characters
    of text each; slack_sdk parses any element there."""
    problems: list[str] = []
    for index, element in enumerate(elements if isinstance(elements, list) else []):
        kind = element.get("type") if isinstance(element, dict) else None
        if kind not in CONTEXT_ELEMENTS:
            problems.append(f"`elements.{index}` must be an image or a text object, not {kind}")
        elif kind != "image" and len(str(element.get("text") or "")) > CONTEXT_TEXT_LIMIT:
            problems.append(
                f"`elements.{index}.text` must be at most {CONTEXT_TEXT_LIMIT} characters"
            )
    return problems


def _element_texts(element: dict[str, Any], where: str) -> list[str]:
    """An element's plain_text-only parts and option rules; `where` is its path in the
    block, for the message."""
    kind = element.get("type")
    problems = _plain_text(element.get("placeholder"), f"{where}.placeholder")
    if kind == "button":
        problems += _plain_text(element.get("text"), f"{where}.text")
    confirm = element.get("confirm")
    if isinstance(confirm, dict):
        for key in ("title", "confirm", "deny"):
            problems += _plain_text(confirm.get(key), f"{where}.confirm.{key}")
    options = element.get("options")
    options = options if isinstance(options, list) else []
    if kind in ("radio_buttons", "checkboxes") and len(options) > CHOICE_OPTION_LIMIT:
        problems.append(f"`{where}.options` allows no more than {CHOICE_OPTION_LIMIT} items")
    groups = element.get("option_groups")
    groups = [g for g in groups if isinstance(g, dict)] if isinstance(groups, list) else []
    placed = [(f"{where}.options.{i}", option) for i, option in enumerate(options)]
    for g, group in enumerate(groups):
        path, label = f"{where}.option_groups.{g}", group.get("label")
        problems += _plain_text(label, f"{path}.label")
        if isinstance(label, dict) and len(str(label.get("text") or "")) > GROUP_LABEL_LIMIT:
            problems.append(f"`{path}.label` must be at most {GROUP_LABEL_LIMIT} characters")
        inner = group.get("options") if isinstance(group.get("options"), list) else []
        if len(inner) > GROUP_OPTION_LIMIT:
            problems.append(f"`{path}.options` allows no more than {GROUP_OPTION_LIMIT} items")
        placed += [(f"{path}.options.{i}", o) for i, o in enumerate(inner)]
    for path, option in placed:
        if not isinstance(option, dict):
            continue
        if kind in MENU_ELEMENTS:
            problems += _plain_text(option.get("text"), f"{path}.text")
        description = option.get("description")
        described = description.get("text") if isinstance(description, dict) else ""
        if len(str(described or "")) > OPTION_DESCRIPTION_LIMIT:
            problems.append(
                f"`{path}.description` must be at most {OPTION_DESCRIPTION_LIMIT} characters"
            )
    return problems


def _empty_texts(value: Any, path: str = "") -> list[str]:
    """Text objects with no text, which slack_sdk lets through and Slack refuses
    ("must be more than 0 characters"): a section, a button label, an option's text."""
    if isinstance(value, list):
        return [
            p for index, item in enumerate(value) for p in _empty_texts(item, f"{path}{index}.")
        ]
    if not isinstance(value, dict):
        return []
    problems = []
    if value.get("type") in ("plain_text", "mrkdwn") and not str(value.get("text") or ""):
        problems.append(f"`{path.rstrip('.') or 'text'}` must be more than 0 characters")
    for key, item in value.items():
        if isinstance(item, dict | list):
            problems += _empty_texts(item, f"{path}{key}.")
    return problems


def _dropped_parts(original: Any, parsed: Any, path: str = "") -> list[str]:
    """Structure slack_sdk threw away: an unknown element type or an unsupported field."""
    if isinstance(original, dict) and isinstance(parsed, dict):
        problems = []
        for key, value in original.items():
            if isinstance(value, dict | list) and value:
                if key not in parsed:
                    problems.append(f"unsupported `{path}{key}` (type {_type_of(value)})")
                else:
                    problems += _dropped_parts(value, parsed[key], f"{path}{key}.")
        return problems
    if isinstance(original, list) and isinstance(parsed, list):
        problems = []
        for index, (item, kept) in enumerate(zip(original, parsed, strict=False)):
            if kept is None:
                problems.append(f"unsupported `{path}{index}` (type {_type_of(item)})")
            else:
                problems += _dropped_parts(item, kept, f"{path}{index}.")
        return problems
    return []


def _type_of(value: Any) -> str:
    return str(value.get("type")) if isinstance(value, dict) else type(value).__name__


def interactive_elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    """The elements of a block a user can act on (actions, accessory, input element)."""
    found: list[Any] = []
    if block.get("type") == "actions":
        found = list(block.get("elements") or [])
    elif block.get("type") == "section" and block.get("accessory"):
        found = [block["accessory"]]
    elif block.get("type") == "input" and block.get("element"):
        found = [block["element"]]
    return [e for e in found if isinstance(e, dict) and e.get("type") != "image"]


def _element_problems(block: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    action_ids: set[str] = set()
    for element in interactive_elements(block):
        action_id = element.get("action_id")
        if action_id is not None and action_id in action_ids:
            problems.append(f"duplicate action_id `{action_id}` in one block")
        action_ids.add(action_id)
        low, high = OVERFLOW_OPTIONS
        if (
            element.get("type") == "overflow"
            and not low <= len(element.get("options") or []) <= high
        ):
            problems.append(f"an overflow menu needs {low} to {high} options")
        value = element.get("value")
        is_button = element.get("type") == "button"
        if is_button and isinstance(value, str) and len(value) > BUTTON_VALUE_LIMIT:
            problems.append(f"button value must be at most {BUTTON_VALUE_LIMIT} characters")
        problems += _option_problems(element)
        problems += _text_input_problems(element)
    for field in block.get("fields") or []:
        if isinstance(field, dict) and len(str(field.get("text", ""))) > FIELD_TEXT_LIMIT:
            problems.append(f"a section field's text must be at most {FIELD_TEXT_LIMIT} chars")
    return problems


TEXT_INPUT_LIMIT = 3000
"""The most a plain_text_input's `max_length` can be (Block Kit reference)."""


def _text_input_problems(element: dict[str, Any]) -> list[str]:
    """A text input's limits, and an initial value that breaks them: Slack's client would
    show text the person could not then submit. Refused here, to be safe."""
    if element.get("type") != "plain_text_input":
        return []
    longest = element.get("max_length")
    if longest is None:
        return []
    if not isinstance(longest, int) or not 1 <= longest <= TEXT_INPUT_LIMIT:
        return [f"a text input's max_length must be 1 to {TEXT_INPUT_LIMIT}"]
    initial = element.get("initial_value")
    if isinstance(initial, str) and len(initial) > longest:
        return ["a text input's initial_value is longer than its max_length"]
    return []


def _option_problems(element: dict[str, Any]) -> list[str]:
    """Option objects, which slack_sdk leaves unchecked: text 75, value 150 characters,
    and initial options that are not among the options (Slack refuses the view)."""
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += list(group.get("options") or []) if isinstance(group, dict) else []
    problems = []
    for option in options:
        if not isinstance(option, dict):
            continue
        label = option.get("text")
        text = label.get("text", "") if isinstance(label, dict) else ""
        if len(str(text)) > OPTION_TEXT_LIMIT:
            problems.append(f"an option's text must be at most {OPTION_TEXT_LIMIT} characters")
        if len(str(option.get("value", ""))) > OPTION_VALUE_LIMIT:
            problems.append(f"an option's value must be at most {OPTION_VALUE_LIMIT} characters")
    if not str(element.get("type", "")).endswith("external_select"):
        initial = element.get("initial_option")
        picks = [initial] if initial else []
        picks += list(element.get("initial_options") or [])
        if any(pick not in options for pick in picks):
            problems.append("an initial option must be exactly one of the element's options")
    return problems
