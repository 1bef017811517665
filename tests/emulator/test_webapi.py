"""The Web API answers slack_sdk's AsyncWebClient as Slack does, refusals included."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Awaitable

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import Channel, UserActionError, Workspace, create_app
from tests.emulator.conftest import BOT_TOKEN, Running

NO_TEXT_WARNING = "ignore:The top-level `text` argument is missing"
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*INV-1* 10.00 EUR"}}


async def refused(call: Awaitable[object]) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


async def error_of(call: Awaitable[object]) -> str:
    return str((await refused(call)).response["error"])


async def test_auth(running: Running) -> None:
    identity = await running.web_client().auth_test()
    assert identity["team_id"] == "T0TEAM" and identity["user_id"] == "U0BOT"
    assert identity["bot_id"] == "B0BOT"
    error = await refused(running.web_client("xoxb-wrong").auth_test())
    assert error.response.status_code == 200
    assert error.response["error"] == "invalid_auth"
    async with aiohttp.ClientSession() as session:
        async with session.post(running.api_url + "chat.postMessage", json={"text": "x"}) as answer:
            assert answer.status == 200
            assert await answer.json() == {"ok": False, "error": "not_authed"}
        async with session.post(
            running.api_url + "auth.test", data={"token": BOT_TOKEN}
        ) as answer:  # a token in the form works as well
            assert (await answer.json())["ok"] is True
    assert [c.error for c in running.emulator.calls] == [None, "invalid_auth", "not_authed", None]


async def test_post_message_lands_in_the_channel(running: Running) -> None:
    client = running.web_client()
    posted = await client.chat_postMessage(channel="C0BILLING", text="INV-1 paid", blocks=[SECTION])
    (message,) = running.emulator.messages("C0BILLING")
    assert posted["ts"] == message.ts and posted["channel"] == "C0BILLING"
    assert message.text == "INV-1 paid" and message.user == "U0BOT"
    assert message.blocks[0]["block_id"]  # Slack fills in block ids
    second = await client.chat_postMessage(channel="#billing", text="again")
    assert float(second["ts"]) > float(posted["ts"])
    call = running.emulator.calls_to("chat.postMessage")[0]
    assert call.ok and call.args["channel"] == "C0BILLING" and call.warnings == []


async def test_a_form_encoded_post_with_blocks_as_json_string_works(running: Running) -> None:
    async with aiohttp.ClientSession() as session:
        form = {
            "token": BOT_TOKEN,
            "channel": "C0GENERAL",
            "text": "t",
            "blocks": json.dumps([SECTION]),
        }
        async with session.post(running.api_url + "chat.postMessage", data=form) as answer:
            assert (await answer.json())["ok"] is True
    assert running.emulator.messages("C0GENERAL")[0].blocks[0]["type"] == "section"


async def test_invalid_blocks_are_refused_and_not_stored(running: Running) -> None:
    client = running.web_client()
    too_long = {
        "type": "actions",
        "elements": [{"type": "button", "text": {"type": "plain_text", "text": "x" * 76}}],
    }
    for blocks in ([too_long], [{"type": "divider"}] * 51, [{"type": "nope"}]):
        error = await refused(client.chat_postMessage(channel="C0BILLING", text="x", blocks=blocks))
        assert error.response["error"] == "invalid_blocks"
        assert error.response["errors"] and "[json-pointer:/blocks" in error.response["errors"][0]
    assert running.emulator.messages("C0BILLING") == []


async def test_mrkdwn_where_slack_wants_plain_text_is_refused(running: Running) -> None:
    """A mrkdwn header or modal title comes back `invalid_blocks` / `invalid_arguments`
    over the wire, with nothing posted or opened (Slack's header and view references say
    plain_text only; reference/slack.md is silent on text kinds)."""
    client = running.web_client()
    header = {"type": "header", "text": {"type": "mrkdwn", "text": "*Open*"}}
    error = await refused(client.chat_postMessage(channel="C0BILLING", text="x", blocks=[header]))
    assert error.response["error"] == "invalid_blocks"
    assert "`text.type`" in error.response["errors"][0]
    assert running.emulator.messages("C0BILLING") == []
    trigger = running.emulator.surfaces.issue_trigger("U0PAYER")
    titled = {**MODAL, "title": {"type": "mrkdwn", "text": "*Pay*"}}
    assert await error_of(client.views_open(trigger_id=trigger, view=titled)) == (
        "invalid_arguments"
    )


@pytest.mark.filterwarnings(NO_TEXT_WARNING)
async def test_message_refusals(running: Running) -> None:
    client = running.web_client()
    cases = [
        (client.chat_postMessage(channel="C0BILLING"), "no_text"),
        (client.chat_postMessage(channel="C0BILLING", text="x" * 40_001), "msg_too_long"),
        (client.chat_postMessage(channel="C0NOPE", text="x"), "channel_not_found"),
        (
            client.chat_postEphemeral(channel="C0BILLING", user="U0VIEWER", text="x"),
            "user_not_in_channel",
        ),
        (
            client.chat_postEphemeral(channel="C0BILLING", user="U0NOBODY", text="x"),
            "user_not_found",
        ),
        (client.chat_update(channel="C0BILLING", ts="1.000001", text="x"), "message_not_found"),
        (client.chat_delete(channel="C0BILLING", ts="1.000001"), "message_not_found"),
        (client.api_call("chat.teleport"), "unknown_method"),
    ]
    for call, expected in cases:
        assert await error_of(call) == expected


@pytest.mark.parametrize("public_scope", [False, True], ids=["chat:write", "chat:write.public"])
async def test_the_bot_must_be_in_the_channel(public_scope: bool) -> None:
    """Unless the token has chat:write.public: then Slack posts to a public channel the
    bot is not in (without joining it), never to a private one or someone else's DM."""
    workspace = Workspace(
        channels=[
            Channel("C0QUIET", "quiet", ["U0ADMIN"]),
            Channel("G0SECRET", "secret", ["U0ADMIN"], is_private=True),
        ]
    )
    scopes = ["chat:write", "im:write", *(["chat:write.public"] if public_scope else [])]
    app = create_app(
        request_url="http://127.0.0.1:9/",
        signing_secret="s",
        bot_token=BOT_TOKEN,
        workspace=workspace,
        bot_scopes=scopes,
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=str(server.make_url("/api/")))
        if public_scope:
            assert (await client.chat_postMessage(channel="C0QUIET", text="hi"))["ok"]
            assert "U0BOT" not in workspace.channels["C0QUIET"].members
        else:
            error = await refused(client.chat_postMessage(channel="C0QUIET", text="hi"))
            assert error.response["error"] == "not_in_channel"
        # As Slack: a private channel the bot was not invited to is one it cannot see.
        error = await refused(client.chat_postMessage(channel="G0SECRET", text="hi"))
        assert error.response["error"] == "channel_not_found"
        assert workspace.messages["G0SECRET"] == []
        dm = await client.conversations_open(users="U0ADMIN")
        assert (await client.chat_postMessage(channel=dm["channel"]["id"], text="hi"))["ok"]
    finally:
        await server.close()


async def test_nothing_is_posted_in_an_archived_channel(running: Running) -> None:
    billing = running.emulator.workspace.channels["C0BILLING"]
    billing.is_archived = True
    client = running.web_client()
    assert (
        await error_of(client.chat_postMessage(channel="C0BILLING", text="paid")) == "is_archived"
    )
    assert running.emulator.messages("C0BILLING") == []
    info = await client.conversations_info(channel="C0BILLING")
    assert info["channel"]["is_archived"] is True
    with pytest.raises(UserActionError, match="archived"):
        await running.emulator.slash_command("U0PAYER", "C0BILLING", "list")


async def test_update_and_delete_only_the_bots_own_messages(running: Running) -> None:
    client = running.web_client()
    posted = await client.chat_postMessage(channel="C0BILLING", text="INV-1 open", blocks=[SECTION])
    updated = await client.chat_update(channel="C0BILLING", ts=posted["ts"], text="INV-1 paid")
    (message,) = running.emulator.messages("C0BILLING")
    assert updated["ts"] == posted["ts"] and message.text == "INV-1 paid"
    assert message.blocks[0]["text"]["text"] == "*INV-1* 10.00 EUR"  # omitted blocks are kept
    await client.chat_update(channel="C0BILLING", ts=posted["ts"], text="cleared", blocks=[])
    assert message.blocks == []
    theirs = running.emulator.workspace.post("C0BILLING", "mine", [], user="U0ADMIN")
    update = client.chat_update(channel="C0BILLING", ts=theirs.ts, text="x")
    assert await error_of(update) == "cant_update_message"
    delete = client.chat_delete(channel="C0BILLING", ts=theirs.ts)
    assert await error_of(delete) == "cant_delete_message"
    await client.chat_delete(channel="C0BILLING", ts=posted["ts"])
    assert running.emulator.messages("C0BILLING") == [theirs]


async def test_a_direct_message_is_updated_by_its_d_id_not_the_users(running: Running) -> None:
    """chat.postMessage takes a user id for the DM; chat.update and chat.delete want the
    conversation's D… id (Slack's chat.update reference says so)."""
    client = running.web_client()
    posted = await client.chat_postMessage(channel="U0PAYER", text="Your link")
    assert str(posted["channel"]).startswith("D")
    by_user = client.chat_update(channel="U0PAYER", ts=posted["ts"], text="Paid")
    assert await error_of(by_user) == "channel_not_found"
    assert await error_of(client.chat_delete(channel="U0PAYER", ts=posted["ts"])) == (
        "channel_not_found"
    )
    await client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Paid")


async def test_ephemerals_cannot_be_updated_by_chat_update(running: Running) -> None:
    client = running.web_client()
    sent = await client.chat_postEphemeral(channel="C0GENERAL", user="U0PAYER", text="only you")
    (ephemeral,) = running.emulator.ephemerals("U0PAYER", "C0GENERAL")
    assert ephemeral.ts == sent["message_ts"] and ephemeral.text == "only you"
    assert running.emulator.ephemerals("U0ADMIN") == []
    error = await refused(client.chat_update(channel="C0GENERAL", ts=sent["message_ts"], text="x"))
    assert error.response["error"] == "message_not_found"


@pytest.mark.filterwarnings(NO_TEXT_WARNING)
async def test_blocks_without_text_are_accepted_with_a_warning(running: Running) -> None:
    await running.web_client().chat_postMessage(channel="C0GENERAL", blocks=[SECTION])
    assert running.emulator.calls_to("chat.postMessage")[0].warnings == ["missing_text_fallback"]


async def test_directory_reads_are_get_requests(running: Running) -> None:
    client = running.web_client()
    user = await client.users_info(user="U0ADMIN")
    assert user["user"]["real_name"] == "Alex Admin" and user["user"]["is_admin"] is True
    assert await error_of(client.users_info(user="U0GHOST")) == "user_not_found"
    channel = await client.conversations_info(channel="C0BILLING")
    assert channel["channel"]["name"] == "billing" and channel["channel"]["is_member"] is True
    members = await client.conversations_members(channel="C0BILLING")
    assert set(members["members"]) == {"U0ADMIN", "U0PAYER", "U0BOT"}
    first = await client.conversations_members(channel="C0GENERAL", limit=2)
    rest = await client.conversations_members(
        channel="C0GENERAL", cursor=first["response_metadata"]["next_cursor"]
    )
    assert len(first["members"] + rest["members"]) == 4
    assert (await client.usergroups_users_list(usergroup="S0PAYERS"))["users"] == ["U0PAYER"]
    dm = await client.conversations_open(users="U0VIEWER")
    assert dm["channel"]["id"] == "D0VIEWER"
    methods = [(c.method, c.ok) for c in running.emulator.calls]
    assert ("users.info", True) in methods and ("usergroups.users.list", True) in methods


async def test_user_groups_are_listed_as_slack_lists_them(running: Running) -> None:
    client = running.web_client()
    (group,) = (await client.usergroups_list())["usergroups"]
    assert group["id"] == "S0PAYERS" and group["handle"] == "payers" and "users" not in group
    (counted,) = (await client.usergroups_list(include_users=True, include_count=True))[
        "usergroups"
    ]
    assert counted["users"] == ["U0PAYER"] and counted["user_count"] == "1"
    assert await error_of(client.usergroups_users_list(usergroup="S0GHOST")) == "no_such_subteam"


async def test_user_groups_need_the_usergroups_read_scope() -> None:
    app = create_app(
        request_url="http://127.0.0.1:9/",
        signing_secret="s",
        bot_token=BOT_TOKEN,
        bot_scopes=["commands", "chat:write"],
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=str(server.make_url("/api/")))
        for call in (client.usergroups_list(), client.usergroups_users_list(usergroup="S0PAYERS")):
            answer = (await refused(call)).response
            assert answer["error"] == "missing_scope" and answer["needed"] == "usergroups:read"
            assert answer["provided"] == "chat:write,commands"
        assert (await client.chat_postMessage(channel="C0BILLING", text="hi"))["ok"]
    finally:
        await server.close()


@pytest.mark.parametrize("granted", ["channels:history", "groups:history", "im:history"])
async def test_history_needs_the_scope_of_the_conversations_kind(granted: str) -> None:
    """Slack asks a scope for each kind of conversation: a token that may read channels
    may not read a direct message, nor a private channel without groups:history."""
    workspace = Workspace(
        channels=[
            Channel("C0OPEN", "open", ["U0ADMIN", "U0BOT"]),
            Channel("G0SECRET", "secret", ["U0ADMIN", "U0BOT"], is_private=True),
        ]
    )
    app = create_app(
        request_url="http://127.0.0.1:9/",
        signing_secret="s",
        bot_token=BOT_TOKEN,
        workspace=workspace,
        bot_scopes=["chat:write", "im:write", granted],
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=str(server.make_url("/api/")))
        posted = await client.chat_postMessage(channel="U0ADMIN", text="hi")
        dm = str(posted["channel"])
        kinds = {"channels:history": "C0OPEN", "groups:history": "G0SECRET", "im:history": dm}
        for scope, channel in kinds.items():
            for read in (
                client.conversations_history(channel=channel),
                client.conversations_replies(channel=channel, ts=str(posted["ts"])),
            ):
                if scope == granted:
                    with contextlib.suppress(SlackApiError):  # replies: no such thread
                        await read
                    continue
                answer = (await refused(read)).response
                assert answer["error"] == "missing_scope" and answer["needed"] == scope
        assert await error_of(client.conversations_history(channel="C0GHOST")) == (
            "channel_not_found"
        )
    finally:
        await server.close()


MODAL = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "Pay"},
    "blocks": [SECTION],
}


async def test_trigger_ids_expire_after_3_seconds_and_work_once(running: Running) -> None:
    client, surfaces = running.web_client(), running.emulator.surfaces
    late = surfaces.issue_trigger("U0PAYER")
    running.clock.advance(3.5)
    assert await error_of(client.views_open(trigger_id=late, view=MODAL)) == "expired_trigger_id"
    trigger = surfaces.issue_trigger("U0PAYER")
    opened = await client.views_open(trigger_id=trigger, view=MODAL)
    assert opened["view"]["id"].startswith("V") and running.emulator.modal("U0PAYER")
    again = client.views_open(trigger_id=trigger, view=MODAL)
    assert await error_of(again) == "exchanged_trigger_id"


async def test_at_most_three_views_in_a_stack(running: Running) -> None:
    client, surfaces = running.web_client(), running.emulator.surfaces
    await client.views_open(trigger_id=surfaces.issue_trigger("U0PAYER"), view=MODAL)
    for _ in range(2):
        await client.views_push(trigger_id=surfaces.issue_trigger("U0PAYER"), view=MODAL)
    fourth = client.views_push(trigger_id=surfaces.issue_trigger("U0PAYER"), view=MODAL)
    assert await error_of(fourth) == "push_limit_reached"
    assert len(surfaces.stacks["U0PAYER"]) == 3


async def test_a_view_over_250_kb_is_too_large(running: Running) -> None:
    client, surfaces = running.web_client(), running.emulator.surfaces
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2600}}
    big = {**MODAL, "blocks": [*MODAL["blocks"], *[section] * 98]}
    fits = {**MODAL, "blocks": [*MODAL["blocks"], *[section] * 90]}
    too_large = client.views_open(trigger_id=surfaces.issue_trigger("U0PAYER"), view=big)
    assert await error_of(too_large) == "view_too_large"
    assert running.emulator.modal("U0PAYER") is None
    assert (await client.views_open(trigger_id=surfaces.issue_trigger("U0PAYER"), view=fits))["ok"]
    home = client.views_publish(user_id="U0PAYER", view={"type": "home", "blocks": [section] * 99})
    assert await error_of(home) == "view_too_large"


async def test_views_update_hash_and_invalid_views(running: Running) -> None:
    client, surfaces = running.web_client(), running.emulator.surfaces
    trigger = surfaces.issue_trigger("U0PAYER")
    opened = (await client.views_open(trigger_id=trigger, view=MODAL))["view"]
    bad = {**MODAL, "title": {"type": "plain_text", "text": "x" * 25}}
    trigger = surfaces.issue_trigger("U0PAYER")
    invalid = await refused(client.views_open(trigger_id=trigger, view=bad))
    assert invalid.response["error"] == "invalid_arguments"
    assert invalid.response["response_metadata"]["messages"][0].startswith("[ERROR]")
    renamed = {**MODAL, "title": {"type": "plain_text", "text": "Paid"}}
    updated = await client.views_update(view_id=opened["id"], hash=opened["hash"], view=renamed)
    assert updated["view"]["id"] == opened["id"] and updated["view"]["hash"] != opened["hash"]
    stale = client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)
    assert await error_of(stale) == "hash_conflict"
    assert await error_of(client.views_update(view_id="V0MISSING", view=MODAL)) == "not_found"


async def test_views_publish_sets_the_home_tab(running: Running) -> None:
    client = running.web_client()
    home = {"type": "home", "blocks": [SECTION]}
    published = await client.views_publish(user_id="U0ADMIN", view=home)
    assert running.emulator.home("U0ADMIN").id == published["view"]["id"]
    modal_as_home = client.views_publish(user_id="U0ADMIN", view=MODAL)
    assert await error_of(modal_as_home) == "invalid_arguments"


async def test_rate_limiting_then_success(running: Running) -> None:
    running.emulator.faults.rate_limit("chat.postMessage", times=2, retry_after=7)
    client = running.web_client()
    for _ in range(2):
        limited = await refused(client.chat_postMessage(channel="C0GENERAL", text="hi"))
        assert limited.response.status_code == 429
        assert limited.response.headers["Retry-After"] == "7"
        assert limited.response.data == {"ok": False, "error": "ratelimited"}
    assert (await client.auth_test())["ok"]  # other methods are not limited
    assert (await client.chat_postMessage(channel="C0GENERAL", text="hi"))["ok"]
    statuses = [c.status for c in running.emulator.calls_to("chat.postMessage")]
    assert statuses == [429, 429, 200]


async def test_rate_limited_calls_are_retried_by_slack_sdk(running: Running) -> None:
    running.emulator.faults.rate_limit(None, times=1, retry_after=0)
    client = running.web_client()
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    started = time.monotonic()
    assert (await client.chat_postMessage(channel="C0GENERAL", text="hi"))["ok"]
    assert time.monotonic() - started < 5
    assert [c.error for c in running.emulator.calls] == ["ratelimited", None]


async def test_history_shows_metadata_only_to_those_who_ask_as_slack_does(
    running: Running,
) -> None:
    """The outbox finds a confirmation whose answer was lost by its metadata."""
    client = running.web_client()
    marked = {"event_type": "invoicebot_settlement", "event_payload": {"settlement_id": "s1"}}
    posted = await client.chat_postMessage(channel="C0BILLING", text="paid", metadata=marked)
    await client.chat_postMessage(channel="C0BILLING", text="later")
    plain = await client.conversations_history(channel="C0BILLING")
    assert [m["text"] for m in plain["messages"]] == ["later", "paid"]
    assert all("metadata" not in m for m in plain["messages"])
    full = await client.conversations_history(channel="C0BILLING", include_all_metadata=True)
    assert full["messages"][1]["metadata"] == marked
    assert full["messages"][1]["ts"] == posted["ts"]
    newer = await client.conversations_history(channel="C0BILLING", oldest=posted["ts"])
    assert [m["text"] for m in newer["messages"]] == ["later"], "oldest is exclusive"
    both = await client.conversations_history(
        channel="C0BILLING", oldest=posted["ts"], inclusive=True
    )
    assert len(both["messages"]) == 2
    later_ts = newer["messages"][0]["ts"]
    older = await client.conversations_history(channel="C0BILLING", latest=later_ts)
    assert [m["text"] for m in older["messages"]] == ["paid"], "latest bounds it too"
    with pytest.raises(SlackApiError) as bad:
        await client.chat_postMessage(channel="C0BILLING", text="x", metadata={"event_type": ""})
    assert bad.value.response["error"] == "invalid_metadata_format"


async def test_replies_show_a_threads_parent_and_its_marked_replies(running: Running) -> None:
    """The outbox finds a thread's line whose answer was lost in the thread, by its mark."""
    client = running.web_client()
    root = await client.chat_postMessage(channel="C0BILLING", text="request")
    marked = {"event_type": "invoicebot_post", "event_payload": {"key": "line"}}
    await client.chat_postMessage(
        channel="C0BILLING", text="approved", thread_ts=root["ts"], metadata=marked
    )
    thread = await client.conversations_replies(
        channel="C0BILLING", ts=root["ts"], include_all_metadata=True
    )
    assert [m["text"] for m in thread["messages"]] == ["request", "approved"]
    assert thread["messages"][1]["metadata"] == marked
    history = await client.conversations_history(channel="C0BILLING")
    assert [m["text"] for m in history["messages"]] == ["request"]
    with pytest.raises(SlackApiError) as none:
        await client.conversations_replies(channel="C0BILLING", ts="1.000001")
    assert none.value.response["error"] == "thread_not_found"


async def test_read_methods_ignore_a_json_body_as_slack_does(running: Running) -> None:
    """The outbox's history lookup must send its arguments as a query, or Slack sees none."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{running.api_url}conversations.history",
            json={"channel": "C0BILLING"},
            headers={"Authorization": f"Bearer {BOT_TOKEN}"},
        ) as answer,
    ):
        assert (await answer.json())["error"] == "channel_not_found"


async def test_posting_faster_than_slack_allows_in_one_channel_is_rate_limited(
    running: Running,
) -> None:
    client = running.web_client()
    client.retry_handlers.clear()
    for n in range(3):
        await client.chat_postMessage(channel="C0BILLING", text=f"burst {n}")
    with pytest.raises(SlackApiError) as limited:
        await client.chat_postMessage(channel="C0BILLING", text="one too many")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "1"
    running.clock.advance(1.0)
    await client.chat_postMessage(channel="C0BILLING", text="after a second")


async def test_posts_to_one_dm_are_paced_as_one_channel_however_it_is_named(
    running: Running,
) -> None:
    """Slack paces chat.postMessage per conversation: a user's id and the D… id of the
    same direct message share one allowance."""
    from slack_emulator.webapi import POST_BURST

    client = running.web_client()
    first = await client.chat_postMessage(channel="U0PAYER", text="1")
    names = ["U0PAYER", str(first["channel"])]
    for n in range(POST_BURST - 1):
        await client.chat_postMessage(channel=names[n % 2], text=str(n + 2))
    assert await error_of(client.chat_postMessage(channel=names[1], text="over")) == "ratelimited"


async def test_each_method_has_its_tiers_minute_and_no_more(running: Running) -> None:
    """Slack's tiers promise chat.update 50 calls a minute (Tier 3) and users.info 100
    (Tier 4), per workspace; the emulator allows exactly that, then paces: a bot's burst
    of updates or look-ups meets the 429 it would meet in Slack."""
    from slack_emulator.webapi import PER_MINUTE

    client = running.web_client()
    client.retry_handlers.clear()
    posted = await client.chat_postMessage(channel="C0BILLING", text="v0")
    for n in range(PER_MINUTE["chat.update"]):
        await client.chat_update(channel=posted["channel"], ts=posted["ts"], text=f"v{n}")
    with pytest.raises(SlackApiError) as limited:
        await client.chat_update(channel=posted["channel"], ts=posted["ts"], text="over")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "2"  # 60 / 50 s, rounded up
    await client.users_info(user="U0PAYER")  # another method has its own allowance
    running.clock.advance(1.2)
    await client.chat_update(channel=posted["channel"], ts=posted["ts"], text="after")


async def test_listing_users_and_uploading_files_have_their_tiers_too(running: Running) -> None:
    """users.list is Tier 2 (20 a minute), and the two upload steps Tier 4 (100): the
    emulator let a bot call them without end, where Slack answers 429."""
    client = running.web_client()
    client.retry_handlers.clear()
    for _ in range(20):
        await client.users_list()
    over = await refused(client.users_list())
    assert over.response.status_code == 429 and over.response["error"] == "ratelimited"
    for _ in range(100):
        await client.files_getUploadURLExternal(filename="records.csv", length=10)
    over = await refused(client.files_getUploadURLExternal(filename="records.csv", length=10))
    assert over.response.status_code == 429
    for _ in range(100):
        await refused(client.files_completeUploadExternal(files=[{"id": "F0NONE"}]))
    over = await refused(client.files_completeUploadExternal(files=[{"id": "F0NONE"}]))
    assert over.response.status_code == 429
