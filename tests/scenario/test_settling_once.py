"""Two payers, cancelled and expired links, interrupted starts and Slack losing its answer:
each invoice ends with exactly one confirmation, naming who really paid."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot import web as web_module
from bot.models import PaymentState
from bot.web import OUTBOX, POLLER, STORE
from plugins.i3d.sandbox import SANDBOX
from tests.scenario.conftest import BotFactory
from tests.scenario.harness import Harness, Screen, find, pay_in_browser, text_of

OTHER = "U0OTHER"


async def menu_with_bank(h: Harness, user: str = "U0PAYER") -> Screen:
    """/invoices → Pay INV-24-0101 → iDEAL → ING, as `user`: the menu with Get link."""
    _, screen, _ = await h.command("", user=user)
    screen = await h.screen_after(screen)
    key = await h.click(screen, "pay", user=user, pick=lambda e: "|410001" in e["value"])
    menu = Screen(await h.next_response(key), key)
    for action_id, value in (("choose_method", "10"), ("choose_issuer", "INGBNL2A")):
        key = await h.click(menu, action_id, user=user, selected=value)
        menu = Screen(await h.next_response(key), key)
    return menu


async def link_for(h: Harness, user: str = "U0PAYER") -> tuple[str, str]:
    """Get link from the menu, as `user`; (the link message's key, the pay URL)."""
    key = await h.click(await menu_with_bank(h, user), "get_link", user=user)
    shown = await h.next_response(key)
    return key, find(shown, "open_link", lambda e: True)[1]["url"]


def browser() -> aiohttp.ClientSession:
    """A payer's own browser, with its own cookies."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def settle_quietly(h: Harness) -> None:
    """Let the poller and the outbox run until nothing is left to send, and a bit more."""
    store = h.bot.app[STORE]
    await h.wait_for(lambda: store.outbox_pending() == 0, within=10)
    for _ in range(3):
        await h.bot.app[POLLER].run_once()
        await h.bot.app[OUTBOX].send_due()
        await asyncio.sleep(0.3)


def states(h: Harness) -> list[str]:
    rows = h.bot.app[STORE].db.execute("SELECT state FROM payments ORDER BY created_ts")
    return [row[0] for row in rows]


async def test_a_cancelled_link_reloaded_after_another_payer_paid_posts_nothing(
    harness: Harness,
) -> None:
    h = harness
    h.slack.user_groups["S0PAYERS"] = [OTHER]
    _, link_a = await link_for(h)
    async with browser() as a:
        _, page = await pay_in_browser(a, link_a, "cancel")
        assert "Payment cancelled" in page
        _, link_b = await link_for(h, OTHER)
        async with browser() as b:
            _, page = await pay_in_browser(b, link_b)
            assert "Invoice paid" in page
        async with a.get(h.bot.make_url("/landing/i3d")) as again:
            assert "Payment cancelled" in await again.text()
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    await settle_quietly(h)
    (posted,) = h.slack.posted_to("C0BILLING")
    assert f"<@{OTHER}>" in text_of(posted) and "<@U0PAYER>" not in text_of(posted)
    assert states(h) == ["cancelled", "paid"]


async def test_an_expired_link_next_to_a_paid_one_is_never_credited(harness: Harness) -> None:
    h = harness
    h.slack.user_groups["S0PAYERS"] = [OTHER]
    await link_for(h)  # never opened
    store = h.bot.app[STORE]
    store.db.execute("UPDATE payments SET token_expires_at = ?", [time.time() - 1])
    _, link_b = await link_for(h, OTHER)
    async with browser() as b:
        await pay_in_browser(b, link_b, come_back=False)  # B closes the tab: the poller finds it
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    await settle_quietly(h)
    (posted,) = h.slack.posted_to("C0BILLING")
    assert f"<@{OTHER}>" in text_of(posted)
    assert states(h) in (["expired", "paid"], ["superseded", "paid"])


async def test_two_opened_links_one_payment_credits_the_last_opened_and_tells_the_other(
    harness: Harness,
) -> None:
    """A opens the page and leaves it; B opens later and pays. i3D cannot say who paid, so
    the last attempt opened is credited, and A's message says the link is not needed."""
    h = harness
    h.slack.user_groups["S0PAYERS"] = [OTHER]
    key_a, link_a = await link_for(h)
    async with browser() as a, a.get(link_a) as opened:
        assert opened.status == 200
    store = h.bot.app[STORE]
    store.db.execute("UPDATE payments SET token_expires_at = ?", [time.time() - 1])
    _, link_b = await link_for(h, OTHER)
    async with browser() as b:
        await pay_in_browser(b, link_b, come_back=False)
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    await settle_quietly(h)
    (posted,) = h.slack.posted_to("C0BILLING")
    assert f"<@{OTHER}>" in text_of(posted)
    assert states(h) == ["superseded", "paid"]
    told_a = await h.next_response(key_a, 2)
    assert "paid through another payment" in text_of(told_a)


async def test_a_start_whose_provider_call_is_cut_off_by_a_shutdown_blocks_nothing(
    harness: Harness, start_bot: BotFactory, i3d_sandbox: TestServer, monkeypatch: Any
) -> None:
    """The bot stops while i3D is registering the payment and the call outlasts the
    stop's grace (kill -9: tests/scenario/test_killed.py): after the restart the next
    click gives a link."""
    monkeypatch.setattr(web_module, "LISTENERS_GRACE", 0.2)
    h = harness
    state = i3d_sandbox.app[SANDBOX]
    state.hang_seconds = 5
    state.inject("hang", path="/v3/account/invoice/pay/register")
    await h.click(await menu_with_bank(h), "get_link")
    await h.wait_for(lambda: states(h) == ["created"])
    await h.bot.close()
    h.bot = await start_bot()
    _, link = await link_for(h)
    assert "/pay/" in link
    await settle_quietly(h)
    assert states(h)[-1] == "link_issued" and states(h)[0] in ("failed", "expired")
    assert h.slack.posted_to("C0BILLING") == []


async def test_slack_posting_but_losing_its_answer_still_gives_one_confirmation(
    harness: Harness,
) -> None:
    h = harness
    h.slack.lose_answer_next["chat.postMessage"] = 1
    _, link = await link_for(h)
    async with browser() as b:
        _, page = await pay_in_browser(b, link)
    assert "Invoice paid" in page
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    await settle_quietly(h)
    assert len(h.slack.posted_to("C0BILLING")) == 1
    (row,) = [r for r in h.bot.app[STORE].outbox_items() if r["method"] == "chat.postMessage"]
    assert row["sent_at"] and row["adopted"] == 1 and row["ts"]
    assert any(entry.action == "outbox.adopted" for entry in h.bot.app[STORE].audit_log())


async def test_a_500_then_slack_unreachable_for_the_lookup_waits_and_posts_once(
    harness: Harness,
) -> None:
    """A 500 may hide a post: nothing is re-posted until the channel has been searched."""
    h = harness
    h.slack.fail_next["chat.postMessage"] = 1
    h.slack.history_errors = ["ratelimited"]
    _, link = await link_for(h)
    async with browser() as b:
        await pay_in_browser(b, link)
    await settle_quietly(h)
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    await settle_quietly(h)
    assert len(h.slack.posted_to("C0BILLING")) == 1
    (row,) = [r for r in h.bot.app[STORE].outbox_items() if r["method"] == "chat.postMessage"]
    assert row["adopted"] == 0 and row["attempts"] >= 2


async def test_a_crash_right_after_slack_posted_adopts_the_post_after_the_restart(
    harness: Harness, start_bot: BotFactory
) -> None:
    h = harness
    h.slack.lose_answer_next["chat.postMessage"] = 1
    _, link = await link_for(h)
    outbox = h.bot.app[OUTBOX]
    outbox.first_delay = 60  # the retry would come long after the restart
    async with browser() as b:
        await pay_in_browser(b, link)
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    await h.bot.close()
    h.bot.app[STORE]  # the old process is gone; its database remains
    h.bot = await start_bot()
    h.bot.app[STORE].db.execute("UPDATE outbox SET next_attempt_at = 0")
    await settle_quietly(h)
    assert len(h.slack.posted_to("C0BILLING")) == 1
    rows = [r for r in h.bot.app[STORE].outbox_items() if r["method"] == "chat.postMessage"]
    assert [r["adopted"] for r in rows] == [1]
    (lookup,) = h.slack.reads
    # What Slack gives apps outside its Marketplace: 15 a page, so the window is bounded.
    assert int(lookup.args["limit"]) <= 15
    assert float(lookup.args["oldest"]) < float(lookup.args["latest"]) < time.time() + 120


async def test_the_payment_row_says_who_was_credited(harness: Harness) -> None:
    h = harness
    _, link = await link_for(h)
    async with browser() as b:
        await pay_in_browser(b, link)
    await h.wait_for(lambda: h.bot.app[STORE].settlements())
    (settlement,) = h.bot.app[STORE].settlements()
    payment = h.bot.app[STORE].payment(settlement["payment_id"])
    assert payment is not None and payment.state is PaymentState.PAID
    assert payment.settlement_id == settlement["id"]


async def test_a_double_click_on_get_link_starts_one_payment(harness: Harness) -> None:
    h = harness
    menu = await menu_with_bank(h)
    keys = await asyncio.gather(h.click(menu, "get_link"), h.click(menu, "get_link"))
    shown = [text_of(await h.next_response(key)) for key in keys]
    links = {url for text in shown for url in re.findall(r"https?://\S+/pay/[\w-]+", text)}
    assert len(links) == 1, shown  # the second click shows the same link, or waits
    assert all("/pay/" in text or "being started right now" in text for text in shown)
    assert states(h) == ["link_issued"]


async def test_get_link_clicked_again_shows_the_payers_own_link_again(harness: Harness) -> None:
    h = harness
    menu = await menu_with_bank(h)
    first = text_of(await h.next_response(await h.click(menu, "get_link")))
    again = text_of(await h.next_response(await h.click(menu, "get_link")))
    (link,) = set(re.findall(r"https?://\S+/pay/[\w-]+", first))
    assert link in again and "already has" not in again
    assert states(h) == ["link_issued"]
    h.slack.user_groups["S0PAYERS"] = [OTHER]
    other = text_of(await h.next_response(await h.click(menu, "get_link", user=OTHER)))
    assert "<@U0PAYER> already has a payment link" in other and link not in other


async def test_two_payers_clicking_at_once_start_one_payment(harness: Harness) -> None:
    h = harness
    h.slack.user_groups["S0PAYERS"] = [OTHER]
    menus = await asyncio.gather(menu_with_bank(h), menu_with_bank(h, OTHER))
    keys = await asyncio.gather(
        h.click(menus[0], "get_link"), h.click(menus[1], "get_link", user=OTHER)
    )
    shown = [text_of(await h.next_response(key)) for key in keys]
    assert sum("/pay/" in text for text in shown) == 1
    assert states(h) == ["link_issued"]
    refusal = next(text for text in shown if "/pay/" not in text)
    assert "<@U0" in refusal and "&lt;@" not in refusal, "a mention, not escaped text"


@pytest.mark.parametrize("key", ["failure:p1", "paid-twice:p1:notice", "unconfirmed:p1"])
async def test_any_notice_to_billing_whose_answer_was_lost_is_posted_once(
    harness: Harness, key: str
) -> None:
    """Not only confirmations: a paid-twice notice posted twice could be refunded twice."""
    h = harness
    h.slack.lose_answer_next["chat.postMessage"] = 1
    args = {"channel": "C0BILLING", "text": ":warning: Paid twice: refund at i3D.net."}
    h.bot.app[STORE].enqueue("chat.postMessage", args, key=key, team_id="T0TEAM")
    await h.bot.app[OUTBOX].send_due()
    h.bot.app[STORE].db.execute("UPDATE outbox SET next_attempt_at = 0")
    await settle_quietly(h)
    assert len(h.slack.posted_to("C0BILLING")) == 1
    (row,) = h.bot.app[STORE].outbox_items()
    assert row["sent_at"] and row["adopted"] == 1


@pytest.mark.parametrize("to", ["U0PAYER", "D0PAYER"])
async def test_a_direct_message_whose_answer_was_lost_is_posted_once(
    harness: Harness, to: str
) -> None:
    """A payer told their outcome twice may read it as two payments: the DM is marked and
    found in its history (im:history), whether the post named the person or the DM."""
    h = harness
    h.slack.lose_answer_next["chat.postMessage"] = 1
    args = {"channel": to, "text": ":white_check_mark: Paid: i3D.net invoice INV-1."}
    h.bot.app[STORE].enqueue("chat.postMessage", args, key="payer:p1", team_id="T0TEAM")
    await h.bot.app[OUTBOX].send_due()
    h.bot.app[STORE].db.execute("UPDATE outbox SET next_attempt_at = 0")
    await settle_quietly(h)
    (call,) = h.slack.called("chat.postMessage")
    assert call.args["metadata"]["event_payload"] == {"key": "payer:p1"}
    assert {read.args["channel"] for read in h.slack.reads} == {"D0PAYER"}
    (row,) = h.bot.app[STORE].outbox_items()
    assert row["sent_at"] and row["adopted"] == 1


async def test_a_direct_message_to_someone_gone_is_not_looked_for_forever(
    harness: Harness,
) -> None:
    """Slack will not open the DM of a deactivated account: the post is tried again and
    meets Slack's own answer, rather than the lookup being asked for ever."""
    h = harness
    h.slack.lose_answer_next["chat.postMessage"] = 1
    args = {"channel": "U0PAYER", "text": "Paid."}
    h.bot.app[STORE].enqueue("chat.postMessage", args, key="payer:p1", team_id="T0TEAM")
    await h.bot.app[OUTBOX].send_due()
    h.slack.deactivated.add("U0PAYER")
    h.bot.app[STORE].db.execute("UPDATE outbox SET next_attempt_at = 0")
    await settle_quietly(h)
    assert len(h.slack.called("chat.postMessage")) == 2
    assert h.slack.reads == []
    (row,) = h.bot.app[STORE].outbox_items()
    assert row["sent_at"]


async def test_an_install_without_im_history_posts_a_lost_direct_message_again(
    harness: Harness,
) -> None:
    """Installed before invoicebot asked for im:history: the DM cannot be looked for, so
    it goes out again rather than not at all."""
    h = harness
    h.slack.withheld.add("im:history")
    h.slack.lose_answer_next["chat.postMessage"] = 1
    args = {"channel": "U0PAYER", "text": "Paid."}
    h.bot.app[STORE].enqueue("chat.postMessage", args, key="payer:p1", team_id="T0TEAM")
    await h.bot.app[OUTBOX].send_due()
    h.bot.app[STORE].db.execute("UPDATE outbox SET next_attempt_at = 0")
    await settle_quietly(h)
    assert len(h.slack.called("chat.postMessage")) == 2
    (row,) = h.bot.app[STORE].outbox_items()
    assert row["sent_at"] and not row["adopted"]
