"""Approvals over signed HTTP, as Slack sends them: the requester asks, two approvers
click Approve at the same moment, and exactly one decision is counted and announced."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.approvals import Binding, State
from bot.approvals_policy import Policy
from bot.models import Money
from bot.slack import approvals as listeners
from bot.slack.blocks import approvals as blocks
from bot.web import SERVICES
from plugins.i3d.sandbox import SANDBOX
from tests.fake_slack import SlackCall
from tests.scenario.conftest import BotFactory
from tests.scenario.harness import TEAM, Harness, Screen, text_of
from tests.slack_requests import interaction_body

POLICY = "EUR 500 1 U0FINANCE,U0ADMIN; EUR 5000 2 U0FINANCE,U0CFO,U0ADMIN"


def submission(h: Harness, user: str, view: dict[str, Any], values: dict[str, str]) -> str:
    state = {
        block: {"value": {"type": "plain_text_input", "value": value}}
        for block, value in values.items()
    }
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "acme"},
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": "A0INVOICEBOT",
        "trigger_id": "1.2.4",
        "view": {
            **view,
            "id": h.slack.top(user)["id"],
            "team_id": TEAM,
            "state": {"values": state},
        },
        "response_urls": [],
    }
    return interaction_body(payload)


def dm_to(h: Harness, user: str) -> dict[str, Any] | None:
    posted = [
        c.args for c in h.slack.called("chat.postMessage") if c.args["channel"] == "D" + user[1:]
    ]
    return posted[-1] if posted else None


async def ask(h: Harness, number: str, note: str) -> None:
    h.bot.app[SERVICES].approvals.save_policy(TEAM, Policy.parse(POLICY), user_id="U0ADMIN")
    _, screen, _ = await h.command(f"pay {number}")
    menu = await h.screen_after(screen)
    assert "Request approval" in str(menu.message) and "choose_method" not in str(menu.message)
    opened = len(h.slack.called("views.open"))
    key = await h.click(menu, blocks.REQUEST_APPROVAL)
    view = (await h.wait_for(lambda: h.slack.called("views.open")[opened:]))[-1].args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    status, ack, _ = await h.post(submission(h, "U0PAYER", view, {"note": note}))
    assert status == 200 and isinstance(ack, dict) and ack["response_action"] == "update"
    await h.wait_for(lambda: dm_to(h, "U0FINANCE") and dm_to(h, "U0ADMIN"))
    replaced = await h.next_response(key)
    assert "Approval requested" in text_of(replaced)


async def approved_by_fran(h: Harness, note: str) -> None:
    """INV-24-0104 asked for by the payer and approved by Fran, from her DM."""
    await ask(h, "INV-24-0104", note)
    fran = dm_to(h, "U0FINANCE")
    assert fran is not None
    await h.click(Screen(fran, "-"), blocks.APPROVE, user="U0FINANCE")


async def test_two_approvers_at_once_make_one_decision_and_every_dm_is_rewritten(
    harness: Harness,
) -> None:
    h = harness
    await ask(h, "INV-24-0104", "Rack <@U0VIEWER> please")
    fran, alex = dm_to(h, "U0FINANCE"), dm_to(h, "U0ADMIN")
    assert fran is not None and alex is not None
    said = text_of(fran)
    assert "€1,427.80" in said and "i3D.net" in said and "<@U0PAYER>" in said
    assert "Rack &lt;@U0VIEWER&gt; please" in said
    assert dm_to(h, "U0CFO") is None and dm_to(h, "U0PAYER") is not None
    marks = [dm["metadata"]["event_payload"] for dm in (fran, alex)]
    assert [mark["viewer"] for mark in marks] == ["U0FINANCE", "U0ADMIN"]
    assert h.slack.reads == [], "a DM whose answer came is not looked for"

    await asyncio.gather(
        h.click(Screen(fran, "-"), blocks.APPROVE, user="U0FINANCE"),
        h.click(Screen(alex, "-"), blocks.APPROVE, user="U0ADMIN"),
        h.click(Screen(fran, "-"), blocks.APPROVE, user="U0FINANCE"),
    )
    approvals = h.bot.app[SERVICES].approvals
    clicks = {"approval.approved", "approval.closed", "approval.repeated", "approval.counted"}
    heard = await h.wait_for(
        lambda: (
            len(seen := [e.action for e in approvals.store.audit_log() if e.action in clicks]) == 3
            and seen
        )
    )
    assert heard.count("approval.approved") == 1 and "approval.counted" not in heard
    rows = approvals.store.db.execute("SELECT id FROM approval_requests").fetchall()
    decided = approvals.get(rows[0][0])
    assert decided is not None and decided.state is State.APPROVED
    assert len(decided.approved_by) == 1

    def rewritten() -> list[dict[str, Any]]:
        updates = [c.args for c in h.slack.called("chat.update")]
        channels = {u["channel"] for u in updates if "Payment approved" in u["text"]}
        return updates if channels >= {"D0FINANCE", "D0ADMIN", "D0PAYER"} else []

    updates = await h.wait_for(rewritten)
    assert not any("approval_approve" in json.dumps(u["blocks"]) for u in updates)
    thread = await h.wait_for(
        lambda: [m for m in h.slack.posted_to("C0BILLING") if m.get("thread_ts")]
    )
    assert len(thread) == 1 and "Approved by" in thread[0]["text"]


async def test_a_request_a_stop_cut_short_still_reaches_its_approvers_once(
    harness: Harness,
) -> None:
    """Stored, then the bot stopped before any DM went out: the watcher sends them."""
    h = harness
    approvals = h.bot.app[SERVICES].approvals
    request = approvals.open(
        team_id=TEAM,
        binding=Binding.of("i3d", ["410007"], Money.of(Decimal("1427.80"), "EUR")),
        invoice_numbers=("INV-24-0104",),
        requester="U0PAYER",
        note="",
        due=None,
        needed=1,
        approvers=("U0FINANCE",),
    )
    assert request is not None
    approvals.store.db.execute(
        "UPDATE approval_requests SET created_at = created_at - 600 WHERE id = ?", [request.id]
    )
    fran = await h.wait_for(lambda: dm_to(h, "U0FINANCE"))
    assert "INV-24-0104" in text_of(fran) and blocks.APPROVE in json.dumps(fran["blocks"])
    await h.wait_for(lambda: dm_to(h, "U0PAYER") and h.slack.posted_to("C0BILLING"))
    await asyncio.sleep(2.5)  # a few more rounds of the watcher
    opened = [c.args["users"] for c in h.slack.called("conversations.open")]
    assert sorted(opened) == ["U0FINANCE", "U0PAYER"]
    assert len(h.slack.posted_to("C0BILLING")) == 1


async def test_the_history_of_an_invoice_tells_its_approval_to_payers_and_its_approvers(
    harness: Harness,
) -> None:
    """An approver need not be a payer: they read the history of what they were asked."""
    h = harness
    await approved_by_fran(h, "Rack")
    await h.wait_for(lambda: h.slack.called("chat.update"))

    async def history(number: str, user: str) -> str:
        _, screen, _ = await h.command(f"history {number}", user=user)
        return text_of((await h.screen_after(screen)).message)

    told = await history("INV-24-0104", "U0PAYER")
    assert "<@U0PAYER> asked for approval of €1,427.80 (“Rack”)" in told
    assert "<@U0FINANCE> approved" in told
    told = await history("inv-24-0104", "U0FINANCE")  # as typed
    assert "<@U0FINANCE> approved" in told and "not allowed" not in told
    for number, user in (("INV-24-0101", "U0FINANCE"), ("INV-24-0104", "U0CFO")):
        refused = await history(number, user)
        assert "not allowed to read this invoice's history" in refused
        assert "approved" not in refused and "€" not in refused


async def test_after_one_of_two_approvals_the_messages_say_who_approved_and_who_still_may(
    harness: Harness,
) -> None:
    h = harness
    await ask(h, "INV-24-0105", "Hardware")  # €6,025.80: two approvals
    fran = dm_to(h, "U0FINANCE")
    assert fran is not None and "Any of <@U0FINANCE>, <@U0CFO> or <@U0ADMIN>" in text_of(fran)
    await h.click(Screen(fran, "-"), blocks.APPROVE, user="U0FINANCE")

    def rewritten() -> dict[str, str]:
        updates = [c.args for c in h.slack.called("chat.update")]
        shown = {u["channel"]: text_of(u) for u in updates}
        return shown if set(shown) >= {"D0FINANCE", "D0CFO", "D0ADMIN", "D0PAYER"} else {}

    shown = await h.wait_for(rewritten)
    for said in shown.values():
        assert "(1 of 2). Approved by <@U0FINANCE>; <@U0CFO> or <@U0ADMIN> may still approve." in (
            said
        )
        assert "<@U0FINANCE> or" not in said and ", <@U0FINANCE>" not in said


async def test_pay_while_a_request_waits_says_you_to_its_requester_and_names_them_to_others(
    harness: Harness,
) -> None:
    h = harness
    await ask(h, "INV-24-0104", "Rack")

    async def pay(user: str) -> str:
        _, screen, _ = await h.command("pay INV-24-0104", user=user)
        return text_of((await h.screen_after(screen)).message)

    assert "You asked for approval already; waiting for the approvers." in await pay("U0PAYER")
    assert "<@U0PAYER> asked for approval already" in await pay("U0ADMIN")


async def test_a_dm_slack_refused_for_now_is_sent_again_and_only_once(
    harness: Harness,
) -> None:
    """Rate-limited as the request went out: a refused DM counted as sent, and nobody
    could approve (nor ask again) until the request expired a day later."""
    h = harness
    h.slack.retry_after = "1"
    h.slack.rate_limit_next["conversations.open"] = 2  # both approvers, not the requester
    await ask(h, "INV-24-0104", "")
    said = json.dumps(h.slack.called("views.update")[-1].args["view"])
    assert "Slack is busy: invoicebot keeps trying" in said, said
    fran = dm_to(h, "U0FINANCE")
    assert fran is not None and blocks.APPROVE in json.dumps(fran["blocks"])
    await asyncio.sleep(2.5)  # a few more rounds of the watcher
    opened = [c.args["users"] for c in h.slack.called("conversations.open")]
    assert sorted(opened) == ["U0ADMIN", "U0FINANCE", "U0PAYER"], "each told once"
    approvals = h.bot.app[SERVICES].approvals
    (row,) = approvals.store.db.execute("SELECT delivered_at FROM approval_requests").fetchall()
    assert row[0] is not None


async def test_an_approval_the_settings_changed_under_is_asked_for_again_and_says_why(
    harness: Harness,
) -> None:
    h = harness
    await approved_by_fran(h, "rack")
    approvals = h.bot.app[SERVICES].approvals
    await h.wait_for(
        lambda: any(e.action == "approval.approved" for e in approvals.store.audit_log())
    )
    _, screen, _ = await h.command("pay INV-24-0104")
    assert "Approved by <@U0FINANCE>" in text_of((await h.screen_after(screen)).message)
    stricter = Policy.parse("EUR 500 2 U0CFO,U0ADMIN", hours=24)
    approvals.save_policy(TEAM, stricter, user_id="U0ADMIN")
    _, screen, _ = await h.command("pay INV-24-0104")
    menu = text_of((await h.screen_after(screen)).message)
    assert "an admin has changed the approval settings since" in menu
    _, screen, _ = await h.command("")
    listing = (await h.screen_after(screen)).message
    (pay,) = [
        b["accessory"] for b in listing["blocks"]
        if "INV-24-0104" in text_of({"blocks": [b]}) and b.get("accessory")
    ]  # fmt: skip
    assert pay["text"]["text"] == "Request approval"


async def test_a_decision_after_the_billing_channel_moved_goes_in_the_requests_thread(
    harness: Harness,
) -> None:
    """The billing channel changes while a request waits (`/invoices billing` elsewhere,
    or a new INVOICEBOT_BILLING_CHANNEL): the thread under the request is in the old
    channel. A reply posted to the new channel with the old message's ts is one Slack
    takes (`ok`) and shows nowhere, so the decision must go where its thread is."""
    h = harness
    await ask(h, "INV-24-0104", "rack")
    root = await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    svc = h.bot.app[SERVICES]
    svc.teams.billing_channel = lambda team_id: "C0NEWBILL"  # type: ignore[method-assign]
    fran = dm_to(h, "U0FINANCE")
    assert fran is not None and len(root) == 1
    await h.click(Screen(fran, "-"), blocks.APPROVE, user="U0FINANCE")
    replies = await h.wait_for(
        lambda: [c.args for c in h.slack.called("chat.postMessage") if c.args.get("thread_ts")]
    )
    assert "Approved by" in replies[0]["text"]
    assert h.slack.orphaned == []


async def test_a_request_whose_billing_post_lost_its_answer_is_shown_there_once(
    harness: Harness,
) -> None:
    """Slack posted the request in #billing but the connection dropped before its answer
    (twice: the Web API client tries once more by itself): the requester read "Not
    done" though every approver had been asked, and #billing showed the request twice,
    then a third time when the DMs were sent again."""
    h = harness
    h.slack.lose_answer_in["C0BILLING"] = 2
    await ask(h, "INV-24-0104", "rack")  # the requester reads "Approval requested"
    fran = dm_to(h, "U0FINANCE")
    assert fran is not None
    await h.click(Screen(fran, "-"), blocks.APPROVE, user="U0FINANCE")
    replies = await h.wait_for(
        lambda: [m for m in h.slack.posted_to("C0BILLING") if m.get("thread_ts")]
    )
    assert "Approved by" in replies[0]["text"]
    roots = [m for m in h.slack.posted_to("C0BILLING") if not m.get("thread_ts")]
    assert len(roots) == 1 and "asks for approval" in roots[0]["text"]
    assert h.slack.orphaned == []
    svc = h.bot.app[SERVICES]
    (row,) = svc.store.db.execute("SELECT delivered_at FROM approval_requests").fetchall()
    assert row[0] is not None, "not sent again later"


async def test_a_reject_whose_dialog_slack_refused_keeps_the_request_and_its_buttons(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Reject opens a dialog for the reason; when Slack refuses it (the click's trigger
    expired on a slow moment), the approver is told in a new message and the request
    stays as it was, Approve and Reject included, to be clicked again."""
    h = harness
    await ask(h, "INV-24-0104", "rack")
    fran = dm_to(h, "U0FINANCE")
    assert fran is not None
    issue = h.slack.issue_trigger
    late = time.monotonic() - 10  # the click reaches the bot past the trigger's 3 s
    h.slack.issue_trigger = lambda user, at=None: issue(user, late)  # type: ignore[method-assign]
    key = await h.click(Screen(fran, "-"), blocks.REJECT, user="U0FINANCE")
    for _ in range(500):
        if h.answers(key):
            break
        await asyncio.sleep(0.02)
    assert h.slack.refused == [("views.open", ["expired_trigger_id"])]
    h.slack.refused.clear()
    h.slack.issue_trigger = issue  # type: ignore[method-assign]
    said = h.answers(key)[0]
    assert said.get("replace_original") is False, said
    assert "Back to the list" not in str(said)
    assert "took too long to open the dialog" in said["text"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "passing, not a bug"
    await h.click(Screen(fran, "-"), blocks.APPROVE, user="U0FINANCE")
    replies = await h.wait_for(
        lambda: [c.args for c in h.slack.called("chat.postMessage") if c.args.get("thread_ts")]
    )
    assert "Approved by" in replies[-1]["text"]


async def test_a_request_for_an_amount_that_changed_gives_way_to_one_for_the_new_amount(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """Approving the old amount could pay nothing: asking for the new one replaces it, and
    the approvers' messages about the old one lose their buttons."""
    h = harness
    await ask(h, "INV-24-0104", "rack")
    fran_before = dm_to(h, "U0FINANCE")
    assert fran_before is not None and "€1,427.80" in text_of(fran_before)
    invoices = i3d_sandbox.app[SANDBOX].invoices
    (key,) = [k for k, item in invoices.items() if item.invoiceNumber == "INV-24-0104"]
    invoices[key] = invoices[key].model_copy(
        update={"amountIncVAT": "147780", "remainingAmount": "147780"}
    )
    await ask(h, "INV-24-0104", "rack, with the new line")
    fran = dm_to(h, "U0FINANCE")
    assert fran is not None and "€1,453.60" in text_of(fran)
    approvals = h.bot.app[SERVICES].approvals
    states = approvals.store.db.execute(
        "SELECT amount, state FROM approval_requests ORDER BY created_at"
    ).fetchall()
    assert [(Decimal(str(a)), s) for a, s in states] == [
        (Decimal("1427.80"), "expired"),
        (Decimal("1453.60"), "pending"),
    ]

    def old_rewritten() -> list[dict[str, Any]]:
        return [
            c.args
            for c in h.slack.called("chat.update")
            if c.args["channel"] == "D0FINANCE" and "Replaced" in text_of(c.args)
        ]

    (update,) = await h.wait_for(old_rewritten)
    assert "approval_approve" not in json.dumps(update["blocks"])


async def test_a_request_read_from_an_offer_kept_before_the_amount_changed_replaces_nothing(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """A process keeps the offer it showed for a couple of minutes, and another process
    may have asked for the amount due now meanwhile: a request for the amount that offer
    kept must not end that one (the provider is asked), nor ask for the old amount."""
    h = harness
    svc = h.bot.app[SERVICES]
    svc.approvals.save_policy(TEAM, Policy.parse(POLICY), user_id="U0ADMIN")
    _, screen, _ = await h.command("pay INV-24-0104")
    menu = await h.screen_after(screen)
    opened = len(h.slack.called("views.open"))
    await h.click(menu, blocks.REQUEST_APPROVAL)
    view = (await h.wait_for(lambda: h.slack.called("views.open")[opened:]))[-1].args["view"]
    old_view = json.loads(view) if isinstance(view, str) else view
    (kept,) = svc.checkout._offers.items()  # what this process showed: the old amount
    invoices = i3d_sandbox.app[SANDBOX].invoices
    (key,) = [k for k, item in invoices.items() if item.invoiceNumber == "INV-24-0104"]
    invoices[key] = invoices[key].model_copy(
        update={"amountIncVAT": "147780", "remainingAmount": "147780"}
    )
    await ask(h, "INV-24-0104", "rack, with the new line")  # as another process did
    svc.checkout._offers[kept[0]] = (time.monotonic(), kept[1][1])
    status, _, _ = await h.post(submission(h, "U0PAYER", old_view, {"note": "rack"}))
    assert status == 200
    states = svc.approvals.store.db.execute(
        "SELECT amount, state FROM approval_requests ORDER BY created_at"
    ).fetchall()
    assert [(Decimal(str(a)), s) for a, s in states] == [(Decimal("1453.60"), "pending")]


async def test_an_approval_running_out_while_its_payment_waits_to_start_is_not_used(
    harness: Harness, database: str
) -> None:
    """Another process holds the write lock (settling a payment) while a payer starts a
    payment whose approval runs out meanwhile: the payment starts under a live approval,
    which its records name, or not at all."""
    import threading

    from bot.checkout import NeedsApproval
    from bot.store import Store

    if "postgresql" not in database:
        pytest.skip("a sqlite file is served by one process")
    h = harness
    await approved_by_fran(h, "rack")
    svc = h.bot.app[SERVICES]
    approvals, store = svc.approvals, svc.store
    await h.wait_for(lambda: any(e.action == "approval.approved" for e in store.audit_log()))
    total = (await svc.checkout.options(TEAM, "i3d", ["410007"])).total
    approved = approvals.approved(TEAM, Binding.of("i3d", ("410007",), total))
    assert approved is not None
    store.db.execute(
        "UPDATE approval_requests SET expires_at = ? WHERE id = ?", [time.time() + 0.3, approved.id]
    )
    other, holding = Store(database, store.box), threading.Event()

    def settling_elsewhere() -> None:
        with other.claim():
            holding.set()
            time.sleep(1.0)

    elsewhere = threading.Thread(target=settling_elsewhere)
    elsewhere.start()
    try:
        holding.wait(5)
        try:
            started = await svc.checkout.start(
                team_id=TEAM, user_id="U0PAYER", provider="i3d", invoice_ids=["410007"],
                method_id="10", issuer_id="INGBNL2A", expected=total,
            )  # fmt: skip
        except NeedsApproval:
            assert store.payments_for_invoices(TEAM, "i3d", ["410007"]) == []
        else:
            assert approvals.behind(started.payment) is not None, "started unapproved"
    finally:
        elsewhere.join()
        other.close()


async def test_a_decision_whose_announcement_was_cut_short_is_not_counted_unsaid(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot stops between counting Fran's approval and queueing what it tells (here,
    the queueing fails). Counted but unsaid, the request would be approved with every DM
    still showing its buttons and the billing thread never told; a click again would only
    be "already decided". The two commit together: the click can simply be made again."""
    h = harness
    await ask(h, "INV-24-0104", "")
    fran = dm_to(h, "U0FINANCE")
    assert fran is not None
    real = listeners.announce

    def stopped(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(listeners, "announce", real)
        raise RuntimeError("stopped before its announcement was queued")

    monkeypatch.setattr(listeners, "announce", stopped)
    approvals = h.bot.app[SERVICES].approvals
    (request_id,) = [
        row[0] for row in approvals.store.db.execute("SELECT id FROM approval_requests")
    ]
    await h.click(Screen(fran, "-"), blocks.APPROVE, user="U0FINANCE")
    await h.wait_for(lambda: listeners.announce is real)
    request = approvals.get(request_id)
    assert request is not None and request.state is State.PENDING, "counted, told no one"

    await h.click(Screen(fran, "-"), blocks.APPROVE, user="U0FINANCE")
    thread = await h.wait_for(
        lambda: [m for m in h.slack.posted_to("C0BILLING") if m.get("thread_ts")]
    )
    assert len(thread) == 1 and "Approved by" in thread[0]["text"]


async def test_an_expiry_whose_announcement_was_cut_short_is_told_after_all(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot stops between marking a request expired and queueing what that tells (here,
    the queueing fails). Expired but unsaid, every DM would keep its buttons and the billing
    thread would never hear; the sweep finds it no more. The two commit together: the next
    sweep expires it and tells everyone."""
    h = harness
    await ask(h, "INV-24-0104", "")
    real = listeners.announce

    def stopped(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(listeners, "announce", real)
        raise RuntimeError("stopped before its announcement was queued")

    monkeypatch.setattr(listeners, "announce", stopped)
    approvals = h.bot.app[SERVICES].approvals
    approvals.store.db.execute("UPDATE approval_requests SET expires_at = ?", [time.time() - 1])
    await h.wait_for(lambda: listeners.announce is real)

    def told() -> list[dict[str, Any]]:
        updates = [c.args for c in h.slack.called("chat.update")]
        channels = {u["channel"] for u in updates if "approval_approve" not in json.dumps(u)}
        return updates if channels >= {"D0FINANCE", "D0ADMIN", "D0PAYER"} else []

    await h.wait_for(told)
    thread = await h.wait_for(
        lambda: [m for m in h.slack.posted_to("C0BILLING") if m.get("thread_ts")]
    )
    assert len(thread) == 1
    (row,) = approvals.store.db.execute("SELECT state FROM approval_requests").fetchall()
    assert row[0] == "expired"


async def test_a_replaced_request_whose_announcement_was_cut_short_is_replaced_again(
    harness: Harness, i3d_sandbox: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asking for the new amount ends the request for the old one; the bot stops before
    that end's rewrites are queued (here, the queueing fails). Ended but unsaid, the
    approvers would keep Approve buttons that can no longer count, and asking again would
    find nothing left to replace. The two commit together: asking again tells them."""
    h = harness
    await ask(h, "INV-24-0104", "rack")
    invoices = i3d_sandbox.app[SANDBOX].invoices
    (key,) = [k for k, item in invoices.items() if item.invoiceNumber == "INV-24-0104"]
    invoices[key] = invoices[key].model_copy(
        update={"amountIncVAT": "147780", "remainingAmount": "147780"}
    )
    real = listeners.announce

    def stopped(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(listeners, "announce", real)
        raise RuntimeError("stopped before its announcement was queued")

    monkeypatch.setattr(listeners, "announce", stopped)
    _, screen, _ = await h.command("pay INV-24-0104")
    menu = await h.screen_after(screen)
    opened = len(h.slack.called("views.open"))
    await h.click(menu, blocks.REQUEST_APPROVAL)
    view = (await h.wait_for(lambda: h.slack.called("views.open")[opened:]))[-1].args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    await h.post(submission(h, "U0PAYER", view, {"note": "rack, with the new line"}))
    await h.wait_for(lambda: listeners.announce is real)
    approvals = h.bot.app[SERVICES].approvals
    (row,) = approvals.store.db.execute("SELECT state FROM approval_requests").fetchall()
    assert row[0] == "pending", "ended, told no one"

    await ask(h, "INV-24-0104", "rack, with the new line")
    replaced = await h.wait_for(
        lambda: [
            c.args
            for c in h.slack.called("chat.update")
            if c.args["channel"] == "D0FINANCE" and "Replaced" in text_of(c.args)
        ]
    )
    assert "approval_approve" not in json.dumps(replaced[-1]["blocks"])


async def test_a_request_whose_time_ran_out_before_the_sweep_can_be_asked_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request's time has run out and the sweep has not come by: the pay menu
    agrees with the list (Request approval, not only Back), and asking again is not
    refused as "already waiting"; the old request's messages say it expired."""
    h = harness
    await ask(h, "INV-24-0104", "")
    approvals = h.bot.app[SERVICES].approvals
    monkeypatch.setattr(approvals, "expire_due", lambda *args, **kwargs: [])
    approvals.store.db.execute("UPDATE approval_requests SET expires_at = ?", [time.time() - 1])
    (old,) = approvals.store.db.execute("SELECT id FROM approval_requests").fetchall()
    _, screen, _ = await h.command("pay INV-24-0104")
    menu = await h.screen_after(screen)
    assert "expired before it was decided" in text_of(menu.message), text_of(menu.message)
    await ask(h, "INV-24-0104", "again")
    ended = approvals.get(old[0])
    assert ended is not None and ended.state is State.EXPIRED
    rows = approvals.store.db.execute("SELECT state FROM approval_requests").fetchall()
    assert sorted(row[0] for row in rows) == ["expired", "pending"]


async def test_decisions_on_a_request_its_channel_refused_go_alone_to_the_billing_channel_now(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#billing refused the request's post for good (invoicebot is not in it), and an
    admin then chose another billing channel: a decision is not sent to the channel
    that refused it, where it would be refused again, but to the new one, naming the
    request it is about."""
    h = harness
    h.slack.outside.add("C0BILLING")
    await ask(h, "INV-24-0104", "")
    svc = h.bot.app[SERVICES]
    await h.wait_for(lambda: svc.store.outbox_refusal("approval-root:" + _only_request(h)))
    monkeypatch.setattr(svc.teams.settings, "billing_channel", "C0NEWBILL")
    fran = dm_to(h, "U0FINANCE")
    assert fran is not None
    await h.click(Screen(fran, "-"), blocks.APPROVE, user="U0FINANCE")
    (line,) = await h.wait_for(lambda: h.slack.posted_to("C0NEWBILL"))
    assert "Approved by <@U0FINANCE>" in line["text"] and "thread_ts" not in line
    assert "<@U0PAYER>'s request for approval to pay i3D.net invoice INV-24-0104" in line["text"]
    refused = [row["key"] for row in svc.store.outbox_items() if row["gave_up_at"]]
    assert refused == [f"approval-root:{_only_request(h)}"], "nothing else sent where refused"


def _only_request(h: Harness) -> str:
    store = h.bot.app[SERVICES].approvals.store
    (row,) = store.db.execute("SELECT id FROM approval_requests").fetchall()
    return str(row[0])


def dms_to(h: Harness, user: str) -> list[dict[str, Any]]:
    return [
        c.args for c in h.slack.called("chat.postMessage") if c.args["channel"] == "D" + user[1:]
    ]


def deliver_again(h: Harness) -> None:
    """Make a request's redelivery due now, not after the wait Slack's trouble set."""
    h.bot.app[SERVICES].store.db.execute("UPDATE approval_requests SET deliver_after = 0")


def delivered(h: Harness) -> bool:
    db = h.bot.app[SERVICES].store.db
    (row,) = db.execute("SELECT delivered_at FROM approval_requests").fetchall()
    return row[0] is not None


async def test_an_approval_dm_whose_answer_was_lost_is_found_not_sent_again(
    harness: Harness,
) -> None:
    """Slack posted Fran's DM but the connection dropped before its answer: the next
    delivery found it in her DM's history (by its mark) instead of sending a second one,
    and the decision rewrites that one."""
    h = harness
    h.slack.lose_answer_in["D0FINANCE"] = 1
    await ask(h, "INV-24-0104", "rack")
    assert h.slack.reads == []
    deliver_again(h)
    await h.wait_for(lambda: delivered(h))
    (fran,) = dms_to(h, "U0FINANCE")
    assert [read.args["channel"] for read in h.slack.reads] == ["D0FINANCE"]
    await h.click(Screen(fran, "-"), blocks.APPROVE, user="U0FINANCE")
    await h.wait_for(
        lambda: [
            c for c in h.slack.called("chat.update")
            if c.args["channel"] == "D0FINANCE" and "Payment approved" in c.args["text"]
        ]
    )  # fmt: skip
    assert len(dms_to(h, "U0FINANCE")) == 1 and len(dms_to(h, "U0ADMIN")) == 1


async def test_an_install_without_im_history_sends_a_lost_approval_dm_again(
    harness: Harness,
) -> None:
    """Installed before invoicebot asked for im:history: the DM cannot be looked for, so
    it goes out again (as before) rather than not at all, and the new one is rewritten."""
    h = harness
    h.slack.withheld.add("im:history")
    h.slack.lose_answer_in["D0FINANCE"] = 1
    await ask(h, "INV-24-0104", "rack")
    deliver_again(h)
    await h.wait_for(lambda: delivered(h))
    calls = [c for c in h.slack.called("chat.postMessage") if c.args["channel"] == "D0FINANCE"]
    assert len(calls) == 2
    await h.click(Screen(calls[1].args, "-"), blocks.APPROVE, user="U0FINANCE")
    updated = await h.wait_for(
        lambda: [c.args for c in h.slack.called("chat.update") if c.args["channel"] == "D0FINANCE"]
    )
    assert updated[0]["ts"] == h.slack.ts_of[id(calls[1])], "the copy whose ts is known"


async def test_an_approval_dm_lookup_slack_holds_back_waits_and_sends_nothing(
    harness: Harness,
) -> None:
    """Slack lets apps outside its Marketplace read a history once a minute: a lookup it
    refuses (429) is made again after its wait, and the DM is not sent meanwhile."""
    h = harness
    h.slack.lose_answer_in["D0FINANCE"] = 1
    await ask(h, "INV-24-0104", "rack")
    h.slack.history_calls_left = 0
    deliver_again(h)
    await h.wait_for(lambda: h.slack.reads)
    await asyncio.sleep(2.5)  # a few more rounds of the watcher
    assert len(dms_to(h, "U0FINANCE")) == 1 and not delivered(h)
    h.slack.history_calls_left = 1  # a minute later
    deliver_again(h)
    await h.wait_for(lambda: delivered(h))
    assert len(dms_to(h, "U0FINANCE")) == 1


async def test_an_approval_dm_lookup_cut_short_by_slack_reads_on_from_where_it_stopped(
    harness: Harness,
) -> None:
    """More bot messages in Fran's DM around the lost one than a page holds, and one read
    a minute: begun again from the first page each minute, the lookup would never reach
    the second, and Fran would never be asked."""
    h = harness
    h.slack.lose_answer_in["D0FINANCE"] = 1
    await ask(h, "INV-24-0104", "rack")
    for n in range(20):  # other messages to her just after it
        h.slack.calls.append(SlackCall("chat.postMessage", {"channel": "D0FINANCE", "text": "-"}))
        h.slack.ts_of[id(h.slack.calls[-1])] = f"{time.time() + 1 + n / 10:.6f}"
    h.slack.history_calls_left = 1
    deliver_again(h)
    await h.wait_for(lambda: len(h.slack.reads) == 2)  # the second refused (429)
    h.slack.history_calls_left = 1  # a minute later
    deliver_again(h)
    await h.wait_for(lambda: delivered(h))
    first, _, last = h.slack.reads
    assert float(last.args["latest"]) < float(first.args["latest"])
    assert len(dms_to(h, "U0FINANCE")) == 21, "hers and the 20 others, no second one"


async def test_an_approval_dm_slack_refused_for_now_is_sent_again_without_a_lookup(
    harness: Harness,
) -> None:
    """Slack answered Fran's DM 429: nothing was posted, so sending it again needs no
    read of her DM's history first (Slack lets apps outside its Marketplace read one a
    minute, and other lookups may need it)."""
    h = harness
    h.slack.retry_after = "2"  # longer than the client waits out by itself
    h.slack.rate_limit_in["D0FINANCE"] = 1
    await ask(h, "INV-24-0104", "rack")  # sent again by the watcher
    await h.wait_for(lambda: delivered(h))
    assert len(dms_to(h, "U0FINANCE")) == 1 and len(dms_to(h, "U0ADMIN")) == 1
    assert h.slack.reads == []


async def test_a_request_its_channel_refused_is_posted_to_the_billing_channel_chosen_since(
    harness: Harness, start_bot: BotFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#billing refused the request's post for good (invoicebot is not in it), so finance
    saw it nowhere; another billing channel is then set (and the bot restarted): the
    waiting request is posted there, once, and a decision goes in its thread."""
    h = harness
    h.slack.outside.add("C0BILLING")
    await ask(h, "INV-24-0104", "rack")
    svc = h.bot.app[SERVICES]
    await h.wait_for(lambda: svc.store.outbox_refusal("approval-root:" + _only_request(h)))
    await h.bot.close()
    monkeypatch.setattr(svc.teams.settings, "billing_channel", "C0NEWBILL")
    h.bot = await start_bot()
    (root,) = await h.wait_for(lambda: h.slack.posted_to("C0NEWBILL"))
    assert "asks for approval to pay i3D.net invoice INV-24-0104" in root["text"]
    fran = dm_to(h, "U0FINANCE")
    assert fran is not None
    await h.click(Screen(fran, "-"), blocks.APPROVE, user="U0FINANCE")
    (_, line) = await h.wait_for(
        lambda: h.slack.posted_to("C0NEWBILL")[1:] and h.slack.posted_to("C0NEWBILL")
    )
    ts = [h.slack.ts_of[id(c)] for c in h.slack.called("chat.postMessage") if c.args is root]
    assert "Approved by <@U0FINANCE>" in line["text"] and line.get("thread_ts") == ts[0]
    await h.bot.close()
    h.bot = await start_bot()  # started again: posted once
    await asyncio.sleep(1.5)
    assert len([m for m in h.slack.posted_to("C0NEWBILL") if "thread_ts" not in m]) == 1


async def test_an_approval_dm_found_after_a_decision_is_brought_up_to_date(
    harness: Harness,
) -> None:
    """The CFO's DM was posted but its answer lost; Fran approved (one of two) before the
    next delivery found it. Found, it still read as first posted (nobody approved yet):
    it is rewritten as the others were."""
    h = harness
    h.slack.lose_answer_in["D0CFO"] = 1
    await ask(h, "INV-24-0105", "Hardware")  # €6,025.80: two approvals
    fran = dm_to(h, "U0FINANCE")
    assert fran is not None
    await h.click(Screen(fran, "-"), blocks.APPROVE, user="U0FINANCE")
    counted = "(1 of 2). Approved by <@U0FINANCE>"
    await h.wait_for(
        lambda: [
            c for c in h.slack.called("chat.update")
            if c.args["channel"] == "D0FINANCE" and counted in text_of(c.args)
        ]
    )  # fmt: skip
    deliver_again(h)
    await h.wait_for(lambda: delivered(h))
    assert len(dms_to(h, "U0CFO")) == 1, "found, not sent again"
    await h.wait_for(
        lambda: [
            c for c in h.slack.called("chat.update")
            if c.args["channel"] == "D0CFO" and counted in text_of(c.args)
        ]
    )  # fmt: skip


async def test_a_group_of_approvers_slack_cannot_list_now_asks_to_try_again_and_sends_nothing(
    harness: Harness,
) -> None:
    """Who may approve through a user group is not known while Slack will not list the
    group: the request is not sent to fewer people, nor refused as if no one could
    approve it; the requester is told to try again, and then it goes to the group."""
    h = harness
    h.slack.user_groups["S0APPROVERS"] = ["U0FINANCE"]
    services = h.bot.app[SERVICES]
    services.approvals.save_policy(TEAM, Policy.parse("EUR 500 1 S0APPROVERS"), user_id="U0ADMIN")
    h.slack.retry_after = "30"  # longer than a request can wait: the read fails for now
    h.slack.rate_limit_next["usergroups.users.list"] = 1

    async def request_approval() -> str:
        _, screen, _ = await h.command("pay INV-24-0104")
        menu = await h.screen_after(screen)
        opened = len(h.slack.called("views.open"))
        updated = len(h.slack.called("views.update"))
        await h.click(menu, blocks.REQUEST_APPROVAL)
        view = (await h.wait_for(lambda: h.slack.called("views.open")[opened:]))[-1].args["view"]
        view = json.loads(view) if isinstance(view, str) else view
        await h.post(submission(h, "U0PAYER", view, {"note": "servers"}))
        shown = (await h.wait_for(lambda: h.slack.called("views.update")[updated:]))[-1]
        return json.dumps(shown.args["view"])

    told = await request_approval()
    assert "Not enough people" not in told and "Try again in a minute" in told
    assert services.approvals.waiting_for(TEAM, "U0FINANCE") == []
    assert dm_to(h, "U0FINANCE") is None
    told = await request_approval()
    assert "Sent to" in told
    await h.wait_for(lambda: dm_to(h, "U0FINANCE"))
