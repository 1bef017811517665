"""Who may pay and who may connect providers: user ids and Slack user groups.

Nobody is allowed by default, never a silent free-for-all. Refusals name the action
and who may do it, in the team's words (payers, admins), not the operator's settings.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.team_settings import ADMIN_GROUPS, ADMINS, PAYER_GROUPS, PAYERS, TeamSettings
from bot.workspaces import BotTokens

log = logging.getLogger(__name__)

GROUP_CACHE_SECONDS = 60.0
PASSING = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
"""Slack's refusals of a group read that asking again later may mend."""


class GroupUnread(Exception):
    """A user group Slack could not list just now (rate-limited, down): its members are
    not known, which is not the same as it having none."""


@dataclass(frozen=True)
class GroupListing:
    """A workspace's user groups as (id, "@handle (name)"), or None with Slack's refusal
    (`missing_scope` without `usergroups:read`, `plan_upgrade_required`, ...)."""

    groups: list[tuple[str, str]] | None
    refused: str | None = None


class Access:
    """Each workspace's own admins and payers; user groups are read with its bot token."""

    def __init__(self, teams: TeamSettings, client: AsyncWebClient, tokens: BotTokens) -> None:
        self.teams = teams
        self.client = client
        self.tokens = tokens
        self._groups: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}
        self._listed: dict[str, tuple[float, list[tuple[str, str]]]] = {}

    async def _members(
        self, team_id: str, group_id: str, *, strict: bool = False
    ) -> frozenset[str]:
        """`strict`: a read that may work later raises `GroupUnread` instead of counting
        the group empty (for whom a post must reach, as against whom a click may pass)."""
        cached = self._groups.get((team_id, group_id))
        if cached and time.monotonic() - cached[0] < GROUP_CACHE_SECONDS:
            return cached[1]
        try:
            token = await self.tokens.token(team_id)
            response = await self.client.usergroups_users_list(usergroup=group_id, token=token)
            members = frozenset(response.get("users") or [])
        except SlackApiError as error:
            data = error.response.data  # a 5xx may come with a plain-text body
            status = error.response.status_code
            code = str(data.get("error", "")) if isinstance(data, dict) else f"HTTP {status}"
            log.warning("cannot read user group %s: %s", group_id, code)
            if strict and (status == 429 or status >= 500 or code in PASSING):
                raise GroupUnread(code) from None
            return frozenset()
        self._groups[(team_id, group_id)] = (time.monotonic(), members)
        return members

    async def group_members(
        self, team_id: str, group_id: str, *, strict: bool = False
    ) -> frozenset[str]:
        """A user group's members (cached for a minute; empty when it cannot be read, or
        with `strict` `GroupUnread` when it may be read later)."""
        return await self._members(team_id, group_id, strict=strict)

    async def listed_groups(self, team_id: str) -> GroupListing:
        """This workspace's user groups, asked with its own token, cached for a minute."""
        listed = self._listed.get(team_id)
        if listed and time.monotonic() - listed[0] < GROUP_CACHE_SECONDS:
            return GroupListing(listed[1])
        try:
            token = await self.tokens.token(team_id)
            response = await self.client.usergroups_list(token=token)
        except SlackApiError as error:
            refused = str(error.response.get("error"))
            log.warning("cannot list user groups: %s", refused)
            return GroupListing(None, refused)
        found = [
            (str(g["id"]), f"@{g.get('handle') or g['id']} ({g.get('name') or g['id']})")
            for g in response.get("usergroups") or []
            if g.get("id")
        ]
        self._listed[team_id] = (time.monotonic(), found)
        return GroupListing(found)

    async def groups(self, team_id: str) -> list[tuple[str, str]] | None:
        """A workspace's user groups; None when Slack will not list them."""
        return (await self.listed_groups(team_id)).groups

    async def _in_groups(self, team_id: str, user_id: str, key: str, *, strict: bool) -> bool:
        """`strict`: `GroupUnread` when no group read holds them but one Slack would not
        list just now might."""
        unread: GroupUnread | None = None
        for group in self.teams.groups(team_id, key):
            try:
                if user_id in await self._members(team_id, group, strict=strict):
                    return True
            except GroupUnread as error:
                unread = error
        if unread is not None:
            raise unread
        return False

    async def may_administer(self, team_id: str, user_id: str, *, strict: bool = True) -> bool:
        """`strict` (for a gate): `GroupUnread` rather than a no while an admin group that
        might hold them cannot be read; else (what to show) such a group counts empty."""
        return user_id in self.teams.people(team_id, ADMINS) or await self._in_groups(
            team_id, user_id, ADMIN_GROUPS, strict=strict
        )

    async def _chosen(
        self, team_id: str, people: str, groups: str, *, strict: bool = False
    ) -> frozenset[str]:
        found = [
            await self._members(team_id, g, strict=strict)
            for g in self.teams.groups(team_id, groups)
        ]
        return self.teams.people(team_id, people).union(*found)

    async def admins(self, team_id: str, *, strict: bool = False) -> frozenset[str]:
        """A workspace's admins, chosen people and their groups' members: who hears of a
        billing-channel post the channel refused. `strict`: `GroupUnread` when a group
        cannot be listed just now, rather than leaving its members out."""
        return await self._chosen(team_id, ADMINS, ADMIN_GROUPS, strict=strict)

    async def admins_to_tell(self, team_id: str) -> frozenset[str]:
        """`admins`, strictly: a post meant for them waits until every group is read."""
        return await self.admins(team_id, strict=True)

    async def payers(self, team_id: str) -> frozenset[str]:
        """Whom reminders about payables go to: the payers, or the admins if none is set."""
        chosen = await self._chosen(team_id, PAYERS, PAYER_GROUPS)
        return chosen or await self.admins(team_id)

    async def may_pay(self, team_id: str, user_id: str, *, strict: bool = True) -> bool:
        """Payers and admins may pay. `strict` as for `may_administer`: a payer whose
        group Slack will not list just now is not known to be refused, and is not told so."""
        if user_id in self.teams.people(team_id, PAYERS):
            return True
        try:
            if await self._in_groups(team_id, user_id, PAYER_GROUPS, strict=strict):
                return True
        except GroupUnread:
            if await self.may_administer(team_id, user_id, strict=False):
                return True
            raise
        return await self.may_administer(team_id, user_id, strict=strict)

    async def may_pay_shown(self, team_id: str, user_id: str) -> bool | None:
        """`may_pay` for what a list shows: None while a group that might let them pay
        cannot be read, so the list says that rather than that they may not pay."""
        try:
            return await self.may_pay(team_id, user_id)
        except GroupUnread:
            return None


GROUPS_UNREAD = (
    "Pay is not offered here: Slack did not list a user group just now, so invoicebot cannot "
    "tell yet whether you may pay. Try again in a minute."
)
"""Said where controls are left out because a user group could not be read (`GroupUnread`),
rather than `WHO_MAY_PAY`, which would tell a payer they are not one."""

WHO_MAY_PAY = (
    "Only people chosen as payers can pay invoices; ask an admin, or whoever runs invoicebot "
    "for your team."
)
"""Who chooses depends on the install (admins by OAuth, the operator with one bot token):
the person is pointed at both, as `ADMIN_REFUSAL` does."""


def refusal(doing: str) -> str:
    """`You are not allowed to <doing>, so nothing was done.` and who may, in the same words."""
    return (
        f"You are not allowed to {doing}, so nothing was done. Only people chosen as payers "
        f"can {doing}; ask an admin, or whoever runs invoicebot for your team."
    )


PAY_REFUSAL = refusal("pay invoices")
LINK_REFUSAL = refusal("send payment links to customers")
EMAIL_REFUSAL = refusal("send invoices to customers")
CREATE_REFUSAL = refusal("create invoices")
ADMIN_REFUSAL = (
    "Only invoicebot admins can connect providers, so nothing was changed. Ask one of them, "
    "or whoever runs invoicebot for your team to make you one."
)
BILLING_REFUSAL = (
    "Only invoicebot admins can choose the billing channel, so nothing was changed. Ask one "
    "of them (whoever installed invoicebot is one)."
)
