"""Choosing Slack user groups in a dialog.

Block Kit has no user group picker, so a workspace's own groups (usergroups.list) become
the options of a multi_static_select. A select holds a hundred options: past that, groups
are typed as ids, and whoever reads them checks them against the same list.
"""

from __future__ import annotations

import re
from typing import Any

from bot.slack.blocks.kit import Block, input_block, plain

SELECT_LIMIT = 100
TYPED_LIMIT = 3_000
"""Characters of typed ids: Slack's most for a text input. Groups chosen from a select
(at most its hundred options, plus any since gone) are shown again here when the
workspace outgrows the select, and must fit with room to add more."""
TYPED_HINT = (
    "User group ids (S…), separated by commas: a group's profile in Slack has "
    "“Copy group ID”. Any member counts."
)
_ID = re.compile(r"<!subteam\^(S[A-Z0-9]+)(?:\|[^>]*)?>|(S[A-Z0-9]+)")

Listed = list[tuple[str, str]]
"""A workspace's groups as (id, label)."""


def offered(listed: Listed, chosen: tuple[str, ...]) -> Listed:
    """`listed`, and any chosen group it lacks (saved before, since gone) under its id."""
    known = {value for value, _ in listed}
    return listed + [(g, g) for g in dict.fromkeys(chosen) if g not in known]


def picker(
    block_id: str,
    label: str,
    listed: Listed,
    chosen: tuple[str, ...],
    *,
    action_id: str,
    typed: str | None = None,
    hint: str = "",
) -> Block | None:
    """An optional input for user groups, or None when the workspace has none. `typed` is
    the text of the field when groups are typed (too many to offer), to keep it."""
    options = offered(listed, chosen)
    if typed is not None or len(options) > SELECT_LIMIT:
        text = typed if typed is not None else ", ".join(chosen)
        element: dict[str, Any] = {"type": "plain_text_input", "max_length": TYPED_LIMIT}
        if text:
            element["initial_value"] = text
        hint = TYPED_HINT
    elif not options:
        return None
    else:
        shown = [{"text": plain(name, 75), "value": value} for value, name in options]
        element = {
            "type": "multi_static_select",
            "placeholder": plain("Choose user groups", 150),
            "options": shown,
        }
        initial = [o for o in shown if o["value"] in chosen]
        if initial:
            element["initial_options"] = initial
    return input_block(block_id, label, element, action_id=action_id, optional=True, hint=hint)


def typed_text(entry: dict[str, Any]) -> str | None:
    """What was typed into a picker that takes ids; None for a select."""
    return str(entry.get("value") or "") if entry.get("type") == "plain_text_input" else None


def chosen(entry: dict[str, Any]) -> tuple[tuple[str, ...], str | None]:
    """The group ids a picker's state holds, and what is wrong with typed ones."""
    typed = typed_text(entry)
    if typed is None:
        return tuple(str(o["value"]) for o in entry.get("selected_options") or ()), None
    return ids_in(typed)


def ids_in(typed: str) -> tuple[tuple[str, ...], str | None]:
    """Group ids typed bare (S0FIN) or as mentions, and what is wrong with the text."""
    found = []
    for word in re.split(r"[\s,]+", typed.strip()):
        if not word:
            continue
        match = _ID.fullmatch(word)
        if match is None:
            return (), f"`{word}` is not a user group id; they start with S, like S0FINANCE."
        found.append(next(g for g in match.groups() if g))
    return tuple(dict.fromkeys(found)), None


def unknown(ids: tuple[str, ...], listed: Listed, saved: tuple[str, ...]) -> str | None:
    """What to say when an id is no group of this workspace (nor one saved before)."""
    known = {value for value, _ in listed} | set(saved)
    strangers = [g for g in ids if g not in known]
    if not strangers:
        return None
    return f"`{strangers[0]}` is not a user group of this workspace."


def refusal_note(error: str | None) -> str:
    """Why the dialog offers people only, when Slack will not list the groups."""
    if error == "missing_scope":
        return (
            "invoicebot may not read this workspace's user groups (Slack's "
            "*usergroups:read* permission: reinstall invoicebot to grant it), so only "
            "people can be chosen here."
        )
    if error == "plan_upgrade_required":
        return "This workspace's Slack plan has no user groups, so only people can be chosen here."
    return (
        "Slack did not list this workspace's user groups just now, so only people can be "
        "chosen here; open this dialog again to choose groups."
    )
