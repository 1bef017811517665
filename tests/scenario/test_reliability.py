"""Duplicates and faults: exactly one confirmation each time, none lost."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.pages import PAYMENT_COOKIE, SETTLEMENT, PaidPages
from bot.web import OUTBOX, POLLER, STORE
from plugins.i3d.sandbox import SANDBOX
from tests.scenario.conftest import BotFactory
from tests.scenario.harness import Harness, forms_in, pay_in_browser, text_of
from tests.scenario.test_paying import get_link


async def settle_quietly(h: Harness) -> None:
    """Let the poller and outbox run a few rounds, so a duplicate would have shown."""
    await asyncio.sleep(0.6)
    await h.bot.app[OUTBOX].send_due()


async def test_the_landing_hit_twice_posts_once(harness: Harness) -> None:
    h = harness
    _, pay_url = await get_link(h)
    landing, page = await pay_in_browser(h.http, pay_url)
    assert "Invoice paid" in page
    async with h.http.get(landing) as again:
        assert "Invoice paid" in await again.text()
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    await settle_quietly(h)
    assert len(h.slack.posted_to("C0BILLING")) == 1


async def test_the_landing_and_the_poller_racing_post_once(harness: Harness) -> None:
    h = harness
    _, pay_url = await get_link(h)
    landing, _ = await pay_in_browser(h.http, pay_url, come_back=False)

    async def land() -> str:
        async with h.http.get(landing) as response:
            return await response.text()

    pages = await asyncio.gather(land(), h.bot.app[POLLER].run_once(), land())
    assert "Invoice paid" in pages[0] and "Invoice paid" in pages[2]
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    await settle_quietly(h)
    assert len(h.slack.posted_to("C0BILLING")) == 1


async def test_the_poller_alone_notices_a_payer_who_never_came_back(harness: Harness) -> None:
    h = harness
    _, pay_url = await get_link(h)
    await pay_in_browser(h.http, pay_url, come_back=False)
    (posted,) = await h.wait_for(lambda: h.slack.posted_to("C0BILLING"), within=10)
    assert "INV-24-0101" in text_of(posted)


async def test_slack_rate_limiting_delays_the_confirmation_but_loses_nothing(
    harness: Harness,
) -> None:
    h = harness
    h.slack.rate_limit_next["chat.postMessage"] = 2
    _, pay_url = await get_link(h)
    await pay_in_browser(h.http, pay_url)
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    await settle_quietly(h)
    assert len(h.slack.posted_to("C0BILLING")) == 1
    (row,) = [r for r in h.bot.app[STORE].outbox_items() if r["method"] == "chat.postMessage"]
    assert row["attempts"] == 2 and row["sent_at"] is not None


async def test_a_restart_between_payment_and_landing_loses_nothing(
    harness: Harness, start_bot: BotFactory, i3d_sandbox: TestServer
) -> None:
    h = harness
    _, pay_url = await get_link(h)
    landing, _ = await pay_in_browser(h.http, pay_url, come_back=False)
    await h.bot.close()
    assert h.slack.posted_to("C0BILLING") == []
    h.bot = await start_bot()
    async with h.http.get(landing) as response:
        assert "Invoice paid" in await response.text()
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    await settle_quietly(h)
    assert len(h.slack.posted_to("C0BILLING")) == 1
    assert i3d_sandbox.app[SANDBOX].return_url.endswith("/landing/i3d")


async def test_a_restart_before_slack_accepts_still_sends_once(
    harness: Harness, start_bot: BotFactory
) -> None:
    h = harness
    h.slack.rate_limit_next["chat.postMessage"] = 1_000
    _, pay_url = await get_link(h)
    _, page = await pay_in_browser(h.http, pay_url)
    assert "Invoice paid" in page
    await h.bot.close()
    h.slack.rate_limit_next["chat.postMessage"] = 0
    h.bot = await start_bot()
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    await settle_quietly(h)
    assert len(h.slack.posted_to("C0BILLING")) == 1


async def test_a_burst_of_identical_commands_is_answered_from_one_provider_fetch(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """Twenty people ask at once: every one gets the list, i3D.net is asked far fewer times."""
    state = i3d_sandbox.app[SANDBOX]
    before = state.count("GET", "/v3/account/invoice")
    answers = await asyncio.gather(*(harness.command("") for _ in range(20)))
    lists = await asyncio.gather(*(harness.screen_after(screen) for _, screen, _ in answers))
    assert all("INV-24-0101" in text_of(shown.message) for shown in lists)
    assert state.count("GET", "/v3/account/invoice") - before < 20


async def test_a_bot_stopping_right_after_an_ack_still_posts_that_list(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """A deploy stops the bot between a command's ack and its list: the list still comes."""
    h = harness
    i3d_sandbox.app[SANDBOX].latency = 0.3
    _, screen, _ = await h.command("")
    await h.bot.close()
    (listing,) = h.answers(screen.response_url_id)
    assert "INV-24-0101" in text_of(listing)


async def test_a_paid_landing_page_reloaded_is_served_without_the_database(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paid is final: a storm of reloads reads nothing again; a stranger's browser (no
    cookie, a forged one) still gets nothing but the refusal."""
    h = harness
    _, pay_url = await get_link(h)
    landing, page = await pay_in_browser(h.http, pay_url)
    assert "Invoice paid" in page
    store = h.bot.app[STORE]
    reads: list[str] = []
    real = store.payment
    monkeypatch.setattr(store, "payment", lambda pid: reads.append(pid) or real(pid))
    for _ in range(20):
        async with h.http.get(landing) as again:
            assert "Invoice paid" in await again.text()
    assert reads == []
    async with aiohttp.ClientSession() as stranger:
        async with stranger.get(landing) as theirs:
            assert theirs.status == 400 and "Invoice paid" not in await theirs.text()
        forged = {PAYMENT_COOKIE: "someone-else.0000"}
        async with stranger.get(landing, cookies=forged) as theirs:
            assert theirs.status == 400
        # Pages are also kept by each request's exact bytes: no bytes pose as a payment.
        (payer,) = [c for c in h.http.cookie_jar if c.key == PAYMENT_COOKIE]
        payment_id = payer.value.rsplit(".", 1)[0]
        tampered = payer.value[:-1] + ("0" if payer.value[-1] != "0" else "1")
        for query, cookie in [("payment", payment_id), ("", f"{PAYMENT_COOKIE}={tampered}")]:
            url = landing.split("?")[0] + (f"?{query}" if query else "")
            async with stranger.get(url, headers={"Cookie": cookie}) as theirs:
                assert theirs.status == 400 and "Invoice paid" not in await theirs.text()
        # A link with a `state` the stranger chose, opened by the payer, is the payer's
        # page (their cookie names the payment), and is not kept under that `state`.
        chosen = landing.split("?")[0] + "?state=chosen-by-a-stranger"
        async with h.http.get(chosen) as payers:
            assert "Invoice paid" in await payers.text()
        async with stranger.get(chosen) as theirs:
            assert theirs.status == 400 and "Invoice paid" not in await theirs.text()


def test_requests_made_up_to_flood_the_kept_pages_cannot_push_out_a_payments_page() -> None:
    kept = PaidPages(size=4)
    kept.keep(("i3d", "payment", "pay_1"), b"paid")
    for n in range(100):  # one payer's own page, asked for with ever new junk
        kept.keep_sent(("as sent", "i3d", f"x={n}", "cookie"), b"paid")
    assert kept.get(("i3d", "payment", "pay_1")) == b"paid"
    assert kept.get_sent(("as sent", "i3d", "x=0", "cookie")) is None  # the oldest went
    assert kept.get_sent(("as sent", "i3d", "x=99", "cookie")) == b"paid"


async def test_browsers_landing_at_once_share_one_reading_of_the_payment(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the payment is known paid, a hundred landings at once are one landing: the
    payment is read a few times in all, not once per browser, and confirmed once."""
    h = harness
    _, pay_url = await get_link(h)
    landing, _ = await pay_in_browser(h.http, pay_url, come_back=False)
    store = h.bot.app[STORE]
    reads: list[str] = []
    real = store.payment
    monkeypatch.setattr(store, "payment", lambda pid: reads.append(pid) or real(pid))

    async def land() -> str:
        async with h.http.get(landing) as response:
            return await response.text()

    pages = await asyncio.gather(*(land() for _ in range(100)))
    assert all("Invoice paid" in page for page in pages)
    assert len(reads) < 10, f"{len(reads)} reads of the payment for 100 landings"
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    await settle_quietly(h)
    assert len(h.slack.posted_to("C0BILLING")) == 1


async def test_a_confirmation_the_billing_channel_refuses_reaches_the_admins_once(
    harness: Harness, start_bot: BotFactory
) -> None:
    """The bot is not in #billing: the record comes to each admin in a DM, saying why and
    what to do, once, however often the outbox runs and restarts."""
    h = harness
    h.slack.outside.add("C0BILLING")
    _, pay_url = await get_link(h)
    await pay_in_browser(h.http, pay_url)
    (dm,) = await h.wait_for(lambda: h.slack.posted_to("U0ADMIN"))
    first_line, record = text_of(dm).split("\n", 1)
    assert "could not post this to <#C0BILLING>" in first_line
    assert "not a member" in first_line and "`/invite @invoicebot`" in first_line
    assert "INV-24-0101" in record and "instead" not in dm
    # Marked as the admin's own post, not as the settlement's confirmation in #billing.
    assert dm["metadata"]["event_type"] == "invoicebot_post"
    await settle_quietly(h)
    await h.bot.close()
    h.bot = await start_bot()
    await h.bot.app[OUTBOX].send_due()
    await settle_quietly(h)
    assert len(h.slack.posted_to("U0ADMIN")) == 1
    assert h.slack.posted_to("C0BILLING") == []
    assert not [p for p in h.slack.posted_to("U0PAYER") if "could not post" in text_of(p)]


async def test_a_landing_the_database_cannot_record_says_not_confirmed_not_unpaid(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The payer has just paid; the database refuses the settlement's write (locked). The
    page must not say that nothing was paid, and the confirmation still comes, once."""
    import sqlite3

    h = harness
    store = h.bot.app[STORE]
    real = store.add_settlement
    locked = True

    def add_settlement(*args: object, **kwargs: object) -> None:
        if locked:
            raise sqlite3.OperationalError("database is locked")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "add_settlement", add_settlement)
    _, pay_url = await get_link(h)
    _, page = await pay_in_browser(h.http, pay_url)
    assert "Invoice paid" not in page
    assert "Nothing was paid" not in page and "nothing was paid" not in page.lower()
    assert "not confirmed" in page.lower() and "do not pay again" in page.lower()
    assert h.slack.posted_to("C0BILLING") == []
    locked = False
    for row in store.db.execute("SELECT id FROM payments"):
        store.update_payment(row[0], next_check_at=0)  # the poller's lease, run out
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"), within=10)
    await settle_quietly(h)
    assert len(h.slack.posted_to("C0BILLING")) == 1


async def _page_left_open(h: Harness) -> None:
    """The payer reaches i3D.net's page and closes it without deciding."""
    _, pay_url = await get_link(h)
    async with h.http.get(pay_url) as response:
        (form,) = forms_in(await response.text())
    async with h.http.post(form["action"], data=form["fields"]) as response:
        assert response.status == 200  # on i3D.net's page; the browser is closed there


def _watch_over(h: Harness) -> None:
    store = h.bot.app[STORE]
    h.bot.app[SETTLEMENT].give_up_after = -3600  # the watch is over
    for row in store.db.execute("SELECT id FROM payments"):
        store.update_payment(row[0], next_check_at=0)


async def test_a_page_left_open_while_i3d_cannot_be_asked_is_told_to_billing_once(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """The watch ends while i3D.net does not answer: whether its page took money is
    not known, and #billing reads that the payment was never confirmed, once."""
    h = harness
    await _page_left_open(h)
    i3d_sandbox.app[SANDBOX].inject("error", count=1_000, path="/v3/account/invoice")
    _watch_over(h)
    (posted,) = await h.wait_for(lambda: h.slack.posted_to("C0BILLING"), within=10)
    assert "never confirmed" in text_of(posted) and "INV-24-0101" in text_of(posted)
    await settle_quietly(h)
    await h.bot.app[POLLER].run_once()
    await settle_quietly(h)
    assert len(h.slack.posted_to("C0BILLING")) == 1


async def test_a_page_left_open_whose_invoice_stayed_unpaid_just_expires(
    harness: Harness,
) -> None:
    """i3D.net marks the invoice paid when its page takes money: still unpaid when the
    watch ends, the page took none, and #billing hears nothing of a payer who looked."""
    h = harness
    await _page_left_open(h)
    _watch_over(h)
    store = h.bot.app[STORE]
    await h.wait_for(
        lambda: [row[0] for row in store.db.execute("SELECT state FROM payments")] == ["expired"],
        within=10,
    )
    await settle_quietly(h)
    assert h.slack.posted_to("C0BILLING") == []
