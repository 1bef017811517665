"""App Home in the demo: what the team owes and is owed, what needs paying now, with
buttons for people allowed to pay, and answers to those buttons in their messages."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.demo import Demo
from bot.slack import values
from slack_emulator import EMULATOR, Emulator
from slack_emulator.modals import OpenView


def buttons(view: OpenView, action_id: str) -> list[dict[str, Any]]:
    return [
        element
        for block in view.blocks
        for element in [*block.get("elements", []), block.get("accessory") or {}]
        if element.get("action_id") == action_id
    ]


async def home_of(slack: Emulator, user: str) -> OpenView:
    await slack.open_home(user)

    def finished() -> OpenView | None:
        home = slack.home(user)
        return home if home and "Overdue" in str(home.blocks) else None

    return await slack.wait_until(finished, 15)


async def test_home_totals_both_directions_and_lists_what_is_due(demo: Demo) -> None:
    slack = demo.slack[EMULATOR]
    home = await home_of(slack, "U0PAYER")
    said = str(home.blocks)
    to_pay, to_collect = (
        next(f["text"] for b in home.blocks for f in b.get("fields", []) if label in f["text"])
        for label in ("*To pay*", "*To collect*")
    )
    assert "€" in to_pay and "CA$" not in to_pay
    assert "CA$" in to_collect and "€" not in to_collect
    assert "Due this week" in said and "Recent settlements" in said
    assert "Asking" not in said
    assert len(home.blocks) <= 100
    pay = buttons(home, values.PAY)
    assert pay, said
    assert all(values.PayTarget.decode(b["value"]).provider != "payfirma" for b in pay)
    copy = buttons(home, values.COPY_LINK)
    assert copy and all(values.PayTarget.decode(b["value"]).provider == "payfirma" for b in copy)


async def test_people_not_allowed_to_pay_see_no_buttons(demo: Demo) -> None:
    slack = demo.slack[EMULATOR]
    home = await home_of(slack, "U0VIEWER")
    assert "Overdue" in str(home.blocks)
    assert not buttons(home, values.PAY) and not buttons(home, values.COPY_LINK)


async def test_pay_in_home_opens_the_payment_menu_in_messages(demo: Demo) -> None:
    slack = demo.slack[EMULATOR]
    home = await home_of(slack, "U0PAYER")
    pay = buttons(home, values.PAY)[0]
    await slack.click("U0PAYER", home, values.PAY, value=pay["value"])
    dm = slack.workspace.dm_with("U0PAYER").id

    def menu() -> Any:
        shown = slack.messages(dm)
        return next((m for m in shown if values.CHOOSE_METHOD in str(m.blocks)), None)

    await slack.wait_until(menu, 15)


async def test_a_home_event_slack_sends_again_builds_home_once(demo: Demo) -> None:
    """Slack sends app_home_opened again when the answer came after 3 s, while the first
    delivery may still be at work: the tab is published as for one opening."""
    slack = demo.slack[EMULATOR]
    slack.events.late_answers = 1
    await home_of(slack, "U0PAYER")
    first, retry = slack.events.log
    assert (retry.event_id, retry.retry_num) == (first.event_id, 1)
    assert retry.reply.status == 200
    await asyncio.sleep(0.5)
    published = [c for c in slack.calls_to("views.publish") if c.args["user_id"] == "U0PAYER"]
    assert len(published) == 2  # "Asking…", then the finished tab
