"""The approval settings dialog: one part per bracket (currency, from amount, approvals
needed, approvers, provider), built from the saved policy or from what the admin has
typed so far.

Slack keeps what was typed in an input across views.update only while its block_id and
action_id stay the same, so each bracket's blocks are named by a key that never changes
or comes back (`b<key>.<field>`); the keys in use ride in `private_metadata`, with a
short name (`groups_key`) for the saved groups of brackets whose group field is not shown
(Slack would not list the groups).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from bot.approvals_policy import Bracket
from bot.slack.blocks import user_groups
from bot.slack.blocks.kit import Block, input_block, md, plain

SETTINGS_VIEW = "approval_settings_view"
ADD = "approval_settings_add"
REMOVE = "approval_settings_remove"
FIELD = "value"
"""The action id of every input in the dialog."""
ANY_PROVIDER = "*"
MAX_BRACKETS = 12
"""Eight blocks each, within a modal's hundred."""
CURRENCIES = (
    "EUR", "USD", "GBP", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK",
    "PLN", "CZK", "HUF", "JPY", "INR",
)  # fmt: skip
NEEDED = {0: "No approval", 1: "One approval", 2: "Two approvals (two people)"}


@dataclass(frozen=True)
class Draft:
    """One bracket as the dialog holds it: what was saved, or typed and not yet checked.

    `typed_groups` is the text of the group field when the workspace's groups cannot be
    listed (then groups are typed as ids)."""

    key: int
    currency: str | None = None
    start: str = ""
    needed: int | None = None
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    typed_groups: str | None = None
    provider: str | None = None

    @classmethod
    def of(cls, key: int, bracket: Bracket) -> Draft:
        return cls(
            key=key,
            currency=bracket.currency,
            start=f"{bracket.minimum:f}",
            needed=bracket.needed,
            users=bracket.users,
            groups=bracket.groups,
            provider=bracket.provider,
        )

    def block(self, field: str) -> str:
        return f"b{self.key}.{field}"


@dataclass(frozen=True)
class Choices:
    """What the dialog offers: the workspace's user groups and the connected providers,
    as (value, label). Groups are None when Slack will not list them (`refused` says
    why): brackets then offer people only and keep the groups they had."""

    groups: list[tuple[str, str]] | None
    providers: list[tuple[str, str]]
    refused: str | None = None


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": plain(label, 75), "value": value}


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool, hint: str = ""
) -> Block:
    return input_block(block_id, label, element, action_id=FIELD, optional=optional, hint=hint)


def _select(options: list[tuple[str, str]], chosen: str | None, placeholder: str) -> dict[str, Any]:
    shown = [_option(value, label) for value, label in options]
    element: dict[str, Any] = {
        "type": "static_select",
        "placeholder": plain(placeholder, 150),
        "options": shown,
    }
    picked = next((o for o in shown if o["value"] == chosen), None)
    if picked is not None:
        element["initial_option"] = picked
    return element


def _with(options: list[tuple[str, str]], extra: list[str]) -> list[tuple[str, str]]:
    """`options`, and any of `extra` they lack (saved before, not offered now)."""
    return user_groups.offered(options, tuple(extra))


def _groups_input(draft: Draft, groups: list[tuple[str, str]] | None) -> Block | None:
    """Groups from the workspace's list (typed as ids past a select's hundred); none when
    it cannot be listed, unless ids were being typed already."""
    if groups is None and draft.typed_groups is None:
        return None
    return user_groups.picker(
        draft.block("groups"),
        "Or any member of these user groups",
        groups or [],
        draft.groups,
        action_id=FIELD,
        typed=draft.typed_groups,
    )


def kept_groups(drafts: list[Draft], choices: Choices) -> dict[str, str]:
    """The groups of brackets whose group field is not shown, by key, each by its
    `groups_key`: the ids themselves filled Slack's 3,000 characters of metadata at about
    195, and Slack refused the dialog. Reading it finds them among the saved brackets."""
    return {
        str(d.key): groups_key(d.groups)
        for d in drafts
        if d.groups and _groups_input(d, choices.groups) is None
    }


def groups_key(groups: tuple[str, ...]) -> str:
    """A short name for a set of group ids, the same for the same ids in any order."""
    return hashlib.sha256(" ".join(sorted(groups)).encode()).hexdigest()[:16]


def bracket_blocks(draft: Draft, number: int, choices: Choices) -> list[Block]:
    saved = [draft.currency] if draft.currency else []
    currencies = _with([(c, c) for c in CURRENCIES], saved)
    providers = _with(
        [(ANY_PROVIDER, "Any provider"), *choices.providers],
        [draft.provider] if draft.provider else [],
    )
    users: dict[str, Any] = {
        "type": "multi_users_select",
        "placeholder": plain("Choose people", 150),
    }
    if draft.users:
        users["initial_users"] = list(draft.users)
    remove = {
        "type": "button",
        "action_id": REMOVE,
        "text": plain("Remove", 75),
        "value": str(draft.key),
    }
    blocks: list[Block] = [
        {"type": "divider", "block_id": draft.block("line")},
        {
            "type": "section",
            "block_id": draft.block("head"),
            "text": md(f"*Bracket {number}*"),
            "accessory": remove,
        },
        _input(
            draft.block("currency"),
            "Currency",
            _select(currencies, draft.currency, "Choose a currency"),
            optional=False,
        ),
        _input(
            draft.block("from"),
            "From amount",
            {"type": "plain_text_input", "max_length": 30, **_initial(draft.start)},
            optional=False,
            hint="Payments of this amount and above, e.g. 500 or 1,250.50.",
        ),
        _input(
            draft.block("needed"),
            "Approvals needed",
            _select(
                [(str(n), label) for n, label in NEEDED.items()],
                None if draft.needed is None else str(draft.needed),
                "How many",
            ),
            optional=False,
        ),
        _input(draft.block("users"), "Who may approve", users, optional=True),
    ]
    groups = _groups_input(draft, choices.groups)
    if groups is not None:
        blocks.append(groups)
    blocks.append(
        _input(
            draft.block("provider"),
            "For payments to",
            _select(providers, draft.provider or ANY_PROVIDER, "Any provider"),
            optional=True,
            hint="A provider's own brackets replace the general ones in their currency.",
        )
    )
    return blocks


def _initial(text: str) -> dict[str, str]:
    return {"initial_value": text} if text else {}


def settings_dialog(
    drafts: list[Draft], hours: str, choices: Choices, *, next_key: int
) -> dict[str, Any]:
    """The dialog with these brackets; `next_key` names the next bracket added."""
    blocks: list[Block] = [
        {
            "type": "context",
            "block_id": "how",
            "elements": [
                md(
                    "Each bracket says how many approvals payments need from an amount up. "
                    "The highest bracket a payment reaches applies."
                )
            ],
        }
    ]
    kept = kept_groups(drafts, choices)
    if choices.groups is None:
        note = user_groups.refusal_note(choices.refused)
        if kept:
            note += " The user groups chosen before stay as they are."
        blocks.append({"type": "context", "block_id": "groups_note", "elements": [md(note)]})
    if not drafts:
        blocks.append(
            {"type": "section", "block_id": "none", "text": md("No payment needs approval.")}
        )
    for number, draft in enumerate(drafts, start=1):
        blocks += bracket_blocks(draft, number, choices)
    if len(drafts) < MAX_BRACKETS:
        add = {"type": "button", "action_id": ADD, "text": plain("Add a bracket", 75)}
        blocks.append({"type": "actions", "block_id": "add", "elements": [add]})
    blocks.append({"type": "divider", "block_id": "end"})
    hours_element = {
        "type": "number_input",
        "is_decimal_allowed": True,
        "min_value": "0.01",
        **_initial(hours),
    }
    blocks.append(_input("hours", "An approval is good for (hours)", hours_element, optional=False))
    metadata: dict[str, Any] = {"keys": [d.key for d in drafts], "next": next_key}
    if kept:
        metadata["groups"] = kept
    return {
        "type": "modal",
        "callback_id": SETTINGS_VIEW,
        "private_metadata": json.dumps(metadata),
        "title": plain("Approval settings", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }
