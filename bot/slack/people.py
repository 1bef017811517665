"""Who may pay and who administers a workspace that installed invoicebot by OAuth.

With one bot token these come from the environment; each workspace installed by OAuth
keeps its own lists, which its admins change in a dialog (`/invoices people`): people,
and user groups of that workspace whose members count too. Groups come from the
workspace's own usergroups.list; when Slack will not list them the dialog says why,
offers people only and leaves the groups chosen before as they are.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.access import ADMIN_REFUSAL, GroupListing
from bot.slack.blocks import user_groups
from bot.slack.blocks.kit import Block, input_block, md, plain
from bot.slack.connect import result_view
from bot.slack.errors import shielded
from bot.slack.services import Services
from bot.team_settings import ADMIN_GROUPS, ADMINS, PAYER_GROUPS, PAYERS

PEOPLE_VIEW = "people"
FIELD = "value"
KEEP_AN_ADMIN = "Keep at least one admin: nobody could change this again otherwise."
GROUP_LABELS = {
    ADMIN_GROUPS: ("Admins' user groups", "Every member is an admin too."),
    PAYER_GROUPS: ("Payers' user groups", "Every member may pay too."),
}


def _people(block_id: str, label: str, hint: str, chosen: list[str]) -> Block:
    element: dict[str, Any] = {"type": "multi_users_select"}
    if chosen:
        element["initial_users"] = chosen
    optional = block_id == PAYERS
    return input_block(block_id, label, element, action_id=FIELD, optional=optional, hint=hint)


def _groups(key: str, listing: GroupListing, chosen: tuple[str, ...]) -> Block | None:
    if listing.groups is None:
        return None
    label, hint = GROUP_LABELS[key]
    return user_groups.picker(key, label, listing.groups, chosen, action_id=FIELD, hint=hint)


def people_modal(
    admins: list[str],
    payers: list[str],
    groups: dict[str, tuple[str, ...]],
    listing: GroupListing,
) -> dict[str, Any]:
    """The dialog; `groups` are the admin and payer group ids chosen so far."""
    blocks: list[Block | None] = [
        _people(ADMINS, "Admins", "Connect providers, choose the billing channel, pay.", admins),
        _groups(ADMIN_GROUPS, listing, groups[ADMIN_GROUPS]),
        _people(PAYERS, "Payers", "Pay invoices and send payment links.", payers),
        _groups(PAYER_GROUPS, listing, groups[PAYER_GROUPS]),
    ]
    if listing.groups is None:
        note = user_groups.refusal_note(listing.refused)
        if any(groups.values()):
            note += " The user groups chosen before stay as they are."
        blocks.append({"type": "context", "block_id": "groups_note", "elements": [md(note)]})
    return {
        "type": "modal",
        "callback_id": PEOPLE_VIEW,
        "title": plain("Who may pay", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "blocks": [block for block in blocks if block is not None],
    }


def _saved_groups(svc: Services, team_id: str) -> dict[str, tuple[str, ...]]:
    return {key: svc.teams.groups(team_id, key) for key in (ADMIN_GROUPS, PAYER_GROUPS)}


async def current(svc: Services, team_id: str) -> dict[str, Any]:
    """The dialog with this workspace's own admins, payers and their groups filled in."""
    admins = sorted(svc.teams.get(team_id, ADMINS) or [])
    payers = sorted(svc.teams.get(team_id, PAYERS) or [])
    listing = await svc.access.listed_groups(team_id)
    return people_modal(admins, payers, _saved_groups(svc, team_id), listing)


def _entry(view: dict[str, Any], block_id: str) -> dict[str, Any] | None:
    found = view.get("state", {}).get("values", {}).get(block_id, {}).get(FIELD)
    return found if isinstance(found, dict) else None


def _chosen_people(view: dict[str, Any], block_id: str) -> list[str]:
    entry = _entry(view, block_id) or {}
    return sorted({str(user) for user in entry.get("selected_users") or []})


def chosen_groups(
    view: dict[str, Any], saved: dict[str, tuple[str, ...]], listing: GroupListing
) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """The admin and payer groups the dialog holds (those saved, where it showed no
    picker), and what is wrong by block id: text that is no group id, or a group that
    is not this workspace's."""
    chosen, errors = dict(saved), {}
    for key in (ADMIN_GROUPS, PAYER_GROUPS):
        entry = _entry(view, key)
        if entry is None:
            continue
        ids, wrong = user_groups.chosen(entry)
        if wrong is None and listing.groups is not None:
            wrong = user_groups.unknown(ids, listing.groups, saved[key])
        if wrong:
            errors[key] = wrong
        else:
            chosen[key] = tuple(sorted(ids))
    return chosen, errors


def _saved_text(admins: list[str], payers: list[str], groups: dict[str, tuple[str, ...]]) -> str:
    said = f"{len(admins)} admin(s) and {len(payers)} payer(s)"
    count = len(groups[ADMIN_GROUPS]) + len(groups[PAYER_GROUPS])
    return f"{said}, and the members of {count} user group(s)." if count else f"{said}."


def register(app: AsyncApp, svc: Services) -> None:
    async def submit(ack: AsyncAck, body: dict[str, Any]) -> None:
        view, team_id, user_id = body["view"], body["team"]["id"], body["user"]["id"]
        if not await svc.access.may_administer(team_id, user_id):
            await ack(response_action="update", view=result_view("Not changed", ADMIN_REFUSAL))
            return
        admins, payers = _chosen_people(view, ADMINS), _chosen_people(view, PAYERS)
        saved = _saved_groups(svc, team_id)
        groups, errors = chosen_groups(view, saved, await svc.access.listed_groups(team_id))
        if not admins:
            errors[ADMINS] = KEEP_AN_ADMIN
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        svc.teams.put(team_id, ADMINS, admins, user_id)
        svc.teams.put(team_id, PAYERS, payers, user_id)
        for key, chosen in groups.items():
            svc.teams.put(team_id, key, list(chosen), user_id)
        svc.store.audit(
            "people.changed",
            team_id=team_id,
            user_id=user_id,
            admins=admins,
            payers=payers,
            admin_groups=list(groups[ADMIN_GROUPS]),
            payer_groups=list(groups[PAYER_GROUPS]),
        )
        await ack(
            response_action="update",
            view=result_view("Saved", _saved_text(admins, payers, groups)),
        )

    app.view(PEOPLE_VIEW)(shielded(submit))
