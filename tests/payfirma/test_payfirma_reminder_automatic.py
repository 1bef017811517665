"""Send reminder on an invoice the scheduled reminders already e-mailed today: the answer
says that reminder went out automatically, rather than naming nobody."""

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


@pytest.mark.parametrize("state", ["sent", "unknown"])
@pytest.mark.parametrize("settings", [{"payers": "U0PAYER"}], indirect=True)
async def test_a_reminder_sent_automatically_today_is_said_to_be(
    bot: TestServer, sandbox: SandboxState, state: str
) -> None:
    svc = bot.app[SERVICES]
    invoice = await svc.connections.get(TEAM, "payfirma").get_invoice("212948")
    runs = Runs(svc.store)
    claimed = runs.claim_reminder(
        CUSTOMER, TEAM, "payfirma", "212948", invoice.number, svc.today().isoformat(),
        user_id=None, automatic=True,
    )  # fmt: skip
    assert claimed is not None
    runs.reminder_sent(claimed, state, "customer@example.com" if state == "sent" else None)
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
    assert "today, automatically" in text, text
    assert sandbox.emails == [], "one reminder a day at most"
