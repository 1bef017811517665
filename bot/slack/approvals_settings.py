"""The approval settings dialog: admins only, one part per bracket, checked field by
field, saved and audited.

Opened by `/invoices settings` or App Home's **Approval settings**; a saved policy
replaces the one `INVOICEBOT_APPROVALS` seeds. **Add a bracket** and **Remove** redraw
the dialog with views.update (and the hash it was seen with), keeping what was typed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals_policy import MAX_APPROVALS, Bracket, Policy, undercut
from bot.money import AmountError, currency_code, minor_units, parse_amount
from bot.slack import dialogs, values
from bot.slack.actions import TAMPERED
from bot.slack.blocks import approval_settings as dialog
from bot.slack.blocks import approvals as blocks
from bot.slack.blocks import user_groups
from bot.slack.blocks.approval_settings import Choices, Draft
from bot.slack.blocks.listing import notice
from bot.slack.connect import result_view
from bot.slack.services import Services

log = logging.getLogger(__name__)
Body = dict[str, Any]


class Tampered(ValueError):
    """The dialog's metadata is not what invoicebot wrote."""


class OutOfDate(Tampered):
    """The groups the dialog kept unseen are no longer among the saved settings."""


SETTINGS_CHANGED = (
    "The approval settings were changed since this dialog opened, so nothing was saved. "
    "Open them again to see them as they are now."
)


async def _choices(svc: Services, team_id: str) -> Choices:
    providers = [(p.name, p.title) for p in svc.connections.connected(team_id)]
    listing = await svc.access.listed_groups(team_id)
    return Choices(groups=listing.groups, providers=providers, refused=listing.refused)


async def open_settings(
    svc: Services, client: AsyncWebClient, team_id: str, user_id: str, trigger_id: str
) -> str | None:
    """The settings dialog for admins; the refusal to say otherwise."""
    if not await svc.access.may_administer(team_id, user_id):
        svc.store.audit("refused.approval_settings", team_id=team_id, user_id=user_id)
        return blocks.SETTINGS_REFUSAL
    policy = svc.approvals.policy(team_id)
    drafts = [Draft.of(key, bracket) for key, bracket in enumerate(policy.brackets)]
    view = dialog.settings_dialog(
        drafts, f"{policy.hours:g}", await _choices(svc, team_id), next_key=len(drafts)
    )
    await client.views_open(trigger_id=trigger_id, view=view)
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


def read_dialog(view: Body, saved: Policy) -> tuple[list[Draft], str, int]:
    """(brackets as typed, hours as typed, the next bracket's key) from a view's state;
    groups kept unseen are found again among the `saved` policy's brackets."""
    try:
        metadata = values.metadata(view)
        keys = [int(key) for key in metadata["keys"]]
        next_key = int(metadata["next"])
        named = {int(k): str(name) for k, name in (metadata.get("groups") or {}).items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise Tampered("settings metadata") from None
    known = {dialog.groups_key(b.groups): b.groups for b in saved.brackets if b.groups}
    if not set(named.values()) <= set(known):
        raise OutOfDate("settings groups")
    kept = {key: known[name] for key, name in named.items()}
    wrong = len(set(keys)) != len(keys) or any(not 0 <= k < next_key for k in keys)
    wrong = wrong or not set(kept) <= set(keys)
    if wrong or len(keys) > dialog.MAX_BRACKETS:
        raise Tampered("settings keys")
    state = view.get("state", {}).get("values", {})

    def entry(key: int, field: str) -> dict[str, Any]:
        found: dict[str, Any] = state.get(f"b{key}.{field}", {}).get(dialog.FIELD) or {}
        return found

    def chosen(key: int, field: str) -> str | None:
        option = entry(key, field).get("selected_option") or {}
        return str(option["value"]) if option.get("value") is not None else None

    drafts = []
    for key in keys:
        groups = entry(key, "groups")
        needed = chosen(key, "needed")
        provider = chosen(key, "provider")
        drafts.append(
            Draft(
                key=key,
                currency=chosen(key, "currency"),
                start=str(entry(key, "from").get("value") or ""),
                needed=int(needed) if needed and needed.isascii() and needed.isdigit() else None,
                users=tuple(entry(key, "users").get("selected_users") or ()),
                groups=kept[key]
                if key in kept
                else tuple(o["value"] for o in groups.get("selected_options") or ()),
                typed_groups=user_groups.typed_text(groups),
                provider=None if provider in (None, dialog.ANY_PROVIDER) else provider,
            )
        )
    hours = str(state.get("hours", {}).get(dialog.FIELD, {}).get("value") or "")
    return drafts, hours, next_key


Change = Callable[[list[Draft], int], tuple[list[Draft], int]]
"""What a click does to the brackets and the next key."""


async def _redraw(
    svc: Services, body: Body, respond: AsyncRespond, client: AsyncWebClient, change: Change
) -> None:
    view = body.get("view") or {}  # none: a click from a message, not from the dialog
    saved = svc.approvals.policy(body["team"]["id"])
    try:
        drafts, hours, next_key = read_dialog(view, saved)
    except OutOfDate:
        await dialogs.update(client, view.get("id"), result_view("Not changed", SETTINGS_CHANGED))
        return
    except Tampered:
        log.warning("approval settings click with tampered metadata or from outside the dialog")
        if body.get("response_url"):
            await respond(replace_original=False, **notice(TAMPERED))
        return
    drafts, next_key = change(drafts, next_key)
    choices = await _choices(svc, body["team"]["id"])
    shown = dialog.settings_dialog(
        _unlisted(drafts, choices, saved), hours, choices, next_key=next_key
    )
    try:
        await dialogs.update(client, view["id"], shown, hash=view.get("hash"))
    except SlackApiError as error:
        if error.response.get("error") != "hash_conflict":
            raise
        log.info("the settings dialog changed meanwhile; this click redraws nothing")


def _unlisted(drafts: list[Draft], choices: Choices, saved: Policy) -> list[Draft]:
    """`drafts` with the groups picked from the list, and not saved yet, as typed ids
    when Slack will not list the groups now: kept unseen, they would ride by a short name
    no saved bracket has, and reading the dialog would refuse it as changed meanwhile."""
    if choices.groups is not None:
        return drafts
    known = {dialog.groups_key(b.groups) for b in saved.brackets if b.groups}
    return [
        replace(d, typed_groups=", ".join(d.groups))
        if d.groups and d.typed_groups is None and dialog.groups_key(d.groups) not in known
        else d
        for d in drafts
    ]


async def on_add_bracket(
    svc: Services, ack: AsyncAck, body: Body, respond: AsyncRespond, client: AsyncWebClient
) -> None:
    await ack()

    def add(drafts: list[Draft], next_key: int) -> tuple[list[Draft], int]:
        if len(drafts) >= dialog.MAX_BRACKETS:
            return drafts, next_key
        last = drafts[-1] if drafts else None
        fresh = Draft(key=next_key, currency=last.currency if last else "EUR")
        return [*drafts, fresh], next_key + 1

    await _redraw(svc, body, respond, client, add)


async def on_remove_bracket(
    svc: Services, ack: AsyncAck, body: Body, respond: AsyncRespond, client: AsyncWebClient
) -> None:
    await ack()
    gone = str(body["actions"][0].get("value", ""))

    def remove(drafts: list[Draft], next_key: int) -> tuple[list[Draft], int]:
        return [d for d in drafts if str(d.key) != gone], next_key

    await _redraw(svc, body, respond, client, remove)


def _groups(draft: Draft) -> tuple[tuple[str, ...], str | None]:
    """The draft's group ids, and what is wrong with the typed ones."""
    if draft.typed_groups is None:
        return draft.groups, None
    return user_groups.ids_in(draft.typed_groups)


def _bracket(draft: Draft, errors: dict[str, str]) -> Bracket | None:
    """The draft as a bracket, or None with what is wrong in `errors` by block id."""
    try:
        currency = currency_code(draft.currency or "")
    except ValueError:  # only a form Slack did not build: its menu holds currencies
        errors[draft.block("currency")] = "Choose a currency."
        return None
    try:
        # No lone thousands mark here: "500.123" in euro would read as 500,123 and quietly
        # lift the bracket a thousandfold, so three digits after one mark are refused as
        # ambiguous (with both marks, "1.000,00", grouping is still clear).
        minimum = parse_amount(
            draft.start,
            minor_units(currency),
            thousands="",
            allow_zero=True,
            what="amount the bracket starts from",
        )
    except AmountError as problem:
        errors[draft.block("from")] = str(problem)
    if draft.needed is None or not 0 <= draft.needed <= MAX_APPROVALS:
        errors[draft.block("needed")] = "Choose how many approvals."
    groups, wrong = _groups(draft)
    if wrong:
        errors[draft.block("groups")] = wrong
    needed = draft.needed or 0
    if needed and not draft.users and not groups and not wrong:
        errors[draft.block("users")] = "Choose who may approve: people, or a user group."
    elif needed == 2 and len(draft.users) < 2 and not groups:
        errors[draft.block("users")] = (
            "Two approvals need two different people: choose at least two, or a user group."
        )
    if any(key.startswith(f"b{draft.key}.") for key in errors):
        return None
    return Bracket(
        currency=currency,
        minimum=minimum,
        needed=needed,
        approvers=tuple(dict.fromkeys((*draft.users, *groups))),
        provider=draft.provider,
    )


def policy_from(drafts: list[Draft], hours_text: str) -> Policy | dict[str, str]:
    """The policy the dialog describes, or Slack's `errors` (block id → sentence)."""
    errors: dict[str, str] = {}
    kept: dict[tuple[str | None, str, Any], int] = {}
    brackets = []
    typed_in: dict[Bracket, tuple[int, Draft]] = {}
    for number, draft in enumerate(drafts, start=1):
        bracket = _bracket(draft, errors)
        if bracket is None:
            continue
        if bracket.key in kept:
            where = f"at {bracket.provider}" if bracket.provider else "for any provider"
            errors[draft.block("from")] = (
                f"Bracket {kept[bracket.key]} already starts at {bracket.floor.format()} {where}."
            )
            continue
        kept[bracket.key] = number
        brackets.append(bracket)
        typed_in[bracket] = (number, draft)
    for higher, lower in undercut(brackets).items():
        errors[typed_in[higher][1].block("needed")] = (
            f"Bracket {typed_in[lower][0]} starts lower, at {lower.floor.format()}, and needs "
            f"{lower.needed}: a larger payment cannot need fewer approvals."
        )
    try:
        hours = float(hours_text or "0")
        if not 0 < hours <= 24 * 365:
            raise ValueError(hours)
    except ValueError:
        errors["hours"] = "Hours above 0, up to a year."
    if errors:
        return errors
    return Policy.of(brackets, hours)


async def on_settings_submit(
    svc: Services, ack: AsyncAck, body: Body, respond: AsyncRespond, client: AsyncWebClient
) -> None:
    team_id, user_id = body["team"]["id"], body["user"]["id"]
    if not await svc.access.may_administer(team_id, user_id):
        await ack(response_action="update", view=result_view("Not saved", blocks.SETTINGS_REFUSAL))
        return
    try:
        drafts, hours, _ = read_dialog(body["view"], svc.approvals.policy(team_id))
    except OutOfDate:
        await ack(response_action="update", view=result_view("Not saved", SETTINGS_CHANGED))
        return
    except Tampered:
        await ack(response_action="update", view=result_view("Not saved", TAMPERED))
        return
    policy = policy_from(drafts, hours)
    if isinstance(policy, dict):
        await ack(response_action="errors", errors=policy)
        return
    svc.approvals.save_policy(team_id, policy, user_id=user_id)
    await ack(response_action="update", view=result_view("Saved", blocks.settings_saved(policy)))
