"""The few Block Kit shapes every builder uses, with Slack's limits applied."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from typing import Any

from bot.slack.blocks.clipping import clip as clip  # every text object is cut here
from bot.text import escape as escape  # the one escaping function, for the blocks
from bot.text import one_line

Block = dict[str, Any]


NUMBER_CHARS = 100
"""An invoice number or a customer's name as shown within a line (escaped)."""
DESCRIPTION_CHARS = 1000
"""An invoice's description as shown in a list or menu (escaped)."""


def inline(text: str, limit: int) -> str:
    """Provider text for a line that goes on after it: on one line, escaped and cut to
    `limit`, so what follows (an amount, a due date) still fits in Slack's section."""
    return clip(one_line(text), limit, mrkdwn=True)


def plain(text: str, limit: int = 3000) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def md(text: str, limit: int = 3000) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, limit, mrkdwn=True)}


class Ids:
    """Unique block ids for one rendering (Slack wants new ids when a message changes)."""

    def __init__(self) -> None:
        self.nonce = secrets.token_hex(3)
        self.count = 0

    def __call__(self, name: str) -> str:
        self.count += 1
        return f"{name}~{self.count}~{self.nonce}"[:255]


def header(ids: Ids, text: str) -> Block:
    return {"type": "header", "block_id": ids("header"), "text": plain(text, 150)}


def section(ids: Ids, text: str, accessory: dict[str, Any] | None = None) -> Block:
    block: Block = {"type": "section", "block_id": ids("section"), "text": md(text)}
    if accessory:
        block["accessory"] = accessory
    return block


def fields(ids: Ids, pairs: list[tuple[str, str]]) -> Block:
    return {
        "type": "section",
        "block_id": ids("fields"),
        "fields": [md(f"*{label}*\n{value}", 2000) for label, value in pairs[:10]],
    }


def context(ids: Ids, *texts: str) -> Block:
    return {
        "type": "context",
        "block_id": ids("context"),
        "elements": [md(text) for text in texts[:10]],
    }


def divider(ids: Ids) -> Block:
    return {"type": "divider", "block_id": ids("divider")}


def actions(ids: Ids, elements: list[dict[str, Any]], name: str = "actions") -> Block:
    return {"type": "actions", "block_id": ids(name), "elements": elements[:25]}


def button(
    text: str,
    action_id: str,
    value: str | None = None,
    *,
    style: str | None = None,
    url: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text, 75), "action_id": action_id}
    if value is not None:
        element["value"] = value[:2000]
    if style:
        element["style"] = style
    if url:
        element["url"] = url
    if confirm:
        element["confirm"] = confirm
    return element


def input_block(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    action_id: str,
    optional: bool,
    hint: str = "",
) -> Block:
    """A dialog input; `hint` is the grey line under it."""
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label, 2000),
        "element": {"action_id": action_id, **element},
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


OPTION_TEXT = 75
"""Slack's most characters in an option's text."""


def option(text: str, value: str) -> dict[str, Any]:
    """A menu option; one the provider left unnamed shows its id (Slack refuses an
    option with no text, and with it the whole message)."""
    label = clip(text, OPTION_TEXT).strip()  # what is left once unshown characters go
    return {"text": plain(label or value, OPTION_TEXT), "value": value[:150]}


SELECT_OPTIONS = 100
"""Slack's most options in a static select, and in each of its option groups."""
SELECT_MOST = 1_000
"""Choices a menu offers at most: ten groups of a hundred, far past any provider's."""


def select(
    action_id: str, placeholder: str, choices: list[tuple[str, str]], chosen: str | None
) -> dict[str, Any]:
    """A menu of `choices` (methods, banks, currencies). Slack's select holds 100
    options, or up to 100 groups of 100: past 100 choices they come in groups, each
    labelled with its first and last, so every choice stays reachable (up to
    `SELECT_MOST`; one chosen beyond those takes the last place, since Slack refuses the
    message when `initial_option` is not among the options)."""
    shown = choices[:SELECT_MOST]
    picked = next((choice for choice in choices if choice[1] == chosen), None)
    if picked is not None and picked not in shown:
        shown = [*shown[: SELECT_MOST - 1], picked]
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": plain(placeholder, 150),
    }
    if len(shown) <= SELECT_OPTIONS:
        element["options"] = [option(text, value) for text, value in shown]
    else:
        groups = [shown[at : at + SELECT_OPTIONS] for at in range(0, len(shown), SELECT_OPTIONS)]
        element["option_groups"] = [
            {
                "label": plain(_span(group[0][0], group[-1][0]), OPTION_TEXT),
                "options": [option(text, value) for text, value in group],
            }
            for group in groups
        ]
    if picked is not None:
        element["initial_option"] = option(*picked)
    return element


def _span(first: str, last: str) -> str:
    """A group's label: "ABN AMRO … Knab", each end cut to fit Slack's 75 characters."""
    half = (OPTION_TEXT - 3) // 2
    return f"{clip(first, half).strip() or '…'} … {clip(last, half).strip() or '…'}"


def confirm_dialog(
    title: str, text: str, confirm: str, *, deny: str = "Cancel", danger: bool = False
) -> dict[str, Any]:
    dialog: dict[str, Any] = {
        "title": plain(title, 100),
        "text": md(text, 300),
        "confirm": plain(confirm, 30),
        "deny": plain(deny, 30),
    }
    if danger:
        dialog["style"] = "danger"
    return dialog


def day(value: date | None) -> str:
    return value.isoformat() if value else "—"


def moment(value: datetime) -> str:
    """A time every reader sees in their own zone and format."""
    stamp = int(value.timestamp())
    fallback = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{stamp}^{{date_short_pretty}} at {{time}}|{fallback}>"
