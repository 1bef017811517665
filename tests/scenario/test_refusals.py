"""Refusals: each gets a clear message and changes nothing."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from bot.plugins import make_plugin_manager
from bot.settings import Settings
from bot.slack.actions import TAMPERED
from bot.web import STORE, create_app
from plugins.i3d.sandbox import SANDBOX, generate_invoices
from tests.conftest import SIGNING_SECRET
from tests.fake_slack import FakeSlack
from tests.scenario.harness import Harness, Screen, find, text_of
from tests.scenario.test_paying import choose, get_link, open_menu
from tests.slack_requests import interaction_body, signed_headers, slash_command_body


def payments_recorded(h: Harness) -> int:
    return int(h.bot.app[STORE].db.execute("SELECT COUNT(*) FROM payments").fetchone()[0])


async def test_someone_who_may_not_pay_is_refused(harness: Harness) -> None:
    h = harness
    _, screen, _ = await h.command("", user="U0VIEWER")
    viewer_sees = await h.screen_after(screen)
    assert "INV-24-0101" in text_of(viewer_sees.message)
    # One bot token: the operator names the payers, and admins cannot (`/invoices people`
    # says so), so the refusal must not send the viewer to the admins alone.
    assert "Only people chosen as payers can pay" in text_of(viewer_sees.message)
    assert "whoever runs invoicebot for your team" in text_of(viewer_sees.message)
    for control in ("pay", "pay_selected", "copy_link", "send_email"):
        with pytest.raises(AssertionError):
            find(viewer_sees.message, control, lambda e: True)
    # A payer's list, forwarded or stale, still pays nothing for the viewer.
    _, screen, _ = await h.command("")
    screen = await h.screen_after(screen)
    key = await h.click(screen, "pay", user="U0VIEWER")
    refusal = await h.next_response(key)
    assert refusal.get("replace_original") is False
    assert text_of(refusal).startswith(
        "You are not allowed to pay invoices, so nothing was done. Only people chosen as "
        "payers can pay invoices; ask an admin, or whoever runs invoicebot for your team."
    )
    assert "INVOICEBOT_PAYERS" not in text_of(refusal)
    _, screen, _ = await h.command("pay INV-24-0101", user="U0VIEWER")
    assert "not allowed to pay" in text_of((await h.screen_after(screen)).message)
    assert payments_recorded(h) == 0
    actions = [e.action for e in h.bot.app[STORE].audit_log()]
    assert actions.count("refused.pay") == 2


async def test_a_payers_menu_and_send_by_e_mail_refuse_someone_who_may_not_pay(
    harness: Harness,
) -> None:
    """Neither control is shown to a viewer; a forwarded menu or a forged click still
    shows no ways to pay, no invoice and no customer's address."""
    h = harness
    menu = await open_menu(h)
    key = await h.click(menu, "choose_method", user="U0VIEWER", selected="10")
    refusal = await h.next_response(key)
    assert refusal.get("replace_original") is False
    assert "not allowed to pay" in text_of(refusal) and "Get payment link" not in str(refusal)
    label = {"type": "plain_text", "text": "Send by e-mail"}
    element = {"type": "button", "action_id": "send_email", "value": "payfirma|212949"}
    forged = Screen(
        {
            "blocks": [
                {"type": "actions", "block_id": "b", "elements": [{**element, "text": label}]}
            ]
        },
        "r0",
    )
    await h.click(forged, "send_email", user="U0VIEWER")
    (shown,) = await h.wait_for(lambda: h.slack.called("views.open"))
    assert "not allowed" in json.dumps(shown.args["view"]) and "submit" not in shown.args["view"]
    await asyncio.sleep(0.1)
    assert not h.slack.called("views.update"), "nothing is looked up for the viewer"
    actions = [e.action for e in h.bot.app[STORE].audit_log()]
    assert actions.count("refused.pay") == 2 and "payment.menu" in actions  # the payer's


async def test_a_payer_in_the_payers_user_group_may_pay(harness: Harness) -> None:
    h = harness
    h.slack.user_groups["S0PAYERS"] = ["U0GROUPIE"]  # not in INVOICEBOT_PAYERS, only the group
    _, screen, _ = await h.command("")
    screen = await h.screen_after(screen)
    key = await h.click(screen, "pay", user="U0GROUPIE", pick=lambda e: "|410001" in e["value"])
    assert "Total:" in text_of(await h.next_response(key))


async def test_a_non_admin_cannot_connect_a_provider(harness: Harness) -> None:
    h = harness
    _, screen, _ = await h.command("connect i3d", user="U0PAYER")
    refusal = await h.screen_after(screen)
    assert "Only invoicebot admins can connect providers" in text_of(refusal.message)
    assert h.slack.called("views.open") == []


async def test_tampered_button_values_are_refused(harness: Harness) -> None:
    h = harness
    menu = await open_menu(h)
    menu = await choose(h, menu, "choose_method", "10")
    menu = await choose(h, menu, "choose_issuer", "INGBNL2A")
    for forged, expected in [
        ("not|a|valid|value|at all", "not one invoicebot made"),
        ("i3d|410001|10|INGBNL2A|0.01EUR", "The amount changed from €0.01 to €96.80"),
        ("i3d|410003|10|INGBNL2A|48.40EUR", "already paid"),
        ("i3d|999999|10|INGBNL2A|1.00EUR", "not found"),
        ("i3d|410001|10||96.80EUR", "Choose your bank"),
        ("i3d|410001|30|INGBNL2A|96.80EUR", "PayPal takes no bank"),
        ("stripe|410001|10|INGBNL2A|96.80EUR", "no provider called"),
    ]:
        key = await h.click(menu, "get_link", value=forged)
        message = text_of(await h.next_response(key))
        assert expected.casefold() in message.casefold(), (forged, message)
    assert payments_recorded(h) == 0


@pytest.mark.parametrize("action_id", ["approval_settings_add", "approval_settings_remove"])
async def test_a_settings_dialog_button_sent_from_a_message_is_refused_in_words(
    harness: Harness, caplog: pytest.LogCaptureFixture, action_id: str
) -> None:
    """Only the settings dialog has these buttons: a click that names one from a message
    was an unexpected error, with its traceback in the log."""
    h = harness
    label = {"type": "plain_text", "text": "Add"}
    element = {"type": "button", "action_id": action_id, "value": "0", "text": label}
    forged = Screen({"blocks": [{"type": "actions", "block_id": "b", "elements": [element]}]}, "r0")
    key = await h.click(forged, action_id, user="U0ADMIN")
    assert TAMPERED in text_of(await h.next_response(key))
    assert not [r for r in caplog.records if r.levelno > logging.WARNING]
    assert not h.slack.called("views.update")


async def test_send_by_email_at_a_provider_that_cannot_is_refused_and_records_nothing(
    harness: Harness,
) -> None:
    """i3D.net e-mails no invoices: a Send by e-mail naming one opened a dialog with Send,
    whose submit recorded a failed e-mail to a supplier's customer."""
    h = harness
    label = {"type": "plain_text", "text": "Send by e-mail"}
    element = {"type": "button", "action_id": "send_email", "value": "i3d|410001", "text": label}
    forged = Screen({"blocks": [{"type": "actions", "block_id": "b", "elements": [element]}]}, "r0")
    await h.click(forged, "send_email")
    (shown,) = await h.wait_for(lambda: h.slack.called("views.update"))
    assert "i3D.net cannot send invoices by e-mail" in json.dumps(shown.args["view"])
    assert "submit" not in shown.args["view"]
    status, _ = await h.submit_email("U0PAYER", "i3d|410001|||121.00EUR")
    assert status == 200
    (said,) = await h.wait_for(lambda: h.slack.called("views.update")[1:])
    assert "i3D.net cannot send invoices by e-mail" in json.dumps(said.args["view"])
    assert payments_recorded(h) == 0


async def test_tampered_page_buttons_are_refused_and_change_nothing(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    i3d_sandbox.app[SANDBOX].add_invoices(generate_invoices(45, now=int(time.time())))
    _, screen, _ = await h.command("all")
    first = await h.screen_after(screen)
    _, real = find(first.message, "page_next", lambda e: True)
    forged_values = [
        "",
        "garbage",
        "1|all",  # a page number alone, as buttons used to carry
        "b1||all",
        real["value"].replace("|", "/", 1),
        real["value"][:-5],  # cut short: its lengths no longer add up
        real["value"] + "x" * 2000,
        "a1||pay INV-24-0101",  # well formed, but not a listing
    ]
    audit_before = len(h.bot.app[STORE].audit_log())
    keys = []
    for forged in forged_values:
        key = await h.click(first, "page_next", value=forged)
        refusal = await h.next_response(key)
        assert refusal.get("replace_original") is False, forged
        assert TAMPERED in text_of(refusal), forged
        keys.append(key)
    await asyncio.sleep(0.2)
    assert all(len(h.slack.responses[key]) == 1 for key in keys)
    assert len(h.slack.responses[screen.response_url_id]) == 1
    assert len(h.bot.app[STORE].audit_log()) == audit_before
    assert payments_recorded(h) == 0
    key = await h.click(first, "page_next")
    assert "Page 2 of 6" in text_of(await h.next_response(key))


async def test_another_workspace_cannot_reach_this_ones_invoices(harness: Harness) -> None:
    h = harness
    menu = await open_menu(h)
    payload_team = "T0OTHER"
    key, url = h.response_url()

    _, button = find(menu.message, "back_to_list", lambda e: True)
    body = {
        "type": "block_actions",
        "user": {"id": "U0PAYER", "team_id": payload_team},
        "team": {"id": payload_team},
        "channel": {"id": "C0GENERAL"},
        "trigger_id": "1.2.3",
        "response_url": url,
        "message": menu.message,
        "state": {"values": {}},
        "actions": [
            {"action_id": "pay", "block_id": "x", "type": "button", "value": button["value"]}
        ],
    }
    status, _, _ = await h.post(interaction_body(body))
    assert status == 200
    assert "i3D.net is not connected" in text_of(await h.next_response(key))
    assert payments_recorded(h) == 0


async def test_an_expired_link_says_so_and_changes_nothing(harness: Harness) -> None:
    h = harness
    _, pay_url = await get_link(h)
    h.bot.app[STORE].db.execute("UPDATE payments SET token_expires_at = 0")
    async with h.http.get(pay_url) as response:
        assert response.status == 410
        assert "expired" in await response.text()
    async with h.http.get(pay_url + "x") as response:
        assert response.status == 410
        assert "not valid" in await response.text()


async def test_a_forged_landing_posts_nothing(harness: Harness) -> None:
    h = harness
    landing = h.bot.make_url("/landing/i3d").with_query(
        {"status": "success", "transactionId": "tx-forged", "result": "paid"}
    )
    async with h.http.get(landing) as response:
        assert response.status == 400
        assert "could not tell which payment" in await response.text()
    _, pay_url = await get_link(h)
    async with h.http.get(pay_url) as response:
        assert response.status == 200  # the payer opened the link: the cookie is set
    async with h.http.get(landing) as response:
        page = await response.text()
    assert "Payment not confirmed yet" in page
    assert h.slack.posted_to("C0BILLING") == []


async def test_an_unknown_subcommand_gets_the_help(harness: Harness) -> None:
    h = harness
    ack, _, _ = await h.command("refund everything")
    said = text_of(ack)
    assert "I don't know `refund`" in said
    assert "/invoices pay INV-24-0101" in said
    assert ack.get("response_type") == "ephemeral"


async def test_with_one_bot_token_people_and_channel_stay_the_operators(harness: Harness) -> None:
    for text in ("billing", "people"):
        _, screen, _ = await harness.command(text, user="U0ADMIN")
        said = text_of((await harness.screen_after(screen)).message)
        assert "chosen by whoever runs invoicebot" in said
        if text == "billing":
            assert "announced in <#C0BILLING>" in said  # which channel, not just who
    assert harness.slack.called("views.open") == []
    assert (
        harness.bot.app[STORE].db.execute("SELECT COUNT(*) FROM team_settings").fetchone()[0] == 0
    )


async def test_a_bot_token_slack_refuses_is_said_plainly(
    settings: Settings, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """A revoked or mistyped SLACK_BOT_TOKEN: Bolt's own answer asks people to reinstall
    the app, which is not what is wrong. They read that nothing was done and what to tell
    whoever runs invoicebot."""
    revoked = settings.model_copy(update={"slack_bot_token": SecretStr("xoxb-revoked")})
    server = TestServer(
        create_app(revoked, make_plugin_manager(entry_point_plugins=False)), host="127.0.0.1"
    )
    await server.start_server()
    try:
        body = slash_command_body("status")
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                server.make_url("/slack/events"),
                data=body,
                headers=signed_headers(SIGNING_SECRET, body),
            ) as response,
        ):
            said = await response.text()
    finally:
        await server.close()
    assert "reinstall" not in said
    assert "nothing was done" in said and "SLACK_BOT_TOKEN" in said


@pytest.mark.parametrize("typed", ["connect stripe", "connect"])
async def test_a_provider_not_named_or_unknown_is_answered_with_the_installed_ones(
    harness: Harness, typed: str
) -> None:
    """A new admin does not know the providers' short names: the answer lists them."""
    h = harness
    ack, _, _ = await h.command(typed, user="U0ADMIN")
    assert isinstance(ack, dict)
    first = text_of(ack).split("invoicebot commands")[0]
    assert "`i3d`" in first, first


async def test_new_with_an_unknown_provider_says_none_here_creates_invoices(
    harness: Harness,
) -> None:
    """Only i3D.net is installed, and it cannot create invoices: naming it would not help."""
    ack, _, _ = await harness.command("new stripe", user="U0ADMIN")
    assert isinstance(ack, dict)
    first = text_of(ack).split("invoicebot commands")[0]
    assert "There is no provider called `stripe`." in first, first
    assert "None of the installed providers can create invoices." in first, first


async def test_a_payer_whose_user_group_slack_cannot_list_now_is_not_told_they_may_not_pay(
    harness: Harness,
) -> None:
    """Whether someone may pay through a user group is not known while Slack will not
    list the group (rate-limited, down): they are told to try again, not that they are
    not allowed, and nothing is started; once Slack lists the group, they pay."""
    h = harness
    h.slack.user_groups["S0PAYERS"] = ["U0OTHER"]
    h.slack.retry_after = "30"  # longer than a click can wait: the read fails for now
    h.slack.rate_limit_next["usergroups.users.list"] = 1
    _, screen, _ = await h.command("pay INV-24-0101", user="U0OTHER")
    told = text_of((await h.screen_after(screen)).message)
    assert "not allowed" not in told
    assert "try again" in told.lower() and "user group" in told
    assert payments_recorded(h) == 0
    _, screen, _ = await h.command("pay INV-24-0101", user="U0OTHER")
    assert text_of((await h.screen_after(screen)).message).startswith("Pay INV-24-0101: €96.80")


async def test_a_list_does_not_tell_a_payer_whose_group_slack_cannot_list_now_that_they_are_not_one(
    harness: Harness,
) -> None:
    h = harness
    h.slack.user_groups["S0PAYERS"] = ["U0OTHER"]
    h.slack.retry_after = "30"  # longer than a command can wait: the read fails for now
    h.slack.rate_limit_next["usergroups.users.list"] = 1
    _, screen, _ = await h.command("", user="U0OTHER")
    listed = (await h.screen_after(screen)).message
    assert "INV-24-0101" in text_of(listed)
    assert "Only people chosen as payers" not in text_of(listed)
    assert "Try again in a minute" in text_of(listed)
    with pytest.raises(AssertionError):
        find(listed, "pay", lambda e: True)
    _, screen, _ = await h.command("", user="U0OTHER")
    find((await h.screen_after(screen)).message, "pay", lambda e: True)


async def test_app_home_does_not_tell_a_payer_whose_group_cannot_be_listed_now_they_are_not_one(
    harness: Harness,
) -> None:
    h = harness
    h.slack.user_groups["S0PAYERS"] = ["U0OTHER"]
    h.slack.retry_after = "30"  # longer than Home waits: the read fails for now
    h.slack.rate_limit_next["usergroups.users.list"] = 1
    home = {
        "type": "event_callback",
        "team_id": "T0TEAM",
        "event": {"type": "app_home_opened", "user": "U0OTHER", "tab": "home"},
        "event_id": "Ev1",
    }
    await h.post(json.dumps(home))
    published = await h.wait_for(lambda: h.slack.called("views.publish"))
    shown = json.dumps(published[-1].args["view"])
    assert "INV-24-0087" in shown
    assert "Only people chosen as payers" not in shown and "Try again in a minute" in shown
