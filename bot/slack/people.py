"""Who may pay and who administers a workspace that installed invoicebot by OAuth.

With one bot token these come from the environment; each workspace installed by OAuth
keeps its own lists, which its admins change in a dialog (`/invoices people`).
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.access import ADMIN_REFUSAL
from bot.slack.blocks.kit import plain
from bot.slack.connect import result_view
from bot.slack.errors import shielded
from bot.slack.services import Services
from bot.team_settings import ADMINS, PAYERS

PEOPLE_VIEW = "people"
KEEP_AN_ADMIN = "Keep at least one admin: nobody could change this again otherwise."


def _picker(block_id: str, label: str, hint: str, chosen: list[str]) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "multi_users_select", "action_id": "value"}
    if chosen:
        element["initial_users"] = chosen
    return {
        "type": "input",
        "block_id": block_id,
        "optional": block_id == PAYERS,
        "label": plain(label, 2000),
        "hint": plain(hint, 2000),
        "element": element,
    }


def people_modal(admins: list[str], payers: list[str]) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": PEOPLE_VIEW,
        "title": plain("Who may pay", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            _picker(
                ADMINS, "Admins", "Connect providers, choose the billing channel, pay.", admins
            ),
            _picker(PAYERS, "Payers", "Pay invoices and send payment links.", payers),
        ],
    }


def current(svc: Services, team_id: str) -> dict[str, Any]:
    """The dialog with this workspace's own admins and payers filled in."""
    admins = sorted(svc.teams.get(team_id, ADMINS) or [])
    payers = sorted(svc.teams.get(team_id, PAYERS) or [])
    return people_modal(admins, payers)


def _chosen(view: dict[str, Any], block_id: str) -> list[str]:
    state = view.get("state", {}).get("values", {}).get(block_id, {}).get("value", {})
    return sorted({str(user) for user in state.get("selected_users") or []})


def register(app: AsyncApp, svc: Services) -> None:
    async def submit(ack: AsyncAck, body: dict[str, Any]) -> None:
        view, team_id, user_id = body["view"], body["team"]["id"], body["user"]["id"]
        if not await svc.access.may_administer(team_id, user_id):
            await ack(response_action="update", view=result_view("Not changed", ADMIN_REFUSAL))
            return
        admins, payers = _chosen(view, ADMINS), _chosen(view, PAYERS)
        if not admins:
            await ack(response_action="errors", errors={ADMINS: KEEP_AN_ADMIN})
            return
        svc.teams.put(team_id, ADMINS, admins, user_id)
        svc.teams.put(team_id, PAYERS, payers, user_id)
        svc.store.audit(
            "people.changed", team_id=team_id, user_id=user_id, admins=admins, payers=payers
        )
        await ack(
            response_action="update",
            view=result_view("Saved", f"{len(admins)} admin(s) and {len(payers)} payer(s)."),
        )

    app.view(PEOPLE_VIEW)(shielded(submit))
