"""Who may pay and who may connect providers: user ids and Slack user groups.

Nobody is allowed by default, never a silent free-for-all. Refusals name the action
and who may do it, in the team's words (payers, admins), not the operator's settings.
"""

from __future__ import annotations

import logging
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings

log = logging.getLogger(__name__)

GROUP_CACHE_SECONDS = 60.0


class Access:
    def __init__(self, settings: Settings, client: AsyncWebClient) -> None:
        self.settings = settings
        self.client = client
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}

    async def _members(self, group_id: str | None) -> frozenset[str]:
        if not group_id:
            return frozenset()
        cached = self._groups.get(group_id)
        if cached and time.monotonic() - cached[0] < GROUP_CACHE_SECONDS:
            return cached[1]
        try:
            response = await self.client.usergroups_users_list(usergroup=group_id)
            members = frozenset(response.get("users") or [])
        except SlackApiError as error:
            log.warning("cannot read user group %s: %s", group_id, error.response.get("error"))
            return frozenset()
        self._groups[group_id] = (time.monotonic(), members)
        return members

    async def group_members(self, group_id: str) -> frozenset[str]:
        """A user group's members (cached for a minute; empty when it cannot be read)."""
        return await self._members(group_id)

    async def may_administer(self, user_id: str) -> bool:
        return user_id in self.settings.admins or user_id in await self._members(
            self.settings.admin_group
        )

    async def payers(self) -> frozenset[str]:
        """Whom reminders about payables go to: the payers, or the admins if none is set."""
        chosen = self.settings.payers | await self._members(self.settings.payer_group)
        return chosen or self.settings.admins | await self._members(self.settings.admin_group)

    async def may_pay(self, user_id: str) -> bool:
        """Payers and admins may pay."""
        if user_id in self.settings.payers:
            return True
        if user_id in await self._members(self.settings.payer_group):
            return True
        return await self.may_administer(user_id)


WHO_MAY_PAY = "Only people your admins chose as payers can pay invoices; ask an admin."


def refusal(doing: str) -> str:
    """`You are not allowed to <doing>, so nothing was done.` and who may, in the same words."""
    return (
        f"You are not allowed to {doing}, so nothing was done. Only people your admins chose "
        f"as payers can {doing}; ask an admin."
    )


PAY_REFUSAL = refusal("pay invoices")
LINK_REFUSAL = refusal("send payment links to customers")
EMAIL_REFUSAL = refusal("send invoices to customers")
CREATE_REFUSAL = refusal("create invoices")
ADMIN_REFUSAL = (
    "Only invoicebot admins can connect providers, so nothing was changed. Ask one of them, "
    "or whoever runs invoicebot for your team to make you one."
)
