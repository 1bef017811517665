"""Approvals in the demo, played by its people: Pat pays, Fran, Casey and Alex approve.

The demo's policy: from €500 one approval (Fran or Alex), from €5,000 two (two of Fran,
Casey and Alex). INV-24-0101 (€96.80 after the credit note) is under both brackets,
INV-24-0104 (€1,427.80) over the first, INV-24-0105 (€6,025.80) over the second.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import aiohttp
import pytest

from bot.approvals import State
from bot.clock import ManualClock
from bot.demo import Demo
from bot.provider import ProviderError
from bot.slack.blocks import approval_settings as dialog
from bot.slack.blocks import approvals as blocks
from bot.web import SCHEDULER, SERVICES
from plugins.i3d.sandbox.state import SANDBOX
from slack_emulator import EMULATOR, Emulator, Message, payloads
from slack_emulator.elements import action_for, find_element
from tests.e2e.conftest import BILLING, GENERAL, everything_in, url_of
from tests.scenario.harness import pay_in_browser

PAT, FRAN, CASEY, ALEX = "U0PAYER", "U0FINANCE", "U0CFO", "U0ADMIN"


def has_button(message: Message, action_id: str) -> bool:
    return any(
        element.get("action_id") == action_id
        for block in message.blocks
        for element in [*block.get("elements", []), block.get("accessory") or {}]
    )


async def pay_menu(slack: Emulator, user: str, number: str) -> Message:
    before = len(slack.ephemerals(user, GENERAL))
    await slack.slash_command(user, GENERAL, f"pay {number}")

    def shown() -> Message | None:
        mine = slack.ephemerals(user, GENERAL)[before:]
        return next((m for m in reversed(mine) if number in everything_in(m)), None)

    return await slack.wait_until(shown, 10)


def dm(slack: Emulator, user: str, number: str) -> Message | None:
    """The latest message about `number` in `user`'s DM with invoicebot."""
    channel = slack.workspace.dm_with(user).id
    found = [m for m in slack.messages(channel) if number in m.text]
    return found[-1] if found else None


async def every_dm_says(slack: Emulator, number: str, words: str) -> None:
    """Wait until Fran's, Alex's and Pat's messages about `number` say `words`."""

    def said() -> bool:
        shown = [dm(slack, who, number) for who in (FRAN, ALEX, PAT)]
        return all(m is not None and words in m.text for m in shown)

    await slack.wait_until(said, 15)


async def request_approval(slack: Emulator, user: str, number: str, note: str = "") -> Any:
    menu = await pay_menu(slack, user, number)
    assert has_button(menu, blocks.REQUEST_APPROVAL), everything_in(menu)
    assert not has_button(menu, "choose_method")
    await slack.click(user, menu, blocks.REQUEST_APPROVAL)
    modal = await slack.wait_until(
        lambda: (m := slack.modal(user)) and "Request approval" in str(m.definition["title"]) and m,
        5,
    )
    reply = await slack.submit_view(user, values={"note": {"value": note}} if note else {})
    assert reply.error is None, reply.error
    await slack.wait_until(lambda: "Sent" in str((slack.modal(user) or modal).definition), 10)
    return menu


def request_of(demo: Demo, number: str) -> Any:
    approvals = demo.bot[SERVICES].approvals
    rows = approvals.store.db.execute(
        "SELECT id FROM approval_requests WHERE invoice_numbers LIKE ? ORDER BY created_at DESC",
        [f"%{number}%"],
    ).fetchall()
    return approvals.get(rows[0][0]) if rows else None


def clicks_heard(demo: Demo) -> list[str]:
    """What each Approve click did, as the audit log has it (the ack comes before)."""
    outcomes = {"approved", "counted", "repeated", "closed", "own", "not_approver", "expired"}
    audit = demo.bot[SERVICES].store.audit_log()
    return [e.action for e in audit if e.action.removeprefix("approval.") in outcomes]


async def approved_by_fran(demo: Demo, number: str) -> None:
    slack = demo.slack[EMULATOR]
    await request_approval(slack, PAT, number)
    fran = await slack.wait_until(lambda: dm(slack, FRAN, number), 10)
    await slack.click(FRAN, fran, blocks.APPROVE)
    await slack.wait_until(lambda: request_of(demo, number).state is State.APPROVED, 10)


async def test_under_the_first_bracket_pay_is_as_before(demo: Demo) -> None:
    slack = demo.slack[EMULATOR]
    menu = await pay_menu(slack, PAT, "INV-24-0101")
    assert has_button(menu, "choose_method") and not has_button(menu, blocks.REQUEST_APPROVAL)


async def test_one_approval_then_the_requester_pays(demo: Demo) -> None:
    slack = demo.slack[EMULATOR]
    menu = await request_approval(slack, PAT, "INV-24-0104", note="Rack for the new <b>site</b>")
    said = everything_in(menu)
    assert "€1,427.80" in said and "need one approval" in said
    for approver in (FRAN, ALEX):
        message = await slack.wait_until(lambda a=approver: dm(slack, a, "INV-24-0104"), 10)
        text = everything_in(message)
        assert "€1,427.80" in text and "i3D.net" in text and f"<@{PAT}>" in text
        assert "Rack for the new &lt;b&gt;site&lt;/b&gt;" in text, "the note is escaped"
        assert "Due" in text and has_button(message, blocks.APPROVE)
    assert dm(slack, CASEY, "INV-24-0104") is None, "Casey approves only from €5,000"
    mine = await slack.wait_until(lambda: dm(slack, PAT, "INV-24-0104"), 5)
    assert not has_button(mine, blocks.APPROVE), "nobody approves their own request"
    replaced = await slack.wait_until(
        lambda: next(
            (m for m in slack.ephemerals(PAT, GENERAL) if "Approval requested" in m.text), None
        ),
        10,
    )
    assert not has_button(replaced, blocks.REQUEST_APPROVAL), "asked once, the button is gone"

    fran = dm(slack, FRAN, "INV-24-0104")
    assert fran is not None
    await slack.click(FRAN, fran, blocks.APPROVE)

    await every_dm_says(slack, "INV-24-0104", "Payment approved")
    for who in (FRAN, ALEX, PAT):
        message = dm(slack, who, "INV-24-0104")
        assert message is not None and not has_button(message, blocks.APPROVE)
        assert f"Approved by <@{FRAN}>" in everything_in(message)
    assert "You approved" in everything_in(dm(slack, FRAN, "INV-24-0104") or fran)
    pat_dm = dm(slack, PAT, "INV-24-0104")
    assert pat_dm is not None and has_button(pat_dm, "pay_approved")

    thread = await slack.wait_until(
        lambda: [m for m in slack.messages(BILLING) if "Approved by" in m.text], 10
    )
    root = next(m for m in slack.messages(BILLING) if "asks for approval" in m.text)
    assert thread[0].thread_ts == root.ts
    audit = [e.action for e in demo.bot[SERVICES].store.audit_log()]
    assert "approval.requested" in audit and "approval.approved" in audit

    menu = await pay_menu(slack, PAT, "INV-24-0104")
    assert has_button(menu, "choose_method") and "Approved by" in everything_in(menu)
    _, labels = await pay_labels(slack)
    assert labels["410007"] == "Pay", "approved, the list offers Pay again"


async def test_the_requester_cannot_approve_their_own_request(demo: Demo) -> None:
    slack = demo.slack[EMULATOR]
    await request_approval(slack, ALEX, "INV-24-0104")
    request = request_of(demo, "INV-24-0104")
    assert ALEX not in request.approvers and request.approvers == (FRAN,)
    fran = await slack.wait_until(lambda: dm(slack, FRAN, "INV-24-0104"), 10)
    reply = await forge_click(slack, ALEX, fran, blocks.APPROVE)
    assert reply.status == 200
    refusal = await slack.wait_until(
        lambda: next((m for m in slack.ephemerals(ALEX) if "your own request" in m.text), None),
        10,
    )
    assert "nothing changed" in refusal.text
    assert request_of(demo, "INV-24-0104").state is State.PENDING
    with_buttons = dm(slack, FRAN, "INV-24-0104")
    assert with_buttons is not None and has_button(with_buttons, blocks.APPROVE)


async def test_two_approvals_need_two_people_and_a_double_click_counts_once(demo: Demo) -> None:
    slack = demo.slack[EMULATOR]
    await request_approval(slack, PAT, "INV-24-0105")
    fran = await slack.wait_until(lambda: dm(slack, FRAN, "INV-24-0105"), 10)
    assert "two approvals" in everything_in(fran)
    await asyncio.gather(
        slack.click(FRAN, fran, blocks.APPROVE), slack.click(FRAN, fran, blocks.APPROVE)
    )
    heard = await slack.wait_until(lambda: len(clicks_heard(demo)) == 2 and clicks_heard(demo))
    assert sorted(heard) == ["approval.counted", "approval.repeated"]
    request = request_of(demo, "INV-24-0105")
    assert request.approved_by == (FRAN,) and request.state is State.PENDING
    casey = await slack.wait_until(
        lambda: (m := dm(slack, CASEY, "INV-24-0105")) and "(1 of 2)" in everything_in(m) and m,
        10,
    )
    assert casey is not None and has_button(casey, blocks.APPROVE), "Casey can still decide"
    menu = await pay_menu(slack, PAT, "INV-24-0105")
    assert "waiting for the approvers" in everything_in(menu)
    assert not has_button(menu, blocks.REQUEST_APPROVAL) and not has_button(menu, "choose_method")

    await slack.click(CASEY, casey, blocks.APPROVE)
    await slack.wait_until(lambda: request_of(demo, "INV-24-0105").state is State.APPROVED, 10)
    assert request_of(demo, "INV-24-0105").approved_by == (FRAN, CASEY)
    alex = await slack.wait_until(
        lambda: (m := dm(slack, ALEX, "INV-24-0105")) and "Payment approved" in m.text and m, 10
    )
    assert not has_button(alex, blocks.APPROVE), "the third approver has nothing left to do"
    db = demo.bot[SERVICES].store.db
    counted = "SELECT COUNT(*) FROM approval_decisions WHERE request_id = ?"
    assert db.execute(counted, [request.id]).fetchone()[0] == 2


async def test_two_approvers_clicking_at_once_make_one_decision(demo: Demo) -> None:
    slack = demo.slack[EMULATOR]
    await request_approval(slack, PAT, "INV-24-0104")
    fran = await slack.wait_until(lambda: dm(slack, FRAN, "INV-24-0104"), 10)
    alex = await slack.wait_until(lambda: dm(slack, ALEX, "INV-24-0104"), 10)
    await asyncio.gather(
        slack.click(FRAN, fran, blocks.APPROVE), slack.click(ALEX, alex, blocks.APPROVE)
    )
    heard = await slack.wait_until(lambda: len(clicks_heard(demo)) == 2 and clicks_heard(demo))
    assert sorted(heard) == ["approval.approved", "approval.closed"]
    request = request_of(demo, "INV-24-0104")
    assert request.state is State.APPROVED and len(request.approved_by) == 1
    late = await slack.wait_until(
        lambda: [m for who in (FRAN, ALEX) for m in slack.ephemerals(who) if "already" in m.text],
        10,
    )
    assert len(late) == 1
    audit = [e.action for e in demo.bot[SERVICES].store.audit_log()]
    assert audit.count("approval.approved") == 1


async def test_a_rejection_asks_for_a_reason_and_everyone_reads_it(demo: Demo) -> None:
    slack = demo.slack[EMULATOR]
    await request_approval(slack, PAT, "INV-24-0104")
    fran = await slack.wait_until(lambda: dm(slack, FRAN, "INV-24-0104"), 10)
    await slack.click(FRAN, fran, blocks.REJECT)
    modal = await slack.wait_until(lambda: slack.modal(FRAN), 5)
    assert "Reject" in str(modal.definition["title"])
    empty = await slack.submit_view(FRAN, values={})
    assert empty.error == "required_input_missing"
    await slack.submit_view(FRAN, values={"reason": {"value": "Not in this quarter's budget"}})

    await every_dm_says(slack, "INV-24-0104", "Payment rejected")
    for who in (FRAN, ALEX, PAT):
        said = everything_in(dm(slack, who, "INV-24-0104") or fran)
        assert "Not in this quarter's budget" in said and f"<@{FRAN}>" in said
        assert not has_button(dm(slack, who, "INV-24-0104") or fran, blocks.APPROVE)
    await slack.wait_until(
        lambda: [m for m in slack.messages(BILLING) if "Rejected by" in m.text], 10
    )
    menu = await pay_menu(slack, PAT, "INV-24-0104")
    assert "rejected by" in everything_in(menu) and has_button(menu, blocks.REQUEST_APPROVAL)


async def test_an_approval_expires(demo: Demo) -> None:
    slack = demo.slack[EMULATOR]
    await approved_by_fran(demo, "INV-24-0104")
    ready = await pay_menu(slack, PAT, "INV-24-0104")
    await slack.click(PAT, ready, "choose_method", selected="10")
    await slack.wait_until(lambda: has_button(ready, "choose_issuer"), 10)
    await slack.click(PAT, ready, "choose_issuer", selected="INGBNL2A")
    await slack.wait_until(lambda: has_button(ready, "get_link"), 10)

    store = demo.bot[SERVICES].store
    request = request_of(demo, "INV-24-0104")
    store.db.execute(
        "UPDATE approval_requests SET expires_at = ? WHERE id = ?", [time.time() - 1, request.id]
    )
    await slack.wait_until(lambda: request_of(demo, "INV-24-0104").state is State.EXPIRED, 10)
    await slack.wait_until(
        lambda: (m := dm(slack, FRAN, "INV-24-0104")) and "Approval expired" in m.text, 10
    )
    await slack.wait_until(lambda: [m for m in slack.messages(BILLING) if "expired" in m.text], 10)
    assert "approval.expired" in [e.action for e in store.audit_log()]

    menu = await pay_menu(slack, PAT, "INV-24-0104")
    assert "expired" in everything_in(menu) and has_button(menu, blocks.REQUEST_APPROVAL)
    # A pay menu shown while the approval was good cannot pay once it has expired.
    await slack.click(PAT, ready, "get_link")
    refused = await slack.wait_until(
        lambda: next(
            (m for m in slack.ephemerals(PAT, GENERAL) if "need one approval" in m.text), None
        ),
        10,
    )
    assert "Nothing was paid" in refused.text


async def test_a_changed_amount_needs_a_new_approval(demo: Demo) -> None:
    slack = demo.slack[EMULATOR]
    await approved_by_fran(demo, "INV-24-0104")
    # The credit note is used elsewhere: the same invoice now nets to €1,452.00.
    sandbox = demo.sandboxes["i3d"][SANDBOX]
    sandbox.invoices.pop("410004")
    menu = await pay_menu(slack, PAT, "INV-24-0104")
    said = everything_in(menu)
    assert "€1,452.00" in said and "approved for €1,427.80" in said
    assert has_button(menu, blocks.REQUEST_APPROVAL) and not has_button(menu, "choose_method")


async def test_a_provider_refusing_the_request_is_shown_as_text(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Provider text is data: its words in the dialog cannot ping a channel or link."""
    slack = demo.slack[EMULATOR]
    menu = await pay_menu(slack, PAT, "INV-24-0104")
    await slack.click(PAT, menu, blocks.REQUEST_APPROVAL)
    await slack.wait_until(lambda: slack.modal(PAT), 5)

    async def refused(*args: Any, **kwargs: Any) -> None:
        raise ProviderError("<!channel> see <https://evil.example|here> & retry")

    monkeypatch.setattr(demo.bot[SERVICES].checkout, "options", refused)
    await slack.submit_view(PAT, values={})
    modal = await slack.wait_until(
        lambda: (m := slack.modal(PAT)) and "Not sent" in str(m.definition) and m, 10
    )
    said = modal.definition["blocks"][0]["text"]["text"]
    assert "&lt;!channel&gt; see &lt;https://evil.example|here&gt; &amp; retry" in said
    assert request_of(demo, "INV-24-0104") is None


def typed(view: Any, block_id: str) -> Any:
    """What the admin has in an input of the dialog (their pick, or what it started with)."""
    entry = view.picks.get(block_id, {}).get(dialog.FIELD)
    if entry is not None:
        return entry.get("value")
    block = next(b for b in view.blocks if b["block_id"] == block_id)
    return block["element"].get("initial_value")


async def test_only_admins_open_the_settings_and_a_saved_policy_applies(demo: Demo) -> None:
    slack = demo.slack[EMULATOR]
    await slack.slash_command(PAT, GENERAL, "settings")
    refusal = await slack.wait_until(
        lambda: next((m for m in slack.ephemerals(PAT, GENERAL) if "admins" in m.text), None), 10
    )
    assert "nothing was changed" in refusal.text and slack.modal(PAT) is None

    await slack.slash_command(ALEX, GENERAL, "settings")
    modal = await slack.wait_until(lambda: slack.modal(ALEX), 10)
    assert typed(modal, "b0.from") == "500" and typed(modal, "b1.from") == "5000"
    assert "Bracket 2" in str(modal.blocks) and "b2.from" not in str(modal.blocks)
    await slack.click(ALEX, modal, dialog.FIELD, block_id="b0.from", value="lots")
    await slack.click(ALEX, modal, dialog.ADD)
    modal = await slack.wait_until(
        lambda: (m := slack.modal(ALEX)) and "b2.from" in str(m.blocks) and m, 10
    )
    assert typed(modal, "b0.from") == "lots", "what was typed survives the redraw"
    assert "Bracket 3" in str(modal.blocks)

    two_alone = {"b2.from": {"value": "100"}, "b2.needed": {"value": "2"}}
    bad = await slack.submit_view(ALEX, values={**two_alone, "b2.users": {"value": [FRAN]}})
    assert bad.error is None and slack.modal(ALEX) is modal
    assert "b0.from" in modal.errors and "b2.users" in modal.errors
    assert "two different people" in modal.errors["b2.users"]
    twice = {"b0.from": {"value": "500"}, "b2.from": {"value": "5000"}}
    await slack.submit_view(ALEX, values={**twice, "b2.needed": {"value": "1"}})
    assert list(modal.errors) == ["b2.from"] and "Bracket 2" in modal.errors["b2.from"]

    await slack.click(ALEX, modal, dialog.REMOVE, value="1")  # the €5,000 bracket goes
    modal = await slack.wait_until(
        lambda: (m := slack.modal(ALEX)) and "b1.from" not in str(m.blocks) and m, 10
    )
    assert typed(modal, "b2.from") == "5000" and typed(modal, "b0.from") == "500"
    await slack.submit_view(
        ALEX,
        values={
            "b2.from": {"value": "100"},
            "b2.users": {"value": [FRAN]},
            "hours": {"value": "2"},
        },
    )
    await slack.wait_until(lambda: "Saved" in str((slack.modal(ALEX) or modal).definition), 10)
    audit = demo.bot[SERVICES].store.audit_log()
    assert any(e.action == "approvals.policy_saved" and e.user_id == ALEX for e in audit)
    policy = demo.bot[SERVICES].approvals.policy(slack.workspace.team_id)
    assert policy.text() == "EUR 100 1 U0FINANCE\nEUR 500 1 U0FINANCE,U0ADMIN"
    assert policy.hours == 2
    menu = await pay_menu(slack, PAT, "INV-24-0087")  # €338.80: now over the €100 bracket
    assert has_button(menu, blocks.REQUEST_APPROVAL)
    bigger = await pay_menu(slack, PAT, "INV-24-0105")  # €6,025.80: one approval is enough now
    assert "need one approval" in everything_in(bigger)


async def test_app_home_shows_the_rules_and_what_waits(demo: Demo) -> None:
    slack = demo.slack[EMULATOR]
    await request_approval(slack, PAT, "INV-24-0104")
    await slack.open_home(FRAN)
    home = await slack.wait_until(
        lambda: (h := slack.home(FRAN)) and "Waiting for your approval" in str(h.blocks) and h, 15
    )
    assert "INV-24-0104" in str(home.blocks) and "€500.00 and above" in str(home.blocks)
    assert "approval_settings" not in str(home.blocks), "only admins see the settings button"
    await slack.open_home(ALEX)
    admin = await slack.wait_until(
        lambda: (h := slack.home(ALEX)) and "Approval settings" in str(h.blocks) and h, 15
    )
    await slack.click(ALEX, admin, blocks.OPEN_SETTINGS)
    modal = await slack.wait_until(lambda: slack.modal(ALEX), 10)
    assert "Approval settings" in str(modal.definition["title"])


async def forge_click(slack: Emulator, user: str, message: Message, action_id: str) -> Any:
    """A click someone else's message would make, sent as `user` (a tampered request)."""
    ws = slack.workspace
    block, element = find_element(message.blocks, action_id)
    channel = ws.dm_with(user)
    hook = slack.response_urls.issue(user, channel.id, source=message, acked=False)
    payload = payloads.block_actions(
        ws,
        user,
        container={"type": "message", "message_ts": message.ts, "channel_id": channel.id},
        actions=[action_for(block["block_id"], element, None, f"{time.time():.6f}")],
        state={},
        trigger_id=slack.surfaces.issue_trigger(user),
        channel=channel,
        message=message.to_api(ws.team_id, ws.app_id),
        response_url=slack.url(f"/hooks/{hook.id}"),
    )
    try:
        return await slack.bot.send(payloads.interaction(payload), payloads.FORM)
    finally:
        hook.acked.set()


async def test_pay_in_the_list_leads_to_request_approval(demo: Demo) -> None:
    slack = demo.slack[EMULATOR]
    listing, labels = await pay_labels(slack)
    assert labels["410001"] == "Pay", "€121.00 is under every bracket"
    assert labels["410007"] == labels["410008"] == "Request approval"
    await slack.click(PAT, listing, "pay", value=pay_value(listing, "410008"))
    await slack.wait_until(lambda: has_button(listing, blocks.REQUEST_APPROVAL), 10)
    said = everything_in(listing)
    assert "€6,025.80" in said and "two approvals from two different people" in said


async def test_a_user_group_can_approve_and_a_requester_alone_in_it_cannot_ask(
    demo: Demo,
) -> None:
    slack = demo.slack[EMULATOR]
    await slack.slash_command(ALEX, GENERAL, "settings")
    await slack.wait_until(lambda: slack.modal(ALEX), 10)
    await slack.submit_view(
        ALEX, values={"b0.users": {"value": []}, "b0.groups": {"value": ["S0PAYERS"]}}
    )
    await slack.wait_until(lambda: "Saved" in str(getattr(slack.modal(ALEX), "definition", "")), 10)
    await slack.close_view(ALEX, everything=True)

    menu = await pay_menu(slack, PAT, "INV-24-0104")
    await slack.click(PAT, menu, blocks.REQUEST_APPROVAL)
    await slack.wait_until(lambda: slack.modal(PAT), 5)
    await slack.submit_view(PAT)
    refused = await slack.wait_until(
        lambda: (m := slack.modal(PAT)) and "Not enough people" in str(m.blocks) and m, 10
    )
    assert "Not sent" in str(refused.definition["title"])
    assert request_of(demo, "INV-24-0104") is None

    await request_approval(slack, ALEX, "INV-24-0104")
    pat = await slack.wait_until(lambda: dm(slack, PAT, "INV-24-0104"), 10)
    assert has_button(pat, blocks.APPROVE), "the payers group's member approves"


async def pay_labels(slack: Emulator) -> tuple[Message, dict[str, str]]:
    """Pat's list of i3D.net invoices, and what each Pay button reads, by invoice id."""
    before = len(slack.ephemerals(PAT, GENERAL))
    await slack.slash_command(PAT, GENERAL, "i3d")
    listing = await slack.wait_until(
        lambda: next(
            (m for m in slack.ephemerals(PAT, GENERAL)[before:] if has_button(m, "pay")), None
        ),
        10,
    )
    labels = {
        element["value"].split("|")[1]: element["text"]["text"]
        for block in listing.blocks
        if (element := block.get("accessory") or {}).get("action_id") == "pay"
    }
    return listing, labels


def pay_value(message: Message, invoice_id: str) -> str:
    for block in message.blocks:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("action_id") == "pay" and f"|{invoice_id}" in element.get("value", ""):
                return str(element["value"])
    raise AssertionError(f"no Pay button for {invoice_id}")


async def test_pay_in_the_approved_dm_brings_the_menu_as_a_new_message(demo: Demo) -> None:
    slack = demo.slack[EMULATOR]
    await approved_by_fran(demo, "INV-24-0104")
    approved = await slack.wait_until(
        lambda: (m := dm(slack, PAT, "INV-24-0104")) and "Payment approved" in m.text and m, 10
    )
    channel = slack.workspace.dm_with(PAT).id
    sandbox = demo.sandboxes["i3d"][SANDBOX]
    sandbox.inject("error", count=50)
    await slack.click(PAT, approved, "pay_approved")
    warned = await slack.wait_until(
        lambda: next((m for m in slack.ephemerals(PAT, channel) if "i3D.net" in m.text), None),
        20,
    )
    assert ":warning:" in warned.text and dm(slack, PAT, "INV-24-0104") is approved
    assert "Payment approved" in approved.text, "an error comes as a new message too"
    sandbox.clear_faults()

    before = len(slack.ephemerals(PAT, channel))
    await slack.click(PAT, approved, "pay_approved")
    menu = await slack.wait_until(
        lambda: next(
            (m for m in slack.ephemerals(PAT, channel)[before:] if has_button(m, "choose_method")),
            None,
        ),
        10,
    )
    assert menu is not approved and "Approved by" in everything_in(menu)
    still = dm(slack, PAT, "INV-24-0104")
    assert still is approved and "Payment approved" in still.text, "the DM keeps saying it"
    assert has_button(still, "pay_approved")
    await slack.click(PAT, menu, "choose_method", selected="10")
    await slack.wait_until(lambda: has_button(menu, "choose_issuer"), 10)
    assert "Payment approved" in (dm(slack, PAT, "INV-24-0104") or menu).text


async def test_once_paid_every_dm_about_the_approval_says_so_once(
    demo: Demo, browser: aiohttp.ClientSession
) -> None:
    slack = demo.slack[EMULATOR]
    await approved_by_fran(demo, "INV-24-0104")
    approved = await slack.wait_until(
        lambda: (m := dm(slack, PAT, "INV-24-0104")) and "Payment approved" in m.text and m, 10
    )
    channel = slack.workspace.dm_with(PAT).id
    await slack.click(PAT, approved, "pay_approved")
    menu = await slack.wait_until(
        lambda: next(
            (m for m in slack.ephemerals(PAT, channel) if has_button(m, "choose_method")), None
        ),
        10,
    )
    await slack.click(PAT, menu, "choose_method", selected="10")
    await slack.wait_until(lambda: has_button(menu, "choose_issuer"), 10)
    await slack.click(PAT, menu, "choose_issuer", selected="INGBNL2A")
    await slack.wait_until(lambda: has_button(menu, "get_link"), 10)
    await slack.click(PAT, menu, "get_link")
    await slack.wait_until(lambda: has_button(menu, "open_link"), 10)
    landed, _ = await pay_in_browser(browser, url_of(menu, "open_link"))
    assert "/landing/i3d" in landed

    await every_dm_says(slack, "INV-24-0104", "Invoice paid")
    for who in (PAT, FRAN, ALEX):
        message = dm(slack, who, "INV-24-0104")
        assert message is not None and f"Paid by <@{PAT}>" in everything_in(message)
        assert not any(block["type"] == "actions" for block in message.blocks), "no buttons"
    assert "You approved" in everything_in(dm(slack, FRAN, "INV-24-0104") or approved)
    await asyncio.sleep(1.5)  # the outbox and the approvals watcher go round again
    rewrites = [
        c for c in slack.calls_to("chat.update") if "Invoice paid" in str(c.args.get("text"))
    ]
    assert len(rewrites) == 3, "each DM is rewritten once"


async def test_a_rate_limit_before_the_settings_dialog_never_spends_its_trigger(
    demo: Demo,
) -> None:
    """Slack's trigger_id lasts 3 s: two 1-second rate limits on the call before
    views.open must not wait it out, so the admin gets the dialog or a clear word."""
    slack = demo.slack[EMULATOR]
    slack.faults.rate_limit("usergroups.list", times=2, retry_after=1)
    await slack.slash_command(ALEX, GENERAL, "settings")

    def answered() -> Any:
        said = [m for m in slack.ephemerals(ALEX, GENERAL) if m.text]
        return slack.modal(ALEX) or (said[-1] if said else None)

    shown = await slack.wait_until(answered, 10)
    await asyncio.sleep(0.5)
    opened = slack.calls_to("views.open")
    assert all(call.error != "expired_trigger_id" for call in opened)
    if slack.modal(ALEX) is None:
        assert "Slack" in shown.text and "Something went wrong" not in shown.text


async def test_the_digest_and_due_reminders_ask_for_approval_where_the_list_does(
    demo: Demo,
) -> None:
    """A payable over a bracket reads **Request approval** in the list; the digest and
    the payers' due-soon DMs offer the same, not a **Pay** that only leads to a request."""
    slack = demo.slack[EMULATOR]
    await slack.slash_command(PAT, GENERAL, "search INV-24-0105")
    listing = await slack.wait_until(
        lambda: next((m for m in slack.ephemerals(PAT, GENERAL) if "0105" in m.text), None)
    )
    assert "Request approval" in everything_in(listing)
    due = date.fromisoformat(everything_in(listing).split("due ")[1][:10])
    scheduler, svc = demo.bot[SCHEDULER], demo.bot[SERVICES]
    scheduler.clock = svc.clock = ManualClock(
        datetime.combine(due - timedelta(days=2), dtime(10), tzinfo=UTC)
    )
    scheduler.timetable = svc.settings.timetable.__class__.parse(
        zone="UTC", digest="daily 09:00", daily="09:00", due_reminder_days=3, auto_remind="off"
    )
    await scheduler.run_once()

    def labels(message: Message) -> dict[str, str]:
        return {
            number: block["accessory"]["text"]["text"]
            for block in message.blocks
            for number in ("INV-24-0105", "INV-24-0101")
            if block.get("accessory") and f"*{number}*" in block["text"]["text"]
        }

    digest = await slack.wait_until(
        lambda: next((m for m in slack.messages(BILLING) if "Invoice digest" in m.text), None)
    )
    assert labels(digest) == {"INV-24-0105": "Request approval", "INV-24-0101": "Pay"}
    reminder = await slack.wait_until(lambda: dm(slack, PAT, "INV-24-0105"))
    assert reminder.blocks[0]["accessory"]["text"]["text"] == "Request approval"


async def test_an_approver_reads_the_credit_note_that_makes_the_amount(demo: Demo) -> None:
    """INV-24-0104 is €1,452.00; the €1,427.80 asked for is after credit note CRN-24-0003.
    The approver checking the invoice reads how the amount is made, as the payer did."""
    slack = demo.slack[EMULATOR]
    await request_approval(slack, PAT, "INV-24-0104")
    for who in (FRAN, PAT):
        message = await slack.wait_until(lambda w=who: dm(slack, w, "INV-24-0104"), 10)
        said = everything_in(message)
        assert "€1,452.00 − credit CRN-24-0003 €24.20 = €1,427.80" in said, said
    root = await slack.wait_until(
        lambda: next((m for m in slack.messages(BILLING) if "INV-24-0104" in m.text), None), 10
    )
    assert "CRN-24-0003" in everything_in(root)


async def test_an_approval_that_runs_out_while_its_payment_is_under_way_says_so(
    demo: Demo, browser: aiohttp.ClientSession
) -> None:
    """A link got while the approval was good can still be paid after it runs out: the
    messages do not say nothing was paid through it, and say paid once it is."""
    slack = demo.slack[EMULATOR]
    await approved_by_fran(demo, "INV-24-0104")
    ready = await pay_menu(slack, PAT, "INV-24-0104")
    await slack.click(PAT, ready, "choose_method", selected="20")
    await slack.wait_until(lambda: has_button(ready, "get_link"), 10)
    await slack.click(PAT, ready, "get_link")
    await slack.wait_until(lambda: has_button(ready, "open_link"), 10)

    request = request_of(demo, "INV-24-0104")
    demo.bot[SERVICES].store.db.execute(
        "UPDATE approval_requests SET expires_at = ? WHERE id = ?", [time.time(), request.id]
    )
    fran = await slack.wait_until(
        lambda: (m := dm(slack, FRAN, "INV-24-0104")) and "Approval expired" in m.text and m, 10
    )
    assert "nothing was paid" not in everything_in(fran), everything_in(fran)
    assert "still under way" in everything_in(fran) and "if it goes through" in everything_in(fran)
    thread = await slack.wait_until(
        lambda: [m for m in slack.messages(BILLING) if "expired" in m.text], 10
    )
    assert "without a payment" not in thread[0].text and "under way" in thread[0].text

    await pay_in_browser(browser, url_of(ready, "open_link"))
    await every_dm_says(slack, "INV-24-0104", "Invoice paid")
