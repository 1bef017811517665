"""The approval settings dialog: admins only, checked line by line, saved and audited.

Opened by `/invoices settings` or App Home's **Approval settings**; a saved policy
replaces the one `INVOICEBOT_APPROVALS` seeds.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals_policy import Policy, PolicyError
from bot.slack.blocks import approvals as blocks
from bot.slack.blocks.listing import notice
from bot.slack.connect import result_view, submitted_values
from bot.slack.services import Services

Body = dict[str, Any]


async def open_settings(
    svc: Services, client: AsyncWebClient, team_id: str, user_id: str, trigger_id: str
) -> str | None:
    """The settings dialog for admins; the refusal to say otherwise."""
    if not await svc.access.may_administer(team_id, user_id):
        svc.store.audit("refused.approval_settings", team_id=team_id, user_id=user_id)
        return blocks.SETTINGS_REFUSAL
    policy = svc.approvals.policy(team_id)
    await client.views_open(trigger_id=trigger_id, view=blocks.settings_modal(policy))
    return None


async def on_open_settings(
    svc: Services, ack: AsyncAck, body: Body, respond: AsyncRespond, client: AsyncWebClient
) -> None:
    await ack()
    refusal = await open_settings(
        svc, client, body["team"]["id"], body["user"]["id"], body["trigger_id"]
    )
    if refusal:
        await respond(replace_original=False, **notice(refusal))


async def on_settings_submit(
    svc: Services, ack: AsyncAck, body: Body, respond: AsyncRespond, client: AsyncWebClient
) -> None:
    team_id, user_id = body["team"]["id"], body["user"]["id"]
    if not await svc.access.may_administer(team_id, user_id):
        await ack(response_action="update", view=result_view("Not saved", blocks.SETTINGS_REFUSAL))
        return
    given = submitted_values(body["view"])
    try:
        hours = float(given.get("hours") or "0")
        if not 0 < hours <= 24 * 365:
            raise ValueError(hours)
    except ValueError:
        await ack(response_action="errors", errors={"hours": "Hours above 0, up to a year."})
        return
    try:
        policy = Policy.parse(given.get("rules") or "", hours)
    except PolicyError as problem:
        await ack(response_action="errors", errors={"rules": str(problem)})
        return
    svc.approvals.save_policy(team_id, policy, user_id=user_id)
    await ack(response_action="update", view=result_view("Saved", blocks.settings_saved(policy)))
