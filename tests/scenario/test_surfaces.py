"""The other things a person does: status, pay by number, connect, App Home, paging."""

from __future__ import annotations

import asyncio
import time

from aiohttp.test_utils import TestServer

from bot.web import SERVICES, STORE
from plugins.i3d.sandbox import SANDBOX, generate_invoices
from plugins.i3d.sandbox.samples import invoice
from tests.postgres import stored_bytes
from tests.scenario.conftest import I3D_TOKEN, free_port
from tests.scenario.harness import TEAM, Harness, Screen, find, text_of
from tests.slack_requests import interaction_body


async def test_the_ack_is_immediate_even_when_the_provider_is_slow(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    await h.command("help")  # the bot's first request (Bolt asks Slack who it is): not timed
    i3d_sandbox.app[SANDBOX].latency = 2.5
    ack, screen, elapsed = await h.command("")
    assert elapsed < 0.1, f"acked after {elapsed * 1000:.0f} ms"
    assert ack == "", "an ack with a message would stay above the answer in Slack"
    listing = await h.screen_after(screen)
    assert "INV-24-0101" in text_of(listing.message)


async def test_a_failing_provider_says_what_went_wrong(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    i3d_sandbox.app[SANDBOX].inject("error", count=10)
    _, screen, _ = await h.command("")
    said = text_of((await h.screen_after(screen)).message)
    assert ":warning: *i3D.net*" in said
    assert "Pay" not in said


async def test_pay_by_number_while_the_provider_is_down_says_so_not_missing(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    i3d_sandbox.app[SANDBOX].inject("error", count=10)
    _, screen, _ = await h.command("pay INV-24-0101")
    said = text_of((await h.screen_after(screen)).message)
    assert "Could not look for “INV-24-0101” at i3D.net" in said
    assert "No invoice numbered" not in said


async def test_history_tells_a_pay_menu_opened_before_any_payment(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """Whoever opened the ways to pay an invoice (Pay in the list, pay by number, or
    several ticked together) asked to pay it, though no payment was started."""
    h = harness
    _, screen, _ = await h.command("")
    screen = await h.screen_after(screen)
    key = await h.click(screen, "pay", pick=lambda e: "|410001" in e["value"])
    assert "Choose how to pay" in str(await h.next_response(key))
    _, typed, _ = await h.command("pay INV-24-0102", user="U0ADMIN")
    assert "Choose how to pay" in str((await h.screen_after(typed)).message)

    async def history(number: str) -> str:
        _, story, _ = await h.command(f"history {number}")
        return text_of((await h.screen_after(story)).message)

    said = await history("INV-24-0101")
    assert "<@U0PAYER> asked for the ways to pay it" in said, said
    assert "nobody has asked to pay it" not in said
    said = await history("inv-24-0102")  # as typed
    assert said.count("<@U0ADMIN> asked for the ways to pay it") == 1, said
    block, _ = find(screen.message, "select_invoices", lambda e: True)
    options = block["elements"][0]["options"]
    ticked = [o for o in options if o["text"]["text"].startswith(("INV-24-0087", "INV-24-0101"))]
    assert len(ticked) == 2
    state = {
        block["block_id"]: {"select_invoices": {"type": "checkboxes", "selected_options": ticked}}
    }
    key = await h.click(screen, "pay_selected", block_id=block["block_id"], state=state)
    assert "Choose how to pay" in str(await h.next_response(key))
    said = await history("INV-24-0087")
    assert "<@U0PAYER> asked for the ways to pay it" in said, said


async def test_history_of_an_untouched_invoice_tells_it_from_a_mistyped_number(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness

    async def history(number: str) -> str:
        _, screen, _ = await h.command(f"history {number}")
        return text_of((await h.screen_after(screen)).message)

    said = await history("INV-24-0101")
    assert "i3D.net has invoice INV-24-0101 (open, €" in said and "to pay, due " in said
    assert "nobody has asked to pay it" in said
    assert "i3D.net has invoice INV-24-0101" in await history("inv-24-0101")  # as typed
    assert "(paid)" in await history("INV-24-0055")
    said = await history("crn-24-0003")  # an untouched credit note, as typed
    assert said.startswith("The story of credit note CRN-24-0003")
    assert "i3D.net has credit note CRN-24-0003 (−€24.20, open). No payment through" in said
    said = await history("NOPE-1")
    assert "No invoice numbered “NOPE-1” at i3D.net" in said and "check the number" in said
    _, screen, _ = await h.command("history <@U0CFO>")  # a mention pasted as a number
    story = (await h.screen_after(screen)).message
    assert story["blocks"][0]["text"]["text"] == "Invoice <@U0CFO>"  # plain_text: as typed
    assert (
        "<@" not in text_of({"blocks": story["blocks"][1:]}) and "&lt;@U0CFO&gt;" in story["text"]
    )
    i3d_sandbox.app[SANDBOX].inject("error", count=10)
    said = await history("NOPE-2")
    assert "no record of invoice NOPE-2" in said and "i3D.net has it could not be checked" in said
    assert "check the number" not in said


async def test_status_says_which_providers_answer(harness: Harness) -> None:
    h = harness
    _, screen, _ = await h.command("status")
    said = text_of((await h.screen_after(screen)).message)
    assert "*i3D.net*: connected, answered in" in said


async def test_status_names_a_failing_provider_once(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """Its error already starts with its name: "*i3D.net*: i3D.net had…" says it twice."""
    h = harness
    i3d_sandbox.app[SANDBOX].inject("error", count=10)
    _, screen, _ = await h.command("status")
    said = text_of((await h.screen_after(screen)).message)
    assert ":warning: *i3D.net* had a server error" in said, said


async def test_pay_by_invoice_number_goes_straight_to_the_menu(harness: Harness) -> None:
    h = harness
    _, screen, _ = await h.command("pay INV-24-0087")
    menu = await h.screen_after(screen)
    assert "Pay INV-24-0087" in text_of(menu.message)
    find(menu.message, "choose_method", lambda e: True)
    _, screen, _ = await h.command("pay inv-24-0087")  # as people type it
    assert "Pay INV-24-0087" in text_of((await h.screen_after(screen)).message)
    _, screen, _ = await h.command("pay INV-24-0055")
    assert "cannot be paid: it is paid" in text_of((await h.screen_after(screen)).message)
    _, screen, _ = await h.command("pay NOPE-1")
    assert "No invoice numbered “NOPE-1” at i3D.net" in text_of(
        (await h.screen_after(screen)).message
    )


async def test_filters_and_search(harness: Harness) -> None:
    h = harness
    for text, present, absent in [
        ("paid", "INV-24-0055", "INV-24-0101"),
        ("overdue", "INV-24-0087", "INV-24-0101"),
        ("all", "INV-24-0055", "nothing-absent"),
        ("search fleet", "INV-24-0102", "INV-24-0101"),
    ]:
        _, screen, _ = await h.command(text)
        said = text_of((await h.screen_after(screen)).message)
        assert present in said and absent not in said, (text, said)


async def test_a_search_typed_in_quotes_finds_what_it_quotes(harness: Harness) -> None:
    """Slack sends quotes as typed: `search "fleet"` looked for the quotes too, and found
    nothing."""
    h = harness
    for typed, text in [
        ('search "fleet"', "fleet"),
        ("search “Game server fleet”", "Game server fleet"),
        ("search ‘us-east’", "us-east"),
    ]:
        _, screen, _ = await h.command(typed)
        said = text_of((await h.screen_after(screen)).message)
        assert "INV-24-0102" in said and "INV-24-0101" not in said, (typed, said)
        assert f"Invoices matching “{text}”" in said
    _, screen, _ = await h.command("search “server Game fleet”")  # a phrase, in its order
    said = text_of((await h.screen_after(screen)).message)
    assert "INV-24-0102" not in said and "0 invoices" in said


async def test_a_list_of_paid_invoices_says_nothing_of_open_ones(harness: Harness) -> None:
    h = harness
    _, screen, _ = await h.command("paid")
    said = text_of((await h.screen_after(screen)).message)
    assert "Paid invoices: 1 invoice · from i3D.net" in said and "open" not in said
    _, screen, _ = await h.command("search nothing-like-it")
    said = text_of((await h.screen_after(screen)).message)
    assert "0 invoices · from i3D.net" in said and "nothing open" not in said


async def test_long_lists_page_within_slacks_limits(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    i3d_sandbox.app[SANDBOX].add_invoices(generate_invoices(45, now=int(time.time())))
    _, screen, _ = await h.command("all")
    first = await h.screen_after(screen)
    assert len(first.message["blocks"]) <= 50
    assert "Page 1 of 6" in text_of(first.message)
    key = await h.click(first, "page_next")
    second = await h.next_response(key)
    assert "Page 2 of 6" in text_of(second)
    assert text_of(second) != text_of(first.message)
    key = await h.click(Screen(second, key), "page_previous")
    assert "Page 1 of 6" in text_of(await h.next_response(key))
    assert h.slack.refused == []


async def test_provider_text_cannot_inject_markup(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    now = int(time.time())
    evil = invoice(
        "666",
        "INV-<!channel>",
        "<http://evil.example|Click> *now* & pay",
        100,
        100,
        created=now,
        due=now + 86400,
    )
    i3d_sandbox.app[SANDBOX].add_invoices([evil])
    _, screen, _ = await h.command("search Click")
    said = text_of((await h.screen_after(screen)).message)
    assert "INV-&lt;!channel&gt;" in said
    assert "&lt;http://evil.example|Click&gt; *now* &amp; pay" in said
    assert "<!channel>" not in said and "<http://evil" not in said


async def test_a_command_is_read_as_typed_though_slack_escapes_its_text(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """Slack sends `&`, `<` and `>` in a command's text as `&amp;`, `&lt;` and `&gt;`: a
    search for "R&D" found nothing and showed "R&amp;D" back to the person."""
    h = harness
    now = int(time.time())
    typed = invoice("668", "INV-26-0001", "R&D <beta> hours", 100, 100, created=now,
                    due=now + 86400)  # fmt: skip
    i3d_sandbox.app[SANDBOX].add_invoices([typed])
    _, screen, _ = await h.command("search R&amp;D &lt;beta&gt;")  # "R&D <beta>" as sent
    said = text_of((await h.screen_after(screen)).message)
    assert "INV-26-0001" in said and "R&amp;D &lt;beta&gt; hours" in said
    assert "Invoices matching “R&D <beta>”" in said  # the header is plain text
    ack, _, _ = await h.command("frob&amp;nicate")
    assert "I don't know `frob&amp;nicate`" in text_of(ack if isinstance(ack, dict) else {})
    assert "&amp;amp;" not in said + str(ack)


async def test_a_long_description_never_hides_an_invoices_amount_or_due_date(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """A section holds 3,000 characters and the amount and due date come after the
    description: a long one (escaping makes each & five characters) cut them off, and
    people saw Pay beside an invoice with no amount."""
    h = harness
    now = int(time.time())
    due = time.strftime("%Y-%m-%d", time.gmtime(now + 86400))
    long = invoice("667", "INV-" + "9" * 400, "R&D hours " * 500, 12100, 10000, created=now,
                   due=now + 86400)  # fmt: skip
    i3d_sandbox.app[SANDBOX].add_invoices([long])
    _, screen, _ = await h.command("search R&D")
    listed = await h.screen_after(screen)
    (line,) = [b["text"]["text"] for b in listed.message["blocks"] if "R&amp;D" in str(b)]
    assert line.endswith(f"…\n*€121.00* · due {due}")
    key = await h.click(listed, "pay", pick=lambda e: "|667" in e["value"])
    menu = await h.next_response(key)
    (line,) = [b["text"]["text"] for b in menu["blocks"] if "R&amp;D" in str(b)]
    assert line.endswith(f"…\n€121.00 · due {due}")
    assert h.slack.refused == []


async def test_an_admin_connects_a_provider_through_a_modal(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    store = h.bot.app[STORE]
    h.bot.app[SERVICES].connections.disconnect(TEAM, "i3d")
    await h.command("connect i3d", user="U0ADMIN")
    (opened,) = await h.wait_for(lambda: h.slack.called("views.open"))
    view = opened.args["view"]
    assert view["title"]["text"] == "Connect i3D.net"
    fields = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert fields == ["api_key", "base_url"]

    async def submit(api_key: str, base_url: str | None = None) -> dict[str, object] | str:
        values = {
            "api_key": {"value": {"type": "plain_text_input", "value": api_key}},
            "base_url": {
                "value": {
                    "type": "plain_text_input",
                    "value": base_url or str(i3d_sandbox.make_url("")).rstrip("/"),
                }
            },
        }
        payload = {
            "type": "view_submission",
            "trigger_id": "1.2.3",
            "team": {"id": TEAM},
            "user": {"id": "U0ADMIN", "team_id": TEAM},
            "view": {**view, "id": h.slack.top("U0ADMIN")["id"], "state": {"values": values}},
        }
        status, ack, _ = await h.post(interaction_body(payload))
        assert status == 200
        return ack

    ack = await submit("wrong-key")
    assert isinstance(ack, dict) and ack["response_action"] == "update"
    (failed,) = await h.wait_for(lambda: h.slack.called("views.update"))
    assert "i3D.net did not accept these details:" in str(failed.args["view"])
    assert store.connected_providers(TEAM) == []

    await submit(I3D_TOKEN, base_url=f"http://127.0.0.1:{free_port()}")
    unreachable = (
        await h.wait_for(
            lambda: len(h.slack.called("views.update")) == 2 and h.slack.called("views.update")
        )
    )[1]
    problem = unreachable.args["view"]["blocks"][0]["text"]["text"]
    assert problem.startswith(
        ":warning: i3D.net is not connected yet. Could not reach i3D.net: nothing answered there"
    )
    assert "127.0.0.1" not in problem, "the address is for the log, not for people"
    assert "refused" not in problem and "Error" not in problem and "(" not in problem

    await submit(I3D_TOKEN)
    updates = await h.wait_for(
        lambda: len(h.slack.called("views.update")) == 3 and h.slack.called("views.update")
    )
    assert "is connected" in str(updates[2].args["view"])
    assert store.connected_providers(TEAM) == ["i3d"]
    assert I3D_TOKEN.encode() not in stored_bytes(store)
    assert [e.action for e in store.audit_log()][:2] == [
        "provider.connected",
        "provider.connect_failed",
    ]
    await submit(I3D_TOKEN, base_url=f"http://127.0.0.1:{free_port()}")  # while connected
    updates = await h.wait_for(
        lambda: len(h.slack.called("views.update")) == 4 and h.slack.called("views.update")
    )
    problem = updates[3].args["view"]["blocks"][0]["text"]["text"]
    assert "These details were not saved. Could not reach" in problem
    assert "connection saved before stays as it was" in problem and "not connected" not in problem
    assert store.connected_providers(TEAM) == ["i3d"]


async def test_app_home_shows_open_invoices_and_recent_payments(harness: Harness) -> None:
    h = harness
    from tests.scenario.test_paying import get_link

    await get_link(h)
    body = {
        "type": "event_callback",
        "team_id": TEAM,
        "api_app_id": "A0INVOICEBOT",
        "event": {
            "type": "app_home_opened",
            "user": "U0PAYER",
            "channel": "D0PAYER",
            "tab": "home",
        },
        "event_id": "Ev1",
        "event_time": int(time.time()),
    }
    import json

    status, _, _ = await h.post(json.dumps(body))
    assert status == 200
    first, published = await h.wait_for(
        lambda: len(h.slack.called("views.publish")) == 2 and h.slack.called("views.publish")
    )
    assert "Asking" in str(first.args["view"])  # published before any provider answered
    view = published.args["view"]
    said = str(view)
    assert published.args["user_id"] == "U0PAYER"
    assert "INV-24-0087" in said and "Waiting for payment" in said
    assert "INV-24-0101* · €96.80 · iDEAL · link out, page not opened" in said


async def test_an_event_slack_delivers_again_is_handled_once(harness: Harness) -> None:
    """Slack repeats a delivery whose answer was slow, with the same event id: the
    database remembers the id, so Home is built once."""
    import json

    h = harness
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": TEAM,
            "api_app_id": "A0INVOICEBOT",
            "event": {"type": "app_home_opened", "user": "U0PAYER", "channel": "D0", "tab": "home"},
            "event_id": "Ev0AGAIN",
            "event_time": int(time.time()),
        }
    )
    assert (await h.post(body))[0] == 200
    await h.wait_for(lambda: len(h.slack.called("views.publish")) == 2)
    assert (await h.post(body))[0] == 200
    await asyncio.sleep(0.3)
    assert len(h.slack.called("views.publish")) == 2


async def test_help_lists_only_what_this_install_lets_people_do(harness: Harness) -> None:
    """With one bot token the operator sets #billing and who may pay: help leaves those
    commands out rather than list what only says 'ask whoever runs invoicebot'. Nor does
    it offer `new` where no installed provider can create invoices, nor `drafts` where
    none keeps them (i3D.net, the one installed here, does not); its examples name it."""
    ack, _, _ = await harness.command("help")
    said = text_of(ack) if isinstance(ack, dict) else ack
    assert "/invoices settings" in said and "/invoices new" not in said
    assert "/invoices drafts" not in said
    assert "`/invoices connect i3d`" in said
    assert "/invoices billing" not in said and "/invoices people" not in said
    ack, _, _ = await harness.command("new")
    said = text_of(ack) if isinstance(ack, dict) else ack
    assert "None of the installed providers can create invoices" in said  # i3D.net cannot


async def test_too_many_long_ids_to_pay_together_are_refused_below_the_list(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """The pay menu keeps its invoices in a block id of at most 255 characters: ticking
    more long ids than fit is refused, and nothing is started. That is known once the
    provider named its ways to pay, after "Asking…" replaced the list: the refusal takes
    the note's place, with a way back to the list."""
    h = harness
    now = int(time.time())
    batch = [
        invoice(
            f"inv-2026-{i:021d}",
            f"BATCH-{i}",
            "Batch hosting",
            1000,
            826,
            created=now,
            due=now + 86400,
        )
        for i in range(8)
    ]
    i3d_sandbox.app[SANDBOX].add_invoices(batch)
    _, screen, _ = await h.command("search Batch hosting")
    screen = await h.screen_after(screen)
    block, _ = find(screen.message, "select_invoices", lambda e: True)
    ticked = block["elements"][0]["options"]
    assert len(ticked) == 8
    state = {
        block["block_id"]: {"select_invoices": {"type": "checkboxes", "selected_options": ticked}}
    }
    key = await h.click(screen, "pay_selected", block_id=block["block_id"], state=state)
    answer = await h.next_response(key)
    assert answer["replace_original"] is True, "not Asking… for good in place of the list"
    assert "back_to_list" in str(answer)
    assert "pick at most 6 of them" in text_of(answer)
    assert h.slack.refused == []
    assert not [seen for seen in i3d_sandbox.app[SANDBOX].requests if "register" in seen.path]


async def test_drafts_where_no_connected_provider_keeps_any_says_so(harness: Harness) -> None:
    """i3D.net keeps no drafts: asked for drafts with only it connected, the answer says no
    connected provider keeps drafts, not that i3D.net answered with none."""
    for typed, plainly in (
        ("drafts", "No connected provider keeps draft invoices."),
        ("drafts i3d", "*i3D.net* keeps no draft invoices."),
    ):
        _, screen, _ = await harness.command(typed)
        said = text_of((await harness.screen_after(screen)).message)
        assert set(said.splitlines()) == {plainly}, typed
