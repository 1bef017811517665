"""The provider kit in `bot.kit`, over real HTTP: what each status means, which calls are
repeated and which never are, how long a rate limit is waited out, and paging guards."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot import redaction
from bot.kit.errors import Wording, possessive, retry_after, words_in
from bot.kit.http import ProviderHttp
from bot.kit.paging import BadCursor, OffsetCursor, Progress, has_more
from bot.provider import (
    BadCredentials,
    InvoiceNotFound,
    NotPayable,
    PaymentRejected,
    ProviderUnavailable,
    RateLimited,
)
from bot.text import say

ACME = Wording(name="Acme", credentials="the API key", credentials_hint="Check it in Acme.")


@pytest.mark.parametrize(
    ("status", "body", "kind", "text"),
    [
        (401, b'{"message": "bad key"}', BadCredentials, "Acme refused the API key (HTTP 401: bad"),
        (403, b"", BadCredentials, "Acme refused the API key (HTTP 403). Check it in Acme."),
        (402, b'{"error_description": "no"}', PaymentRejected, "Acme declined it: no."),
        (404, b"", InvoiceNotFound, "Acme could not find it (HTTP 404)."),
        (422, b'{"error": "paid"}', NotPayable, "Acme refused the request (HTTP 422: paid)."),
        (422, b"", NotPayable, "Acme would not take this and gave no reason"),
        (409, b"", NotPayable, "Acme refused because something changed meanwhile"),
        (503, b"<html>down</html>", ProviderUnavailable, "Acme had a server error (HTTP 503);"),
        (302, b"", ProviderUnavailable, "Acme answered with an unexpected status (HTTP 302)."),
    ],
)
def test_each_status_has_its_error_type(status: int, body: bytes, kind: type, text: str) -> None:
    error = ACME.failure(status, body)
    assert type(error) is kind
    assert str(error).startswith(text)


def test_a_decline_reads_as_a_decline_and_other_refusals_as_refusals() -> None:
    body = b'{"message": "Your card was declined."}'
    declined = ACME.failure(422, body, declined=True)
    assert type(declined) is PaymentRejected
    assert str(declined) == "Acme could not take the payment (HTTP 422: Your card was declined.)."
    assert say(declined) == (
        "Acme could not take the payment: Your card was declined. Try another card or method."
    )
    refused = ACME.failure(422, b'{"message": "Unknown bank"}', refused=PaymentRejected)
    assert str(refused) == "Acme refused the request (HTTP 422: Unknown bank)."
    assert ACME.failure(422, b"", declined=True).args == ACME.failure(422, b"").args


def test_a_decline_whose_reason_ends_a_sentence_ends_with_one_full_stop() -> None:
    said = str(ACME.failure(402, b'{"message": "Your card was declined."}'))
    assert said == "Acme declined it: Your card was declined."


def test_a_403_can_mean_a_missing_permission() -> None:
    wording = Wording(name="Acme", forbidden_hint="Ask Acme to allow payments.")
    assert (
        str(wording.failure(403, b""))
        == "Acme does not allow this (HTTP 403). Ask Acme to allow payments."
    )


def test_retry_after_takes_seconds_or_a_date() -> None:
    assert retry_after("3") == 3.0 and retry_after("-1") == 0.0
    assert retry_after("soon") is None and retry_after(None) is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    error = ACME.failure(429, b"", retry_after_header="7")
    assert isinstance(error, RateLimited) and error.retry_after == 7.0
    assert str(error).endswith("try again in 7 s.")


def test_words_are_found_under_the_usual_keys() -> None:
    assert words_in(b'{"errorMessage": "Entity not found"}') == "Entity not found"
    assert words_in(b'{"detail": " nope "}') == "nope"
    assert words_in(b"[1, 2]") == "" and words_in(b"not json") == ""
    assert possessive("PingProxies") == "PingProxies'" and possessive("i3D.net") == "i3D.net's"


def test_cursors_are_checked() -> None:
    cursor = OffsetCursor("Acme")
    assert cursor.decode(cursor.encode(40)) == 40 and cursor.decode(None) == 0
    with pytest.raises(BadCursor, match="not one Acme's plugin made"):
        cursor.decode("start:40")


def test_has_more_trusts_a_total_and_else_a_full_page() -> None:
    assert has_more(0, 25, 25, 60) and not has_more(50, 25, 10, 60)
    assert has_more(0, 25, 25, None) and not has_more(0, 25, 24, None)
    assert has_more(0, 25, 25, -1) and not has_more(0, 25, 0, 100)


def test_progress_stops_on_a_repeated_or_stale_page() -> None:
    progress = Progress("Acme")
    assert progress.advances(["a", "b"], "page 1")
    assert not progress.advances(["a", "b"], "page 2")  # the server ignored the page
    progress = Progress("Acme")
    assert progress.advances(["a", "b"], "page 1") and progress.advances(["c"], "page 2")
    assert not progress.advances(["b", "c"], "page 3")  # nothing new


class Script:
    """A server answering each request with the next scripted (status, headers) pair."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.seen: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(request.method)
        status, headers = self.answers.pop(0) if self.answers else (200, {})
        return web.json_response({"ok": status == 200}, status=status, headers=headers)


@pytest.fixture
async def scripted() -> AsyncIterator[tuple[Script, Callable[..., ProviderHttp]]]:
    script = Script()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", script.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:

        def make(**options: Any) -> ProviderHttp:
            base = str(server.make_url("")).rstrip("/")
            return ProviderHttp(http, base, wording=ACME, timeout=2, retry_delay=0.01, **options)

        yield script, make
    await server.close()


async def test_a_read_is_retried_through_server_errors(scripted: Any) -> None:
    script, make = scripted
    script.answers = [(502, {}), (500, {})]
    answer = await make().get("/invoices")
    assert answer.ok and script.seen == ["GET", "GET", "GET"]


async def test_a_read_gives_up_with_the_last_error(scripted: Any) -> None:
    script, make = scripted
    script.answers = [(500, {})] * 3
    with pytest.raises(ProviderUnavailable, match="server error"):
        await make().get("/invoices")
    assert len(script.seen) == 3


async def test_a_refusal_is_not_retried(scripted: Any) -> None:
    script, make = scripted
    script.answers = [(404, {})]
    with pytest.raises(InvoiceNotFound):
        await make().get("/invoices/9")
    assert script.seen == ["GET"]


async def test_a_short_retry_after_is_waited_out_and_a_long_one_is_not(scripted: Any) -> None:
    script, make = scripted
    script.answers = [(429, {"Retry-After": "1"})]
    started = time.monotonic()
    assert (await make().get("/invoices")).ok
    assert time.monotonic() - started >= 1.0 and script.seen == ["GET", "GET"]
    script.seen.clear()
    script.answers = [(429, {"Retry-After": "30"})]
    with pytest.raises(RateLimited) as raised:
        await make().get("/invoices")
    assert raised.value.retry_after == 30.0 and script.seen == ["GET"]


async def test_a_write_is_sent_once(scripted: Any) -> None:
    script, make = scripted
    script.answers = [(503, {})]
    answer = await make().send("POST", "/invoices/9/pay", json={"amount": "1.00"})
    assert answer.status == 503 and script.seen == ["POST"]


async def test_a_timeout_and_an_unknown_host_read_as_sentences() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response()

    app = web.Application()
    app.router.add_get("/slow", slow)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            base = str(server.make_url("")).rstrip("/")
            edge = ProviderHttp(http, base, wording=ACME, timeout=0.2, read_retries=0)
            with pytest.raises(ProviderUnavailable) as raised:
                await edge.get("/slow")
            assert (
                str(raised.value) == "Acme did not answer within 0.2 s; try again in a few minutes."
            )
            nowhere = ProviderHttp(
                http, "http://acme.invalid", wording=ACME, timeout=2, read_retries=0
            )
            with pytest.raises(ProviderUnavailable) as raised:
                await nowhere.get("/invoices")
            assert "Error" not in str(raised.value)
            assert str(raised.value).startswith("Could not reach Acme: ")
            assert "acme.invalid" not in str(raised.value)
    finally:
        await server.close()


async def test_an_unreachable_address_goes_to_the_log_with_its_login_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """People read where to look; the address itself is for whoever runs invoicebot."""
    redaction.install()
    async with aiohttp.ClientSession() as http:
        nowhere = ProviderHttp(
            http, "http://ops:kit-pass-4@acme.invalid", wording=ACME, timeout=2, read_retries=0
        )
        with caplog.at_level(logging.WARNING), pytest.raises(ProviderUnavailable) as raised:
            await nowhere.get("/invoices?page=2")
    assert "acme.invalid" not in str(raised.value) and "kit-pass-4" not in str(raised.value)
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "http://[redacted]@acme.invalid/invoices" in logged, logged
    assert "kit-pass-4" not in logged
