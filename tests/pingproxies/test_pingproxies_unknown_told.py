"""A saved-card charge whose answer is lost is UNKNOWN; its payer must hear so (and not to
pay again) even when Slack's response_url does not take the answer at that moment."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.models import PaymentState
from bot.slack.values import GET_LINK, PayTarget
from bot.web import OUTBOX, POLLER, SERVICES
from plugins.pingproxies.sandbox import SandboxState
from tests.conftest import SIGNING_SECRET
from tests.fake_slack import FakeSlack
from tests.pingproxies.conftest import TEAM, pay_path
from tests.pingproxies.test_pingproxies_core import CARD
from tests.scenario.harness import Harness, Screen


def said_to_payer(slack: FakeSlack, key: str) -> list[str]:
    replies = [str(body.get("text", "")) for body in slack.responses.get(key, [])]
    dms = [str(args.get("text", "")) for args in slack.posted_to("U0PAYER")]
    return replies + dms


@pytest.mark.parametrize("settings", [{"payers": "U0PAYER"}], indirect=True)
async def test_an_unknown_charge_is_told_to_its_payer_after_a_response_url_failure(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, slack_server = fake_slack
    svc = bot.app[SERVICES]
    options = await svc.checkout.options(TEAM, "pingproxies", ["inv_sbx0101"])
    target = PayTarget("pingproxies", ("inv_sbx0101",), CARD, None, options.total)
    button = {"type": "button", "action_id": GET_LINK, "value": target.encode()}
    screen = Screen({"blocks": [{"block_id": "b1", "elements": [button]}]}, "r0")
    sandbox.inject("error", path=pay_path("inv_sbx0101"))  # a 500: was the card charged?
    slack.fail_next["response_url"] = 1000  # Slack's response URLs fail meanwhile
    async with aiohttp.ClientSession() as http:
        h = Harness(bot, slack, slack_server, SIGNING_SECRET, http)
        key = await h.click(screen, GET_LINK)

        def state() -> PaymentState | None:
            found = svc.store.payments_for_invoices(TEAM, "pingproxies", ["inv_sbx0101"])
            return found[0].state if found else None

        await h.wait_for(lambda: state() is PaymentState.UNKNOWN)
        await asyncio.sleep(8.0)  # the click's own answer has given up by now
        slack.fail_next.clear()  # Slack is back
        for _ in range(20):
            svc.store.db.execute("UPDATE outbox SET next_attempt_at = 0 WHERE sent_at IS NULL")
            await bot.app[POLLER].run_once()
            await bot.app[OUTBOX].send_due()
            await asyncio.sleep(0.1)
    assert state() is PaymentState.UNKNOWN  # PingProxies has said nothing either way
    told = said_to_payer(slack, key)
    assert any("not known" in text or "does not know" in text for text in told), told


@pytest.mark.parametrize("settings", [{"payers": "U0PAYER"}], indirect=True)
async def test_a_list_says_an_invoice_whose_charge_is_in_doubt_is_not_to_be_paid_again(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """While a saved card's charge is neither confirmed nor refused, the list still offers
    the invoice (the provider says it is open) and says on its row that a payment may have
    gone through and not to pay again, as the Pay button's menu would."""
    slack, slack_server = fake_slack
    svc = bot.app[SERVICES]
    options = await svc.checkout.options(TEAM, "pingproxies", ["inv_sbx0101"])
    target = PayTarget("pingproxies", ("inv_sbx0101",), CARD, None, options.total)
    button = {"type": "button", "action_id": GET_LINK, "value": target.encode()}
    screen = Screen({"blocks": [{"block_id": "b1", "elements": [button]}]}, "r0")
    sandbox.inject("error", path=pay_path("inv_sbx0101"))  # a 500: was the card charged?
    async with aiohttp.ClientSession() as http:
        h = Harness(bot, slack, slack_server, SIGNING_SECRET, http)
        await h.click(screen, GET_LINK)
        found = svc.store.payments_for_invoices
        await h.wait_for(
            lambda: (
                [p.state for p in found(TEAM, "pingproxies", ["inv_sbx0101"])]
                == [PaymentState.UNKNOWN]
            )
        )
        _, listed, _ = await h.command("pingproxies", user="U0OTHER")
        rows = (await h.screen_after(listed)).message["blocks"]
    (row,) = [b for b in rows if "PING-0101" in str(b.get("text"))]
    assert "Do not pay again" in row["text"]["text"] and "<@U0PAYER>" in row["text"]["text"]
    (other,) = [b for b in rows if "PING-0102" in str(b.get("text"))]
    assert "Do not pay again" not in other["text"]["text"]


@pytest.mark.parametrize("settings", [{"payers": "U0PAYER"}], indirect=True)
async def test_app_home_says_an_overdue_invoice_whose_charge_is_in_doubt_is_not_to_be_paid_again(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, slack_server = fake_slack
    svc = bot.app[SERVICES]
    options = await svc.checkout.options(TEAM, "pingproxies", ["inv_sbx0087"])
    target = PayTarget("pingproxies", ("inv_sbx0087",), CARD, None, options.total)
    button = {"type": "button", "action_id": GET_LINK, "value": target.encode()}
    screen = Screen({"blocks": [{"block_id": "b1", "elements": [button]}]}, "r0")
    sandbox.inject("error", path=pay_path("inv_sbx0087"))  # a 500: was the card charged?
    found = svc.store.payments_for_invoices
    home = {
        "type": "event_callback",
        "team_id": TEAM,
        "event": {"type": "app_home_opened", "user": "U0PAYER", "tab": "home"},
        "event_id": "Ev1",
    }
    async with aiohttp.ClientSession() as http:
        h = Harness(bot, slack, slack_server, SIGNING_SECRET, http)
        await h.click(screen, GET_LINK)
        await h.wait_for(
            lambda: (
                [p.state for p in found(TEAM, "pingproxies", ["inv_sbx0087"])]
                == [PaymentState.UNKNOWN]
            )
        )
        await h.post(json.dumps(home))
        published = await h.wait_for(lambda: slack.called("views.publish"))
    view = published[-1].args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    rows = [
        b for b in view["blocks"] if (b.get("text") or {}).get("text", "").startswith("*PING-0087*")
    ]
    assert rows and all("Do not pay again" in row["text"]["text"] for row in rows)
