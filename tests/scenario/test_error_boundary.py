"""One error boundary: every failure becomes one plain sentence for the person, and the
protocol detail (status, request id, exception class) goes only to the log."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import ssl
import time
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.checkout import NeedsApproval
from bot.models import FormPost, PaymentRequest, PaymentState, Redirect, StartedPayment
from bot.provider import (
    AmountChanged,
    BadCredentials,
    PaymentRejected,
    ProviderUnavailable,
    RateLimited,
)
from bot.slack.errors import failure_view
from bot.text import log_error, plain, say
from bot.web import STORE
from plugins.i3d import I3DProvider
from plugins.i3d.sandbox import SANDBOX
from slack_emulator.blockkit import validate_view
from tests.scenario.harness import Harness, Screen, find, text_of
from tests.scenario.test_paying import choose, open_menu

PROTOCOL = re.compile(r"HTTP \d{3}|request id|[A-Z]\w*(Error|Exception)\b|Traceback")


async def click_pay(h: Harness, sandbox: TestServer | None = None) -> str:
    _, screen, _ = await h.command("")
    screen = await h.screen_after(screen)
    if sandbox is not None:
        sandbox.app[SANDBOX].inject("error", count=10)
    key = await h.click(screen, "pay", pick=lambda e: "|410001" in e["value"])
    return text_of(await h.next_response(key))


async def test_a_plugin_bug_during_pay_still_answers_and_logs_one_traceback(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(self: I3DProvider, invoice_ids: list[str]) -> None:
        raise KeyError("paymentMethods")

    monkeypatch.setattr(I3DProvider, "payment_options", broken)
    said = await click_pay(harness)
    assert "Something went wrong inside invoicebot" in said
    assert not PROTOCOL.search(said) and "KeyError" not in said
    tracebacks = [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]
    assert len(tracebacks) == 1


async def test_a_provider_refusal_reaches_the_person_without_protocol_detail(
    harness: Harness, i3d_sandbox: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    said = await click_pay(harness, i3d_sandbox)
    assert "i3D.net" in said and "again" in said
    assert not PROTOCOL.search(said), said
    assert any("i3D.net" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


async def test_a_listing_error_line_carries_no_protocol_detail(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    i3d_sandbox.app[SANDBOX].inject("error", count=10)
    _, screen, _ = await harness.command("")
    said = text_of((await harness.screen_after(screen)).message)
    assert ":warning: *i3D.net*" in said and not PROTOCOL.search(said), said


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RateLimited("i3D.net asks us to slow down (HTTP 429).", retry_after=12.2),
         "i3D.net asks us to slow down. Try again in 13 s."),
        (BadCredentials("i3D.net refused the API key (HTTP 401; request id 77)."),
         "i3D.net refused the API key. An admin can reconnect the provider with "
         "`/invoices connect`."),
        (PaymentRejected("PingProxies declined the card (HTTP 402: Card Declined: "
                         "Insufficient funds; request id 3)."),
         "PingProxies declined the card: Insufficient funds. Try another card or method."),
        (ProviderUnavailable("Could not reach i3D.net (ClientConnectorDNSError: x)."),
         "Could not reach i3D.net. Try again in a few minutes."),
        (ProviderUnavailable("i3D.net's pay/register answer could not be read (unexpected "
                             "shape at PayRegisterResponse: Input should be an object); if "
                             "this keeps happening, i3D.net may have changed its API."),
         "i3D.net's pay/register answer could not be read; if this keeps happening, i3D.net "
         "may have changed its API."),
        (ProviderUnavailable("Payfirma's hosted payment page answer could not be read (url "
                             "'http://10.0.0.7/pay?t=1' is not a web address); if this keeps "
                             "happening, Payfirma may have changed its API."),
         "Payfirma's hosted payment page answer could not be read; if this keeps happening, "
         "Payfirma may have changed its API."),
        (RuntimeError("boom"), "Something went wrong inside invoicebot"),
    ],
)  # fmt: skip
def test_each_error_type_becomes_one_sentence_with_the_next_step(
    error: Exception, expected: str
) -> None:
    assert say(error).startswith(expected)
    assert not PROTOCOL.search(plain(str(error)))


@pytest.mark.parametrize(
    ("said", "read"),
    [
        ("declined (HTTP 402: see https://help.example/cards; request id 7)",
         "declined: see https://help.example/cards"),
        ("refused (HTTP 409: Try again after 10:30 UTC)", "refused: Try again after 10:30 UTC"),
        ("refused (HTTP 422: Invoice already paid; request id 9f03)",
         "refused: Invoice already paid"),
    ],
)  # fmt: skip
def test_a_reasons_own_colons_stay_where_they_are(said: str, read: str) -> None:
    """A link's scheme or a time of day is part of the reason, not a place to cut it."""
    assert plain(said) == read


async def test_a_view_submission_that_fails_keeps_the_dialog_open_with_the_reason(
    harness: Harness,
) -> None:
    """An unconnected provider in a stale dialog: the modal says why, no 500."""
    status, body = await harness.submit_email("U0ADMIN", "nope|1")
    assert status == 200
    assert isinstance(body, dict) and body.get("response_action") == "update"
    assert Screen is not None


async def test_a_provider_claiming_another_name_for_its_invoices_still_lists(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The core says whose an invoice is, from the registration, not the plugin's copy."""
    real = I3DProvider.list_invoices

    async def lying(self: I3DProvider, query: Any) -> Any:
        page = await real(self, query)
        page.invoices = [i.model_copy(update={"provider": "someone-else"}) for i in page.invoices]
        return page

    monkeypatch.setattr(I3DProvider, "list_invoices", lying)
    said = await click_pay(harness)
    assert "Pay INV-24-0101" in said


async def test_a_page_that_fails_shows_one_plain_sentence_and_logs_the_rest(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.settlement import Settlement
    from tests.scenario.test_settling_once import link_for

    async def broken(self: Settlement, payment: Any, landing_params: Any = None) -> Any:
        raise ZeroDivisionError("bug")

    _, link = await link_for(harness)
    async with harness.http.get(link) as opened:
        assert opened.status == 200
    monkeypatch.setattr(Settlement, "check", broken)
    async with harness.http.get(harness.bot.make_url("/landing/i3d")) as page:
        body = await page.text()
    assert page.status == 500 and "Something went wrong" in body
    assert "ZeroDivisionError" not in body and "Traceback" not in body
    assert any(r.exc_info for r in caplog.records if r.levelno >= logging.ERROR)


async def test_a_dialog_that_fails_after_its_ack_says_so_instead_of_staying_on_sending(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from bot.checkout import Checkout

    async def broken(self: Checkout, **kwargs: Any) -> Any:
        raise RuntimeError("plugin bug")

    monkeypatch.setattr(Checkout, "send_by_email", broken)
    status, body = await harness.submit_email("U0PAYER", "i3d|410001")
    assert status == 200 and "Sending" in json.dumps(body)
    (updated,) = await harness.wait_for(lambda: harness.slack.called("views.update"))
    assert updated.args["view_id"] == harness.slack.top("U0PAYER")["id"]
    assert "Something went wrong inside invoicebot" in json.dumps(updated.args["view"])


async def test_clearing_the_method_choice_is_a_payload_slack_sends_and_is_answered(
    harness: Harness,
) -> None:
    """Slack sends `selected_option: null` when a choice is cleared."""
    _, screen, _ = await harness.command("")
    screen = await harness.screen_after(screen)
    key = await harness.click(screen, "pay", pick=lambda e: "|410001" in e["value"])
    menu = Screen(await harness.next_response(key), key)
    block, _ = find(menu.message, "choose_method", lambda e: True)
    from tests.slack_requests import interaction_body

    payload = {
        "type": "block_actions",
        "user": {"id": "U0PAYER"},
        "team": {"id": "T0TEAM"},
        "container": {"type": "message", "message_ts": "1.1", "is_ephemeral": True},
        "trigger_id": "1.2.3",
        "response_url": harness.response_url()[1],
        "actions": [
            {
                "action_id": "choose_method",
                "block_id": block["block_id"],
                "type": "static_select",
                "selected_option": None,
            }
        ],
    }
    status, _, _ = await harness.post(interaction_body(payload))
    assert status == 200


def test_a_refused_start_offers_to_choose_again() -> None:
    """A declined saved card (or a refused method) leaves the person a way to pick
    another: Try again opens the pay menu for the same invoices."""
    from bot.slack.errors import _choose_again

    body = {
        "type": "block_actions",
        "actions": [{"action_id": "get_link", "value": "pingproxies|inv_1|card_0002||19.99USD"}],
    }
    again = _choose_again(PaymentRejected("PingProxies declined the card."), body)
    assert again is not None and again["action_id"] == "pay"
    assert again["value"] == "pingproxies|inv_1||"
    assert _choose_again(ProviderUnavailable("down"), body) is None
    changed = AmountChanged(
        "The amount changed: you confirmed €338.80 but i3D.net registered a different "
        "total. Review the invoices and confirm again."
    )
    assert say(changed).endswith("confirm again."), "no 'Try another card' for a new total"
    assert _choose_again(changed, body)["text"]["text"] == "Try again"  # type: ignore[index]
    needs = NeedsApproval(
        "Payments of €300.00 and above need one approval first, and this one has none that "
        "is still valid. Nothing was paid; open the pay menu again to request approval."
    )
    opened = _choose_again(needs, body)  # the menu then shows Request approval
    assert opened is not None and opened["text"]["text"] == "Open the pay menu"


async def test_slack_failing_a_call_is_said_to_be_slacks_and_logs_no_traceback(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack down or rate-limiting for a moment: not 'something went wrong inside'."""
    h = harness
    h.slack.fail_next["views.open"] = 1
    _, screen, _ = await h.command("connect i3d", user="U0ADMIN")
    said = text_of(await h.next_response(screen.response_url_id))
    assert "Slack did not take invoicebot's request just now" in said and "inside" not in said
    assert not PROTOCOL.search(said)
    assert not [r for r in caplog.records if r.exc_info], "a passing outage, not a bug"
    assert any("Slack answered 500" in r.getMessage() for r in caplog.records)


async def test_a_long_rate_limit_is_told_not_slept_through_by_a_click(harness: Harness) -> None:
    """A trigger_id lives 3 s: waiting out 'Retry-After: 30' would lose it, and the person."""
    h = harness
    h.slack.retry_after = "30"
    h.slack.rate_limit_next["views.open"] = 1
    _, screen, _ = await h.command("connect i3d", user="U0ADMIN")
    said = text_of(await h.next_response(screen.response_url_id))
    assert "Try again in 30 s" in said
    h.slack.retry_after = "1"
    h.slack.rate_limit_next["views.open"] = 1  # a short wait is waited out, once
    await h.command("connect i3d", user="U0ADMIN")
    await h.wait_for(lambda: h.slack.called("views.open"))


async def test_a_refusal_quoting_a_long_invoice_number_still_reaches_the_person(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """Escaping makes `<`, `>` and `&` four or five characters each, so a provider's
    refusal that quotes the invoice number can outgrow Slack's 3,000-character section.
    Slack then refuses the answer whole and the message stays on "Asking …"."""
    h, state = harness, i3d_sandbox.app[SANDBOX]
    state.invoices["410001"] = state.invoices["410001"].model_copy(
        update={"invoiceNumber": "<b>&</b>" * 200}
    )
    _, screen, _ = await h.command("")
    screen = await h.screen_after(screen)
    state.invoices["410001"] = state.invoices["410001"].model_copy(
        update={"paymentStatus": 1, "remainingAmount": "0"}
    )
    key = await h.click(screen, "pay", pick=lambda e: "|410001" in e["value"])
    answer = await h.next_response(key)
    shown = answer["blocks"][0]["text"]["text"]
    assert shown.startswith(":warning: i3D.net") and shown.endswith("…")
    assert len(shown) <= 3000 and "&lt;b&gt;&amp;&lt;/b&gt;" in shown
    assert h.slack.refused == []


def test_a_dialog_shows_a_long_escaped_reason_within_slacks_limits() -> None:
    assert validate_view(failure_view("&lt;b&gt;" * 400)) == []


@pytest.mark.parametrize("path", ["/pay/", "/pay/x/y", "/landing/", "/invoices", "/"])
async def test_an_address_cut_short_in_a_browser_reads_as_words_not_a_status(
    harness: Harness, path: str
) -> None:
    """A payment link a mail client cut short, or a mistyped address, reached aiohttp's
    bare "404: Not Found"; a person reads a plain sentence instead (the status stays)."""
    async with harness.http.get(harness.bot.make_url(path)) as opened:
        body = await opened.text()
    assert opened.status == 404 and "This address does not lead anywhere" in body
    assert "404" not in body and "Not Found" not in body


@pytest.mark.parametrize("path", ["/slack/install", "/slack/oauth_redirect?code=x&state=y"])
async def test_the_install_addresses_of_a_single_token_bot_say_there_is_nothing_to_install(
    harness: Harness, path: str
) -> None:
    """With one bot token there is no OAuth: a person who opens an install link reads
    why in words, not aiohttp's bare "404: Not Found" (the status stays)."""
    async with harness.http.get(harness.bot.make_url(path)) as opened:
        body = await opened.text()
    assert opened.status == 404 and "single bot token" in body and "no install page" in body
    assert "404" not in body and "Not Found" not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
@pytest.mark.parametrize("path", ["/slack/install", "/slack/oauth_redirect"])
async def test_the_install_addresses_sent_a_form_read_as_words_not_a_status(
    harness: Harness, path: str, method: str
) -> None:
    """A person's browser opens the install addresses; anything but GET reached aiohttp's
    bare "405: Method Not Allowed". The status and its Allow header stay."""
    async with harness.http.request(method, harness.bot.make_url(path)) as sent:
        body = await sent.text()
    assert sent.status == 405 and sent.headers["Allow"] == "GET,HEAD"
    assert "405" not in body and "Not Allowed" not in body
    assert "web browser" in body and "<title>" in body and "Nothing was" in body


async def test_a_page_address_posted_to_reads_as_words_and_slack_still_gets_its_405(
    harness: Harness,
) -> None:
    async with harness.http.post(harness.bot.make_url("/pay/abc")) as posted:
        body = await posted.text()
    assert posted.status == 405 and "405" not in body and "Not Allowed" not in body
    assert posted.headers["Allow"] == "GET,HEAD"
    async with harness.http.get(harness.bot.make_url("/slack/events")) as slack:
        assert slack.status == 405  # Slack's request URL is not a page


async def test_an_address_that_cannot_be_reached_is_one_line_not_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Slack's API blocked by a firewall, or SLACK_API_URL mistyped: the operator reads
    which address could not be reached, in one line; the person a sentence to retry."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the probe is
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError) as raised:
            await http.post(f"http://127.0.0.1:{port}/api/auth.test")
    log_error(raised.value, "Slack command")
    (record,) = caplog.records
    assert record.levelno == logging.WARNING and not record.exc_info
    assert f"127.0.0.1:{port}" in record.getMessage()
    said = say(raised.value)
    assert "reach" in said and "again" in said and "inside" not in said
    assert not PROTOCOL.search(said)


def test_an_unreachable_address_does_not_promise_that_nothing_was_paid() -> None:
    """Slack can be out of reach after a provider charged (the answer with the result is
    what fails): the sentence must not say nothing was done, and keeps the payer's
    caution that every unexpected failure gives."""
    key = aiohttp.client_reqrep.ConnectionKey("hooks.slack.com", 443, True, True, None, None, None)
    lost = aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))
    said = say(lost)
    assert "nothing was done" not in said
    assert "look at the invoice before you try again" in said


def test_a_refused_certificate_is_one_line_with_aiohttp_3_10(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A proxy that inspects TLS makes Slack's certificate fail. aiohttp 3.10 (which
    pyproject allows) builds that error without an `os_error`: reading it raised inside
    the error boundary, and the person heard nothing."""
    key = aiohttp.client_reqrep.ConnectionKey("slack.com", 443, True, True, None, None, None)
    refused = ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed")
    error = aiohttp.ClientConnectorCertificateError.__new__(aiohttp.ClientConnectorCertificateError)
    error._conn_key, error._certificate_error = key, refused  # as aiohttp 3.10.0 sets them
    error.args = (key, refused)
    log_error(error, "Slack command")
    (record,) = caplog.records
    assert record.levelno == logging.WARNING and "slack.com:443" in record.getMessage()
    assert "certificate verify failed" in record.getMessage()


async def test_a_list_slack_rate_limited_on_its_response_url_still_arrives(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """A response_url's 429 says the message was not taken: it is posted again after the
    wait Slack names. Before, the list (or a link's message) was dropped without a word."""
    h = harness
    h.slack.retry_after = "1"
    h.slack.rate_limit_next["response_url"] = 2
    _, screen, _ = await h.command("")
    listing = await h.screen_after(screen)
    assert "INV-24-0101" in text_of(listing.message)
    assert h.slack.rate_limit_next["response_url"] == 0
    assert len(h.slack.responses[screen.response_url_id]) == 1, "posted once"
    assert not [r for r in caplog.records if r.levelno > logging.WARNING]


async def test_a_commands_dialog_slack_opened_too_late_is_not_told_as_a_button(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """`/invoices connect` opens a dialog with the command's trigger; when that expired
    on a slow moment, the person typed a command: there is no button to click again."""
    h = harness
    issue = h.slack.issue_trigger
    late = time.monotonic() - 10  # the command reaches the bot past the trigger's 3 s
    h.slack.issue_trigger = lambda user, at=None: issue(user, late)  # type: ignore[method-assign]
    _, screen, _ = await h.command("connect i3d", user="U0ADMIN")
    for _ in range(500):
        if h.answers(screen.response_url_id):
            break
        await asyncio.sleep(0.02)
    assert h.slack.refused == [("views.open", ["expired_trigger_id"])]
    h.slack.refused.clear()
    said = text_of(h.answers(screen.response_url_id)[0])
    assert "button" not in said, said
    assert "again" in said


@pytest.mark.parametrize(
    "start",
    [
        FormPost(url="javascript:fetch('/admin')", fields=[("a", "b")]),
        Redirect(url="data:text/html,<script>alert(1)</script>"),
    ],
    ids=["script form", "data redirect"],
)
async def test_a_pay_page_a_plugin_names_that_is_not_a_web_address_is_refused(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, start: FormPost | Redirect
) -> None:
    """A plugin's payment page is where invoicebot's own page sends the payer's browser:
    a `javascript:` form ran its script on invoicebot's own address. Such a start fails
    in words, and no link is handed out for it."""

    async def starting(self: I3DProvider, request: PaymentRequest) -> StartedPayment:
        return StartedPayment(start=start)

    monkeypatch.setattr(I3DProvider, "start_payment", starting)
    menu = await open_menu(harness)
    menu = await choose(harness, menu, "choose_method", "10")
    menu = await choose(harness, menu, "choose_issuer", "INGBNL2A")
    key = await harness.click(menu, "get_link")
    said = await harness.next_response(key)
    assert "not a web address" in text_of(said) and "nothing was charged" in text_of(said)
    assert "open_link" not in json.dumps(said)
    (payment,) = harness.bot.app[STORE].payments_for_invoices("T0TEAM", "i3d", ["410001"])
    assert payment.state is PaymentState.FAILED


@pytest.mark.parametrize("address", ["ftp://evil.example)x", "ftp://evil.example(x", "x:(evil)"])
def test_a_payment_address_no_browser_can_open_is_not_read_back_whatever_it_holds(
    address: str,
) -> None:
    """A provider's unusable payment page address is left out of what people read even
    when it holds a parenthesis, which ended or opened the quoted part too soon."""
    from bot.models import PaymentMethod
    from plugins.i3d import checkout as i3d
    from plugins.i3d import wire as i3d_wire
    from plugins.payfirma import checkout as payfirma
    from plugins.pingproxies import checkout as pingproxies
    from plugins.pingproxies import wire as pingproxies_wire

    registered = i3d_wire.PayRegisterResponse.model_construct(requestUrl=address, postFormInputs=[])
    result = pingproxies_wire.PayResult(
        invoice_id="1", invoice_status="open", payment_type="redirect",
        payment_redirect_url=address,
    )  # fmt: skip
    method = PaymentMethod(id="card", name="Card")
    attempts = [
        lambda: i3d.form_post(registered),
        lambda: payfirma.redirect(address),
        lambda: pingproxies.started(result, method),
    ]
    for attempt in attempts:
        with pytest.raises(ProviderUnavailable) as raised:
            attempt()
        shown = say(raised.value)
        assert "evil" not in shown and "could not be read" in shown, shown
