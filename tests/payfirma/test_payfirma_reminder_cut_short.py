"""A reminder whose send a stop cut short (or whose answer was lost) may or may not have
reached the customer: a click on Send reminder again that day says so, instead of saying
the customer was reminded."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.runs import CUSTOMER, Runs
from bot.slack import values
from bot.slack.reminders import on_remind
from bot.web import SERVICES
from plugins.payfirma.sandbox import SandboxState
from tests.payfirma.test_payfirma_core import TEAM, bot
from tests.scenario.harness import text_of

__all__ = ["bot"]


@pytest.mark.parametrize("settings", [{"payers": "U0PAYER"}], indirect=True)
async def test_a_reminder_cut_short_is_said_to_be_unconfirmed_not_sent(
    bot: TestServer, sandbox: SandboxState
) -> None:
    svc = bot.app[SERVICES]
    invoice = await svc.connections.get(TEAM, "payfirma").get_invoice("212948")
    # What kill -9 mid-send leaves: the day's reminder claimed, its answer never kept.
    Runs(svc.store).claim_reminder(
        CUSTOMER, TEAM, "payfirma", "212948", invoice.number, svc.today().isoformat(),
        user_id="U0PAYER",
    )  # fmt: skip
    said: list[dict[str, Any]] = []

    async def ack() -> None:
        return None

    async def respond(**message: Any) -> None:
        said.append(message)

    body = {
        "team": {"id": TEAM},
        "user": {"id": "U0PAYER"},
        "actions": [{"value": values.PayTarget("payfirma", ("212948",)).encode()}],
    }
    await on_remind(svc, ack, body, respond)  # type: ignore[arg-type]
    (answer,) = said
    text = text_of(answer)
    assert "already reminded" not in text, text
    assert "has not confirmed that it went out" in text and "today" in text, text
    assert sandbox.emails == [], "no second e-mail while the first may have gone"
