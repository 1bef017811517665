"""kill -9 of a real `invoicebot run` process mid-payment, restarted on the same database,
on sqlite and on PostgreSQL.

On PostgreSQL another process may be at work on the same rows, so what a dead process
held is taken over only when its time is up (a start after IN_FLIGHT_LIMIT, a Slack call
after its lease); the tests shorten the lease and age the start instead of waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from yarl import URL

from bot.approvals import Approvals
from bot.approvals_policy import Policy
from bot.credentials import CredentialBox, generate_key
from bot.settlement import IN_FLIGHT_LIMIT
from bot.slack.blocks import approvals as approval_blocks
from bot.store import Store
from plugins.i3d import I3DCredentials
from plugins.i3d.sandbox import SANDBOX
from tests.conftest import SIGNING_SECRET
from tests.fake_slack import BOT_TOKEN, FakeSlack
from tests.scenario.conftest import I3D_TOKEN, free_port
from tests.scenario.harness import TEAM, Harness, Screen, answering, find, pay_in_browser, text_of
from tests.scenario.test_approvals import dm_to, submission
from tests.scenario.test_settling_once import menu_with_bank

REGISTER = "/v3/account/invoice/pay/register"
OUTBOX_LEASE = 3.0
"""Seconds a Slack call stays with its sender: a killed one's is free again this soon."""


class Address:
    """Where the bot process listens: what the harness needs of a server."""

    def __init__(self, port: int) -> None:
        self.base = URL(f"http://127.0.0.1:{port}")

    def make_url(self, path: str) -> URL:
        return self.base.join(URL(path))


Start = Callable[[], Awaitable[asyncio.subprocess.Process]]


@pytest.fixture
async def bot_process(
    tmp_path: Path,
    database: str,
    fake_slack: tuple[FakeSlack, TestServer],
    i3d_sandbox: TestServer,
) -> AsyncIterator[tuple[Start, Store, int]]:
    """Starts `invoicebot run` (again) on `database`; the Store is the test's own view of it."""
    port = free_port()
    key = generate_key()
    store = Store(database, CredentialBox(key))
    base_url = str(i3d_sandbox.make_url("")).rstrip("/")
    store.save_connection(
        "T0TEAM", "i3d", I3DCredentials(api_key=I3D_TOKEN, base_url=base_url), connected_by="U0A"
    )
    i3d_sandbox.app[SANDBOX].return_url = f"http://127.0.0.1:{port}/landing/i3d"
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "PYTHONPATH") if k in os.environ}
    env = {
        **keep,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": str(fake_slack[1].make_url("/api/")),
        "INVOICEBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "INVOICEBOT_SECRET_KEY": key,
        "INVOICEBOT_BILLING_CHANNEL": "C0BILLING",
        "INVOICEBOT_DATABASE": database,
        "INVOICEBOT_OUTBOX_LEASE": str(OUTBOX_LEASE),
        "INVOICEBOT_PAYERS": "U0PAYER",
        "INVOICEBOT_PLUGINS": "i3d",
        "INVOICEBOT_POLL_FIRST_DELAY": "0.2",
        "INVOICEBOT_POLL_MAX_DELAY": "0.5",
    }
    processes: list[asyncio.subprocess.Process] = []

    async def start() -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "bot.cli", "run", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        processes.append(process)
        await answering(port, within=10)
        return process

    try:
        yield start, store, port
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
        store.close()


def states(store: Store) -> list[str]:
    return [row[0] for row in store.db.execute("SELECT state FROM payments ORDER BY created_ts")]


async def test_killed_mid_register_the_next_click_gets_a_link_and_nothing_is_posted(
    bot_process: tuple[Start, Store, int],
    fake_slack: tuple[FakeSlack, TestServer],
    i3d_sandbox: TestServer,
) -> None:
    start, store, port = bot_process
    slack, slack_server = fake_slack
    process = await start()
    sandbox = i3d_sandbox.app[SANDBOX]
    sandbox.hang_seconds = 10
    sandbox.inject("hang", path=REGISTER)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        h = Harness(Address(port), slack, slack_server, SIGNING_SECRET, http)  # type: ignore[arg-type]
        await h.click(await menu_with_bank(h), "get_link")
        await h.wait_for(lambda: sandbox.count("POST", REGISTER) == 1)
        assert states(store) == ["created"]
        process.send_signal(signal.SIGKILL)
        await process.wait()

        await start()  # hands the interrupted start to the poller, which ends it
        if store.shared:
            # Another process might still be making that start: it stays its starter's,
            # and a second click is refused, until IN_FLIGHT_LIMIT has passed (aged here).
            key = await h.click(await menu_with_bank(h), "get_link")
            assert "being started right now" in text_of(await h.next_response(key))
            assert states(store) == ["created"]
            store.db.execute("UPDATE payments SET created_ts = created_ts - ?", [IN_FLIGHT_LIMIT])
        await h.wait_for(lambda: states(store) == ["expired"])
        key = await h.click(await menu_with_bank(h), "get_link")
        shown = await h.next_response(key)
        link = find(shown, "open_link", lambda e: True)[1]["url"]
        await h.wait_for(lambda: states(store) == ["expired", "link_issued"])
        _, page = await pay_in_browser(http, link)
        assert "Invoice paid" in page
        await h.wait_for(lambda: slack.posted_to("C0BILLING"))
        await asyncio.sleep(1.0)
        assert len(slack.posted_to("C0BILLING")) == 1
        assert states(store) == ["expired", "paid"]


async def test_killed_after_slack_posted_the_confirmation_is_not_posted_again(
    bot_process: tuple[Start, Store, int], fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """The bot dies between Slack posting and the answer arriving: after the restart the
    post is found in the channel by its metadata and adopted."""
    start, store, port = bot_process
    slack, slack_server = fake_slack
    process = await start()
    slack.hang_answer_next["chat.postMessage"] = 1
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        h = Harness(Address(port), slack, slack_server, SIGNING_SECRET, http)  # type: ignore[arg-type]
        key = await h.click(await menu_with_bank(h), "get_link")
        link = find(await h.next_response(key), "open_link", lambda e: True)[1]["url"]
        await pay_in_browser(http, link)
        await h.wait_for(lambda: slack.posted_to("C0BILLING"))
        process.send_signal(signal.SIGKILL)
        await process.wait()
        await start()

        def posts() -> list[tuple[bool, bool]]:
            return [
                (bool(row["adopted"]), row["sent_at"] is not None)
                for row in store.outbox_items()
                if row["method"] == "chat.postMessage"
            ]

        await h.wait_for(lambda: posts() == [(True, True)], within=OUTBOX_LEASE + 10)
        await asyncio.sleep(1.0)
    assert len(slack.posted_to("C0BILLING")) == 1 and posts() == [(True, True)]


INVOICE_LIST = "/v3/account/invoice"


async def test_killed_mid_check_the_restarted_bot_asks_again_at_once(
    bot_process: tuple[Start, Store, int],
    fake_slack: tuple[FakeSlack, TestServer],
    i3d_sandbox: TestServer,
) -> None:
    """The payer paid but never came back, and the bot dies while i3D answers the poller:
    the check it had taken is asked again as soon as the bot is back, not after its lease
    (two minutes). On PostgreSQL another process may be checking: the lease decides."""
    start, store, port = bot_process
    slack, slack_server = fake_slack
    process = await start()
    sandbox = i3d_sandbox.app[SANDBOX]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        h = Harness(Address(port), slack, slack_server, SIGNING_SECRET, http)  # type: ignore[arg-type]
        key = await h.click(await menu_with_bank(h), "get_link")
        link = find(await h.next_response(key), "open_link", lambda e: True)[1]["url"]
        sandbox.hang_seconds = 30
        sandbox.inject("hang", count=1000, path=INVOICE_LIST)
        listed = sandbox.count("GET", INVOICE_LIST)
        await pay_in_browser(http, link, come_back=False)
        await h.wait_for(lambda: sandbox.count("GET", INVOICE_LIST) > listed)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        sandbox.clear_faults()
        assert states(store) == ["opened"] and not slack.posted_to("C0BILLING")

        if store.shared:
            store.db.execute("UPDATE payments SET next_check_at = next_check_at - 120")
        await start()
        await h.wait_for(lambda: slack.posted_to("C0BILLING"), within=10)
        assert states(store) == ["paid"]


PREPARE = "/v3/account/invoice/pay/prepare"


async def test_killed_while_asking_for_the_menu_the_note_is_replaced_after_the_restart(
    bot_process: tuple[Start, Store, int],
    fake_slack: tuple[FakeSlack, TestServer],
    i3d_sandbox: TestServer,
) -> None:
    """The clicked list reads "Asking i3D.net which ways to pay it allows…", its buttons
    gone, when the bot dies: after the restart that note says nothing was done, instead
    of standing for good (at once on sqlite, after `STAND_IN_AFTER` on PostgreSQL, where
    another process may still be answering it). A click answered as usual leaves nothing
    queued."""
    start, store, port = bot_process
    slack, slack_server = fake_slack
    process = await start()
    sandbox = i3d_sandbox.app[SANDBOX]
    async with aiohttp.ClientSession() as http:
        h = Harness(Address(port), slack, slack_server, SIGNING_SECRET, http)  # type: ignore[arg-type]
        await menu_with_bank(h)
        assert not [row for row in store.outbox_items() if row["key"].startswith("stand-in:")]

        sandbox.hang_seconds = 30
        sandbox.inject("hang", path=PREPARE)
        _, screen, _ = await h.command("")
        screen = await h.screen_after(screen)
        key = await h.click(screen, "pay", pick=lambda e: "|410001" in e["value"])
        await h.wait_for(lambda: sandbox.count("GET", PREPARE) >= 2)  # the menu above, this
        await h.wait_for(lambda: slack.responses.get(key))
        assert "Asking i3D.net which ways to pay" in str(slack.responses[key][-1])
        process.send_signal(signal.SIGKILL)
        await process.wait()
        sandbox.clear_faults()

        await start()
        if store.shared:  # the click may be another process's, still being answered
            await asyncio.sleep(1.0)
            assert len(slack.responses[key]) == 1, "not before it is due"
            store.db.execute("UPDATE outbox SET next_attempt_at = 0 WHERE key LIKE 'stand-in:%'")
        # Alone on sqlite, the restarted bot knows the click was cut short: at once.
        await h.wait_for(lambda: len(slack.responses[key]) == 2, within=OUTBOX_LEASE + 10)
    stood_in = slack.responses[key][-1]
    assert stood_in["replace_original"] is True
    assert "stopped before it could answer this, so nothing was done" in str(stood_in)
    await h.wait_for(lambda: not [row for row in store.outbox_items() if row["sent_at"] is None])


async def test_killed_while_asking_before_the_start_is_recorded_the_note_is_replaced(
    bot_process: tuple[Start, Store, int],
    fake_slack: tuple[FakeSlack, TestServer],
    i3d_sandbox: TestServer,
) -> None:
    """Get link on a menu shown before a restart asks i3D.net for the amount again before
    any payment is recorded; the message reads "Asking i3D.net to start the payment…"
    meanwhile. Killed then, nothing can end a payment that was never recorded, so the
    note must be stood in for like any other."""
    start, store, port = bot_process
    slack, slack_server = fake_slack
    process = await start()
    sandbox = i3d_sandbox.app[SANDBOX]
    async with aiohttp.ClientSession() as http:
        h = Harness(Address(port), slack, slack_server, SIGNING_SECRET, http)  # type: ignore[arg-type]
        menu = await menu_with_bank(h)
        process.send_signal(signal.SIGKILL)  # the offer it read goes with it
        await process.wait()
        process = await start()

        sandbox.hang_seconds = 30
        sandbox.inject("hang", path=PREPARE)
        asked = sandbox.count("GET", PREPARE)
        key = await h.click(menu, "get_link")
        await h.wait_for(lambda: sandbox.count("GET", PREPARE) > asked)
        await h.wait_for(lambda: slack.responses.get(key))
        assert "to start the payment" in str(slack.responses[key][-1])
        process.send_signal(signal.SIGKILL)
        await process.wait()
        sandbox.clear_faults()
        assert states(store) == []

        await start()
        if store.shared:
            store.db.execute("UPDATE outbox SET next_attempt_at = 0 WHERE key LIKE 'stand-in:%'")
        await h.wait_for(lambda: len(slack.responses[key]) == 2, within=OUTBOX_LEASE + 10)
    stood_in = slack.responses[key][-1]
    assert stood_in["replace_original"] is True
    assert "stopped before it could answer this, so nothing was done" in str(stood_in)
    assert states(store) == []


async def test_killed_while_the_landing_page_asks_i3d_the_payment_is_confirmed_once(
    bot_process: tuple[Start, Store, int],
    fake_slack: tuple[FakeSlack, TestServer],
    i3d_sandbox: TestServer,
) -> None:
    """The payer is back on the landing page, which asks i3D.net, when the bot dies:
    the return kept before asking is asked about after the restart; #billing hears once."""
    start, store, port = bot_process
    slack, slack_server = fake_slack
    process = await start()
    sandbox = i3d_sandbox.app[SANDBOX]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        h = Harness(Address(port), slack, slack_server, SIGNING_SECRET, http)  # type: ignore[arg-type]
        key = await h.click(await menu_with_bank(h), "get_link")
        link = find(await h.next_response(key), "open_link", lambda e: True)[1]["url"]
        sandbox.hang_seconds = 30
        sandbox.inject("hang", count=1000, path=INVOICE_LIST)
        landing, _ = await pay_in_browser(http, link, come_back=False)
        listed = sandbox.count("GET", INVOICE_LIST)
        back = asyncio.ensure_future(http.get(landing))
        await h.wait_for(lambda: sandbox.count("GET", INVOICE_LIST) > listed)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        with contextlib.suppress(aiohttp.ClientError):
            (await back).release()
        sandbox.clear_faults()
        assert states(store) == ["opened"] and not slack.posted_to("C0BILLING")

        if store.shared:
            store.db.execute("UPDATE payments SET next_check_at = next_check_at - 120")
        await start()
        await h.wait_for(lambda: slack.posted_to("C0BILLING"), within=10)
        await asyncio.sleep(1.5)
    assert states(store) == ["paid"] and len(slack.posted_to("C0BILLING")) == 1


async def test_killed_while_slack_posts_an_approval_request_to_billing_it_is_posted_once(
    bot_process: tuple[Start, Store, int], fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """The bot dies after Slack posted the request to #billing, before its answer came
    back: after the restart the post is found in the channel and adopted, not posted a
    second time, and the decision's line goes in that post's thread."""
    start, store, port = bot_process
    slack, slack_server = fake_slack
    Approvals(store).save_policy(TEAM, Policy.parse("EUR 500 1 U0FINANCE"), user_id="U0ADMIN")
    process = await start()
    slack.hang_answer_in["C0BILLING"] = 1
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        h = Harness(Address(port), slack, slack_server, SIGNING_SECRET, http)  # type: ignore[arg-type]
        _, screen, _ = await h.command("pay INV-24-0104")
        menu = await h.screen_after(screen)
        await h.click(menu, approval_blocks.REQUEST_APPROVAL)
        view = (await h.wait_for(lambda: slack.called("views.open")))[-1].args["view"]
        view = json.loads(view) if isinstance(view, str) else view
        await h.post(submission(h, "U0PAYER", view, {"note": "rack"}))
        await h.wait_for(lambda: slack.posted_to("C0BILLING"))
        process.send_signal(signal.SIGKILL)
        await process.wait()
        # A request whose delivery a stop cut short is delivered again after a while.
        store.db.execute("UPDATE approval_requests SET created_at = created_at - 600")
        await start()
        await asyncio.sleep(OUTBOX_LEASE + 3)
        assert len(slack.posted_to("C0BILLING")) == 1, "posted twice"
        (root,) = [row for row in store.outbox_items() if row["key"].startswith("approval-root:")]
        assert root["adopted"] and root["sent_at"] is not None
        fran = dm_to(h, "U0FINANCE")
        assert fran is not None
        await h.click(Screen(fran, "-"), approval_blocks.APPROVE, user="U0FINANCE")
        replies = await h.wait_for(
            lambda: [m for m in slack.posted_to("C0BILLING") if m.get("thread_ts")]
        )
    assert len(replies) == 1 and "Approved by" in replies[0]["text"]
    assert slack.orphaned == []


async def _request_approval(h: Harness, slack: FakeSlack) -> None:
    """U0PAYER asks for an approval of INV-24-0104 (U0FINANCE decides)."""
    _, screen, _ = await h.command("pay INV-24-0104")
    menu = await h.screen_after(screen)
    await h.click(menu, approval_blocks.REQUEST_APPROVAL)
    view = (await h.wait_for(lambda: slack.called("views.open")))[-1].args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    await h.post(submission(h, "U0PAYER", view, {"note": "rack"}))


def _thread_lines(slack: FakeSlack, words: str) -> list[dict[str, object]]:
    return [m for m in slack.posted_to("C0BILLING") if words in str(m.get("text"))]


async def test_killed_while_a_decision_waits_for_its_root_it_goes_in_the_thread_once(
    bot_process: tuple[Start, Store, int], fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """Slack posted the request to #billing but its answer never came, and the approver
    decided meanwhile: the line waits for the root. Killed then, the restarted bot adopts
    the root and the line goes in its thread, each once."""
    start, store, port = bot_process
    slack, slack_server = fake_slack
    Approvals(store).save_policy(TEAM, Policy.parse("EUR 500 1 U0FINANCE"), user_id="U0ADMIN")
    process = await start()
    slack.hang_answer_in["C0BILLING"] = 1
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        h = Harness(Address(port), slack, slack_server, SIGNING_SECRET, http)  # type: ignore[arg-type]
        await _request_approval(h, slack)
        await h.wait_for(lambda: slack.posted_to("C0BILLING"))
        fran = dm_to(h, "U0FINANCE")
        assert fran is not None
        await h.click(Screen(fran, "-"), approval_blocks.APPROVE, user="U0FINANCE")
        await h.wait_for(
            lambda: [r for r in store.outbox_items() if r["key"].startswith("approval-thread:")]
        )
        process.send_signal(signal.SIGKILL)
        await process.wait()
        await start()
        await h.wait_for(lambda: _thread_lines(slack, "Approved by"), within=OUTBOX_LEASE + 10)
        await asyncio.sleep(1.5)
    roots = [m for m in slack.posted_to("C0BILLING") if not m.get("thread_ts")]
    (line,) = _thread_lines(slack, "Approved by")
    assert len(roots) == 1 and line.get("thread_ts")
    assert slack.orphaned == []


async def test_killed_while_slack_posts_an_approvers_dm_it_is_found_not_sent_again(
    bot_process: tuple[Start, Store, int], fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """The bot dies after Slack posted Fran's DM, before its answer came back: the
    restarted bot finds the DM in her history (one read) instead of sending it again,
    and her decision rewrites that DM."""
    start, store, port = bot_process
    slack, slack_server = fake_slack
    Approvals(store).save_policy(TEAM, Policy.parse("EUR 500 1 U0FINANCE"), user_id="U0ADMIN")
    process = await start()
    slack.hang_answer_in["D0FINANCE"] = 1
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        h = Harness(Address(port), slack, slack_server, SIGNING_SECRET, http)  # type: ignore[arg-type]
        await _request_approval(h, slack)
        fran = await h.wait_for(lambda: dm_to(h, "U0FINANCE"))
        process.send_signal(signal.SIGKILL)
        await process.wait()
        # A request whose delivery a stop cut short is delivered again after a while.
        store.db.execute("UPDATE approval_requests SET created_at = created_at - 600")
        await start()
        await h.wait_for(lambda: dm_to(h, "U0PAYER"))
        await h.click(Screen(fran, "-"), approval_blocks.APPROVE, user="U0FINANCE")
        await h.wait_for(
            lambda: [
                c for c in slack.called("chat.update")
                if c.args["channel"] == "D0FINANCE" and "Payment approved" in c.args["text"]
            ]
        )  # fmt: skip
    posted = [c for c in slack.called("chat.postMessage") if c.args["channel"] == "D0FINANCE"]
    assert len(posted) == 1, "sent twice"
    assert [read.args["channel"] for read in slack.reads] == ["D0FINANCE"]


async def test_killed_after_slack_posted_an_expiry_line_it_is_not_posted_again(
    bot_process: tuple[Start, Store, int], fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """The request runs out; Slack posts its "expired" line in the #billing thread but
    the answer never comes back, and the bot is killed: after the restart the line is
    found in the thread, not posted a second time, and each DM says expired."""
    start, store, port = bot_process
    slack, slack_server = fake_slack
    Approvals(store).save_policy(TEAM, Policy.parse("EUR 500 1 U0FINANCE"), user_id="U0ADMIN")
    process = await start()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        h = Harness(Address(port), slack, slack_server, SIGNING_SECRET, http)  # type: ignore[arg-type]
        await _request_approval(h, slack)
        await h.wait_for(
            lambda: (
                [r for r in store.outbox_items() if r["key"].startswith("approval-root:")]
                and all(r["sent_at"] for r in store.outbox_items())
            )
        )
        slack.hang_answer_in["C0BILLING"] = 1
        store.db.execute("UPDATE approval_requests SET expires_at = 1")
        await h.wait_for(lambda: _thread_lines(slack, "xpired"), within=10)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        await start()
        await h.wait_for(
            lambda: all(r["sent_at"] or r["gave_up_at"] for r in store.outbox_items()),
            within=OUTBOX_LEASE + 10,
        )
        await asyncio.sleep(1.5)
    assert len(_thread_lines(slack, "xpired")) == 1, "posted twice"
    for user in ("U0FINANCE", "U0PAYER"):
        updates = [
            c.args
            for c in slack.called("chat.update")
            if c.args["channel"] == "D" + user[1:] and "xpired" in str(c.args)
        ]
        assert len(updates) == 1, user


async def test_killed_before_the_request_reached_billing_a_decision_waits_for_its_post(
    bot_process: tuple[Start, Store, int], fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """The approver has the DM but the bot dies before the request is queued for
    #billing (Slack holds the requester's DM): the approver's decision must still go in
    the thread of the request's post, made when the delivery is taken up again."""
    start, store, port = bot_process
    slack, slack_server = fake_slack
    Approvals(store).save_policy(TEAM, Policy.parse("EUR 500 1 U0FINANCE"), user_id="U0ADMIN")
    process = await start()
    slack.hang_answer_in["D0PAYER"] = 1
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        h = Harness(Address(port), slack, slack_server, SIGNING_SECRET, http)  # type: ignore[arg-type]
        await _request_approval(h, slack)
        await h.wait_for(lambda: dm_to(h, "U0PAYER"))
        process.send_signal(signal.SIGKILL)
        await process.wait()
        await start()
        fran = dm_to(h, "U0FINANCE")
        assert fran is not None
        await h.click(Screen(fran, "-"), approval_blocks.APPROVE, user="U0FINANCE")
        await asyncio.sleep(2.0)
        store.db.execute("UPDATE approval_requests SET created_at = created_at - 600")
        await h.wait_for(lambda: _thread_lines(slack, "Approved by"), within=OUTBOX_LEASE + 10)
        await asyncio.sleep(1.5)
    roots = [m for m in slack.posted_to("C0BILLING") if not m.get("thread_ts")]
    (line,) = _thread_lines(slack, "Approved by")
    assert len(roots) == 1, "the line went to the channel itself"
    assert line.get("thread_ts") and slack.orphaned == []


@pytest.mark.parametrize("paid_meanwhile", [False, True], ids=["open", "paid"])
async def test_killed_with_a_link_slack_failed_to_take_it_is_shown_once_never_over_paid(
    bot_process: tuple[Start, Store, int],
    fake_slack: tuple[FakeSlack, TestServer],
    i3d_sandbox: TestServer,
    paid_meanwhile: bool,
) -> None:
    """Slack answers 500 to the link's own post, so it is queued; the bot is killed
    before the outbox got it through. After the restart the link is shown once; if the
    payer paid meanwhile (a link kept from elsewhere, never back on the landing page),
    the message ends saying paid, with no link over it."""
    start, store, port = bot_process
    slack, slack_server = fake_slack
    process = await start()
    sandbox = i3d_sandbox.app[SANDBOX]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        h = Harness(Address(port), slack, slack_server, SIGNING_SECRET, http)  # type: ignore[arg-type]
        menu = await menu_with_bank(h)
        sandbox.latency = 0.5
        key = await h.click(menu, "get_link")
        await h.wait_for(lambda: slack.responses.get(key))
        slack.fail_next["response_url"] = 1_000
        await h.wait_for(  # queued, and already tried by the outbox
            lambda: [
                r for r in store.outbox_items() if r["key"].startswith("link:") and r["attempts"]
            ]
        )
        if paid_meanwhile:
            (payment,) = store.payments_for_invoices("T0TEAM", "i3d", ["410001"])
            token = store.open_text(store.sealed_token(payment.id) or "")
            await pay_in_browser(http, f"http://127.0.0.1:{port}/pay/{token}", come_back=False)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        slack.fail_next["response_url"] = 0
        sandbox.latency = 0
        if store.shared:  # the check a dead process had taken waits for its lease
            store.db.execute("UPDATE payments SET next_check_at = next_check_at - 120")
        await start()
        if paid_meanwhile:
            await h.wait_for(lambda: slack.posted_to("C0BILLING"), within=15)
        await h.wait_for(lambda: store.outbox_pending() == 0, within=OUTBOX_LEASE + 10)
        await asyncio.sleep(1.5)
    shown = [b for b in slack.responses[key] if "open_link" in json.dumps(b)]
    last = slack.responses[key][-1]
    if paid_meanwhile:
        assert "open_link" not in json.dumps(last) and "paid" in text_of(last).lower()
        assert len(shown) <= 1
    else:
        assert len(shown) == 1 and last is shown[0]


async def test_killed_while_slack_takes_a_payments_link_it_is_shown_after_the_restart(
    bot_process: tuple[Start, Store, int],
    fake_slack: tuple[FakeSlack, TestServer],
    i3d_sandbox: TestServer,
) -> None:
    """The payment is started and its link on its way to Slack, which has not taken it
    yet, when the bot dies: the message read "Asking i3D.net to start the payment…"
    until the link expired, with nothing queued to show it. After the restart the link
    is shown (at once on sqlite; on PostgreSQL when a live process would have shown it)."""
    start, store, port = bot_process
    slack, slack_server = fake_slack
    process = await start()
    sandbox = i3d_sandbox.app[SANDBOX]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        h = Harness(Address(port), slack, slack_server, SIGNING_SECRET, http)  # type: ignore[arg-type]
        menu = await menu_with_bank(h)
        sandbox.latency = 0.5
        key = await h.click(menu, "get_link")
        await h.wait_for(lambda: slack.responses.get(key))
        slack.stall_next["response_url"] = 1
        await h.wait_for(lambda: states(store) == ["link_issued"])
        await asyncio.sleep(0.5)  # the link's answer is held by Slack
        assert len(slack.responses[key]) == 1 and slack.stall_next["response_url"] == 0
        process.send_signal(signal.SIGKILL)
        await process.wait()
        sandbox.latency = 0
        await start()
        if store.shared:
            store.db.execute("UPDATE outbox SET next_attempt_at = 0 WHERE key LIKE 'link:%'")
        await h.wait_for(lambda: len(slack.responses[key]) == 2, within=OUTBOX_LEASE + 10)
    shown = slack.responses[key][-1]
    assert shown["replace_original"] is True
    assert "/pay/" in find(shown, "open_link", lambda e: True)[1]["url"]
