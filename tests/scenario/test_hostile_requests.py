"""Unsigned, forged and malformed requests at /slack/events: 401 or 400, never a 500, and
nothing logged above WARNING (an attacker must not be able to flood the error log)."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from tests.scenario.harness import Harness, text_of
from tests.slack_requests import interaction_body, signed_headers, slash_command_body

ACTION = {"action_id": "pay", "block_id": "b", "type": "button", "value": "i3d|410001"}
WHO = {"user": {"id": "U0PAYER"}, "team": {"id": "T0TEAM"}}
CLICK = {  # what Slack always sends with a message's click, but the actions
    "type": "block_actions",
    **WHO,
    "trigger_id": "1.2.abc",
    "response_url": "https://hooks.slack.test/actions/T0TEAM/1/abc",
}
SUBMIT = {"type": "view_submission", **WHO, "trigger_id": "1.2.abc"}


async def post(h: Harness, body: str, headers: dict[str, str] | None = None) -> int:
    async with h.http.post(
        h.bot.make_url("/slack/events"),
        data=body.encode("utf-8", "surrogatepass"),
        headers=headers if headers is not None else signed_headers(h.secret, body),
    ) as response:
        await response.read()
        return response.status


def quiet(caplog: pytest.LogCaptureFixture) -> None:
    loud = [r for r in caplog.records if r.levelno > logging.WARNING]
    assert not loud, [r.getMessage() for r in loud]


@pytest.mark.parametrize(
    "body",
    [
        "payload={not json",
        "payload=%7Bnot+json",
        slash_command_body("pay INV-24-0101"),
        interaction_body({"type": "block_actions", **WHO, "actions": [ACTION]}),
        "",
    ],
)
async def test_unsigned_requests_are_refused_before_anything_is_parsed(
    harness: Harness, caplog: pytest.LogCaptureFixture, body: str
) -> None:
    forms = {"Content-Type": "application/x-www-form-urlencoded"}
    assert await post(harness, body, forms) == 401
    stale = signed_headers(harness.secret, body, timestamp=int(time.time()) - 600)
    assert await post(harness, body, stale) == 401
    wrong = signed_headers("not-the-secret", body)
    assert await post(harness, body, wrong) == 401
    quiet(caplog)


MALFORMED: list[Any] = [
    [],
    "a string",
    42,
    None,
    {**CLICK, "actions": []},
    {**CLICK, "actions": "pay"},
    {**CLICK, "actions": [None]},
    {**CLICK, "actions": [{"block_id": "b"}]},
    {**CLICK, "actions": [{**ACTION, "value": 7}]},
    {**CLICK, "actions": [{**ACTION, "selected_option": "x"}]},
    {**CLICK, "actions": [ACTION], "state": "x"},
    {**CLICK, "actions": [ACTION], "state": {"values": []}},
    {**CLICK, "user": "U0PAYER", "team": {"id": "T0TEAM"}, "actions": [ACTION]},
    {**CLICK, "user": {"id": 5}, "team": {"id": "T0TEAM"}, "actions": [ACTION]},
    {**CLICK, "actions": [ACTION], "response_url": 5},
    {**SUBMIT, "view": "a view"},
    {**SUBMIT, "view": {"state": {"values": {}}}},
    {**SUBMIT, "view": {"type": "modal", "state": "x"}},
    {**SUBMIT, "view": {"type": "modal", "state": {"values": {"b": 1}}}},
    {**SUBMIT, "view": {"type": "modal", "private_metadata": {}}},
    {"actions": [ACTION], **WHO},
    {k: v for k, v in CLICK.items() if k != "trigger_id"} | {"actions": [ACTION]},
    {k: v for k, v in CLICK.items() if k != "response_url"} | {"actions": [ACTION]},
    {**CLICK, "actions": [{k: v for k, v in ACTION.items() if k != "block_id"}]},
    {**CLICK, "actions": [{**ACTION, "selected_options": "x"}]},
    {**CLICK, "actions": [{**ACTION, "selected_options": ["a", 1]}]},
    {**CLICK, "actions": [ACTION], "state": {"values": {"b": {"a": {"selected_option": "x"}}}}},
    {**CLICK, "actions": [ACTION], "state": {"values": {"b": {"a": {"selected_options": [2]}}}}},
    {"type": "view_submission", **WHO, "view": {"type": "modal"}},
]


@pytest.mark.parametrize("payload", MALFORMED, ids=lambda p: json.dumps(p)[:60])
async def test_signed_but_malformed_interactions_get_a_400(
    harness: Harness, caplog: pytest.LogCaptureFixture, payload: Any
) -> None:
    assert await post(harness, urlencode({"payload": json.dumps(payload)})) == 400
    quiet(caplog)


@pytest.mark.parametrize(
    "body",
    [
        "payload={not json",
        "command=%2Finvoices&text=x",
        "command=%2Finvoices&team_id=T0TEAM",
        "command=%2Finvoices&team_id=T0TEAM&user_id=U0PAYER&response_url=https%3A%2F%2Fh.test",
        "command=%2Finvoices&team_id=T0TEAM&user_id=U0PAYER&trigger_id=1&response_url=x%3Ay",
        "what=ever",
        "%ff%fe=%00",
    ],
)
async def test_signed_but_malformed_forms_get_a_400(
    harness: Harness, caplog: pytest.LogCaptureFixture, body: str
) -> None:
    assert await post(harness, body) == 400
    quiet(caplog)


@pytest.mark.parametrize(
    "callback_id",
    ["new_invoice", "review_invoice", "send_email", "connect_code", "approval_request",
     "approval_reject_reason"],
)  # fmt: skip
async def test_a_dialog_whose_metadata_invoicebot_did_not_write_is_refused_quietly(
    harness: Harness, caplog: pytest.LogCaptureFixture, callback_id: str
) -> None:
    """A dialog's private_metadata is what invoicebot wrote, a JSON object: anything else
    was an unexpected error, a traceback in the log for each request."""
    deep = "[" * 1400 + "]" * 1400  # within Slack's 3000 characters, past what json reads
    for metadata in ("not json", "[]", "1", "null", '"text"', '{"target": 5, "provider": 5}', deep):
        view = {"id": "V1", "type": "modal", "callback_id": callback_id,
                "private_metadata": metadata,
                "state": {"values": {"reason": {"value": {"type": "plain_text_input",
                                                          "value": "No"}}}}}  # fmt: skip
        payload = {"type": "view_submission", **WHO, "trigger_id": "1.2.abc", "view": view}
        status, body, _ = await harness.post(interaction_body(payload))
        assert status == 200 and "Something went wrong" not in json.dumps(body), metadata
    await asyncio.sleep(0.1)  # what runs after the ack
    quiet(caplog)
    assert all("Something went wrong" not in json.dumps(c.args) for c in harness.slack.calls)


async def test_a_few_hundred_random_payloads_never_get_a_500(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Mutations of a real click: drop, retype and nest fields at random, signed."""
    shuffle = random.Random(20261202)
    base: dict[str, Any] = {
        "type": "block_actions",
        **WHO,
        "actions": [ACTION],
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "C0GENERAL"},
        "channel": {"id": "C0GENERAL"},
        "response_url": harness.response_url()[1],
        "state": {"values": {}},
        "message": {"blocks": []},
    }
    junk: list[Any] = [
        None,
        0,
        -1,
        1.5,
        "",
        "x" * 300,
        [],
        {},
        [None],
        {"a": {}},
        True,
        "<!channel>",
    ]
    statuses = set()
    for _ in range(300):
        payload = json.loads(json.dumps(base))
        for _ in range(shuffle.randint(1, 3)):
            target = payload
            path = shuffle.choice(
                [["type"], ["user"], ["user", "id"], ["team"], ["actions"], ["actions", 0],
                 ["actions", 0, "action_id"], ["actions", 0, "value"], ["state"],
                 ["state", "values"], ["container"], ["channel"], ["message"], ["response_url"]]
            )  # fmt: skip
            try:
                for key in path[:-1]:
                    target = target[key]
                if shuffle.random() < 0.3 and isinstance(target, dict):
                    target.pop(path[-1], None)
                else:
                    target[path[-1]] = shuffle.choice(junk)
            except (KeyError, IndexError, TypeError):
                continue
        body = "payload=" + quote(json.dumps(payload))
        status = await post(harness, body)
        statuses.add(status)
        assert status in (200, 400, 404), (status, payload)
    assert 400 in statuses
    quiet(caplog)


async def test_slacks_unsigned_ssl_check_is_answered_and_does_nothing(harness: Harness) -> None:
    forms = {"Content-Type": "application/x-www-form-urlencoded"}
    assert await post(harness, "ssl_check=1&token=legacy", forms) == 200


async def test_a_command_whose_text_says_payload_is_still_a_command(harness: Harness) -> None:
    """Bolt takes a form containing the word "payload" for an interaction."""
    _, screen, _ = await harness.command("search payload")
    answer = await harness.screen_after(screen)
    assert "payload" in text_of(answer.message)


async def test_a_request_signed_with_another_secret_names_the_setting_in_the_log(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """An operator who copied the wrong secret sees Slack say only `dispatch_failed`:
    the log line is where they learn which setting to check."""
    body = slash_command_body("status")
    with caplog.at_level(logging.INFO, logger="bot.web"):
        assert await post(harness, body, signed_headers("not-the-secret", body)) == 401
    (line,) = [r.getMessage() for r in caplog.records if "signature" in r.getMessage()]
    assert "SLACK_SIGNING_SECRET" in line
    quiet(caplog)


async def test_a_timestamp_too_long_for_a_number_is_refused_unsigned(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Hundreds of digits overflowed the signature check's clock arithmetic: a 500."""
    for digits in (20, 309, 400, 4300):
        headers = {"X-Slack-Request-Timestamp": "9" * digits, "X-Slack-Signature": "v0=00"}
        assert await post(harness, "x=1", headers) == 401, digits
    quiet(caplog)


async def test_an_event_slack_always_names_a_user_for_is_refused_without_one(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    event = {"type": "app_home_opened", "tab": "home", "channel": "D1"}
    body = json.dumps({"type": "event_callback", "team_id": "T0TEAM", "event": event})
    headers = {**signed_headers(harness.secret, body), "Content-Type": "application/json"}
    assert await post(harness, body, headers) == 400
    quiet(caplog)


MESSAGE_BUTTONS = [
    "pay", "pay_approved", "pay_selected", "choose_method", "choose_issuer", "get_link",
    "cancel_link", "back_to_list", "page_previous", "page_next", "copy_link",
    "remind_customer", "request_approval", "approval_approve", "approval_reject",
    "approval_settings",
]  # fmt: skip


@pytest.mark.parametrize("action_id", MESSAGE_BUTTONS)
async def test_a_message_button_clicked_in_a_dialog_is_dropped_quietly(
    harness: Harness, caplog: pytest.LogCaptureFixture, action_id: str
) -> None:
    """Slack sends these buttons' clicks only from messages (or App Home), with a place to
    answer; signed, but from a dialog, one is acked and does nothing, without a traceback."""
    payload = {
        "type": "block_actions",
        **WHO,
        "trigger_id": "1.2.abc",
        "container": {"type": "view", "view_id": "V1"},
        "view": {"id": "V1", "type": "modal", "private_metadata": "", "state": {"values": {}}},
        "actions": [{**ACTION, "action_id": action_id}],
    }
    before = len(harness.slack.calls)
    assert await post(harness, urlencode({"payload": json.dumps(payload)})) == 200
    await asyncio.sleep(0.2)  # anything the click set off has happened by now
    called = [call.method for call in harness.slack.calls[before:]]
    assert [method for method in called if method != "auth.test"] == []  # Bolt's own
    quiet(caplog)


@pytest.mark.parametrize(
    "request_head",
    [
        b"GET /landing/i3d?x=" + b"a" * 9_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9_000 + b"\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n",
    ],
)
async def test_a_request_too_big_or_garbled_to_read_is_refused_quietly(
    harness: Harness, caplog: pytest.LogCaptureFixture, request_head: bytes
) -> None:
    """aiohttp refuses these before any handler runs: a 400, and nothing above WARNING
    in the log (anyone can send them, unsigned)."""
    assert harness.bot.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", harness.bot.port)
    writer.write(request_head)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head = answer.split(b"\r\n\r\n", 1)[0]
    assert b" 400 Bad Request" in head.split(b"\r\n", 1)[0], answer[:200]
    assert b"Server: invoicebot" in head.split(b"\r\n"), head  # no library's name or version
    quiet(caplog)


@pytest.mark.parametrize("signature", ["v0=é", "v0=" + "ü" * 64, "é"])
async def test_a_signature_that_is_not_ascii_is_refused_unsigned(
    harness: Harness, caplog: pytest.LogCaptureFixture, signature: str
) -> None:
    """Comparing it with the expected digest raised a TypeError: a 500 for anyone."""
    headers = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": signature}
    assert await post(harness, slash_command_body("status"), headers) == 401
    quiet(caplog)


@pytest.mark.parametrize(
    "request_head",
    [
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
        b"Content-Length: 9\r\n\r\nnot gzip!",
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Encoding: deflate\r\n"
        b"Content-Length: 9\r\n\r\nnot zlib!",
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /landing/i3d HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
        b"Content-Length: 9\r\n\r\nnot gzip!",
    ],
)
async def test_a_body_that_cannot_be_decoded_is_refused_quietly(
    harness: Harness, caplog: pytest.LogCaptureFixture, request_head: bytes
) -> None:
    """A body aiohttp cannot decode (a compression or chunking that is not what it says)
    raised from reading it: a 500 and two tracebacks in the error log, for anyone."""
    assert harness.bot.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", harness.bot.port)
    writer.write(request_head)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    status_line = answer.split(b"\r\n", 1)[0]
    assert b" 400 " in status_line or b" 401 " in status_line, answer[:300]
    quiet(caplog)
