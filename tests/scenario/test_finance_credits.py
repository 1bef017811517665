"""A credit note is money the supplier owes the team: never "overdue"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestServer

from bot.slack.home import home_view
from bot.web import SERVICES
from plugins.i3d.sandbox import SANDBOX
from tests.scenario.harness import Harness, text_of


def _credit_due_days_ago(sandbox: TestServer, days: int) -> None:
    state = sandbox.app[SANDBOX]
    when = int((datetime.now(UTC) - timedelta(days=days)).timestamp())
    for key, item in list(state.invoices.items()):
        if item.invoiceNumber == "CRN-24-0003":
            state.invoices[key] = item.model_copy(update={"dueDate": when})


async def test_a_credit_note_past_its_date_is_not_listed_as_overdue(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    _credit_due_days_ago(i3d_sandbox, 5)
    _, screen, _ = await harness.command("overdue")
    listed = text_of((await harness.screen_after(screen)).message)
    assert "CRN-24-0003" not in listed, listed
    home = text_of(await home_view(harness.bot.app[SERVICES], "T0TEAM", "U0PAYER"))
    overdue_part = home[home.index("Overdue") : home.index("Due this week")]
    assert "CRN-24-0003" not in overdue_part, overdue_part
