"""Each failure reaches the caller as the core's error type, with words a person can act on."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.kit.errors import retry_after
from bot.models import InvoiceQuery, OutcomeStatus
from bot.provider import (
    BadCredentials,
    InvoiceNotFound,
    NotPayable,
    PaymentRejected,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from plugins.pingproxies import PingProxiesProvider, errors, wire
from plugins.pingproxies.api import parse
from plugins.pingproxies.sandbox import SandboxState, sample_invoices
from tests.pingproxies.conftest import (
    SEARCH,
    check_for,
    credentials_at,
    pay_option_path,
    pay_path,
    request_for,
    retrieve_path,
)

RETRIEVE = retrieve_path("inv_sbx0101")
PAY = pay_path("inv_sbx0101")


async def test_hammering_is_rate_limited_with_retry_after(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    sandbox.rate_limit = 5
    provider.api.transport.http.longest_wait = 0.5  # PingProxies asks for 1 s: too long
    results = await asyncio.gather(
        *(provider.get_invoice("inv_sbx0101") for _ in range(8)), return_exceptions=True
    )
    limited = [result for result in results if isinstance(result, RateLimited)]
    assert len(limited) == 4  # one login and four reads fit in the second
    assert {error.retry_after for error in limited} == {1.0}
    assert str(limited[0]).startswith(
        "PingProxies is limiting requests (HTTP 429: Too Many Requests: More than 5 requests "
        "per second; slow down; request id "
    )
    assert str(limited[0]).endswith("; try again in 1 s.")


async def test_reads_wait_out_a_short_rate_limit(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    sandbox.rate_limit = 5
    results = await asyncio.gather(
        *(provider.get_invoice("inv_sbx0101") for _ in range(8)), return_exceptions=True
    )
    assert all(invoice.id == "inv_sbx0101" for invoice in results)  # type: ignore[union-attr]


async def test_a_long_rate_limit_is_not_waited_out(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    provider.api.transport.http.longest_wait = 1.0
    await provider.verify()
    sandbox.inject("rate_limit", path=RETRIEVE)
    with pytest.raises(RateLimited) as raised:
        await provider.get_invoice("inv_sbx0101")
    assert raised.value.retry_after == 2.0
    assert sandbox.count("GET", RETRIEVE) == 1


async def test_one_server_error_on_a_read_is_retried(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    sandbox.inject("error", count=1, path=SEARCH)
    page = await provider.list_invoices(InvoiceQuery())
    assert len(page.invoices) == 6
    assert sandbox.count("GET", SEARCH) == 2


async def test_a_read_refused_without_words_is_not_told_as_a_refused_payment(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    """A bodiless 4xx on the search asked for no payment; on the pay option it is about
    paying, and says so."""
    sandbox.inject("wordless", count=3, path=SEARCH)
    with pytest.raises(ProviderError) as raised:
        await provider.list_invoices(InvoiceQuery())
    said = str(raised.value)
    assert said.startswith("PingProxies refused to answer and gave no reason. Try again")
    assert "payment" not in said and "method" not in said
    paying = str(errors.for_status(422, b""))
    assert "would not take this" in paying and "another method" in paying


async def test_persistent_server_error_is_unavailable_with_its_words(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    await provider.verify()
    sandbox.inject("error", count=3, path=RETRIEVE)
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.get_invoice("inv_sbx0101")
    message = str(raised.value)
    assert message.startswith(
        "PingProxies had a server error (HTTP 500: Internal Server Error: Internal server "
        "error (sandbox fault); request id "
    )
    assert message.endswith("); try again in a few minutes.")
    assert sandbox.count("GET", RETRIEVE) == 3


async def test_timeout_is_unavailable_and_reads_are_retried(
    make_provider: Callable[..., PingProxiesProvider], sandbox: SandboxState
) -> None:
    provider = make_provider(timeout=0.2)
    await provider.verify()
    sandbox.inject("hang", count=3, path=SEARCH)
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.list_invoices(InvoiceQuery())
    assert str(raised.value) == (
        "PingProxies did not answer within 0.2 s; try again in a few minutes."
    )
    assert sandbox.count("GET", SEARCH) == 4  # verify, then three tries


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("malformed", "not valid JSON"),
        ("shape", "unexpected shape at data: Input should be a valid list"),
    ],
)
async def test_unreadable_answers_are_unavailable(
    provider: PingProxiesProvider, sandbox: SandboxState, kind: str, problem: str
) -> None:
    await provider.verify()
    sandbox.inject(kind, path=SEARCH)  # type: ignore[arg-type]
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.list_invoices(InvoiceQuery())
    assert str(raised.value) == (
        f"PingProxies' invoice search answer could not be read ({problem}); "
        "if this keeps happening, PingProxies may have changed its API."
    )
    assert sandbox.count("GET", SEARCH) == 2


@pytest.mark.parametrize(
    ("cents", "problem"),
    [
        ("129.5", "Input should be a valid integer"),
        ('"129.5"', "Input should be a valid integer"),
        ("true", "Input should be a valid integer"),
    ],
)
def test_cents_that_are_not_integers_are_refused(cents: str, problem: str) -> None:
    item = sample_invoices(1_717_200_000)[0].to_json()
    body = json.dumps({"data": item, "message": "ok"}).replace(
        '"invoice_amount_remaining": 12900', f'"invoice_amount_remaining": {cents}'
    )
    assert cents in body
    with pytest.raises(ProviderUnavailable) as raised:
        parse(wire.Envelope[wire.Invoice], body.encode(), "invoice retrieve")
    assert str(raised.value).startswith(
        "PingProxies' invoice retrieve answer could not be read (unexpected shape at "
        f"data.invoice_amount_remaining: {problem}"
    )


@pytest.mark.parametrize("cents", ['"12900"', "12900.0", "12900"])
def test_whole_cents_as_a_string_or_a_number_are_read(cents: str) -> None:
    """Drift in a number's JSON type is forgiven, never through a float."""
    item = sample_invoices(1_717_200_000)[0].to_json()
    body = json.dumps({"data": item, "message": "ok"}).replace(
        '"invoice_amount_remaining": 12900', f'"invoice_amount_remaining": {cents}'
    )
    read = parse(wire.Envelope[wire.Invoice], body.encode(), "invoice retrieve")
    assert read.data.invoice_amount_remaining == 12900


@pytest.mark.parametrize("kind", ["error", "hang", "malformed", "lost_answer"])
async def test_a_redirect_pay_is_never_retried(
    make_provider: Callable[..., PingProxiesProvider], sandbox: SandboxState, kind: str
) -> None:
    provider = make_provider(timeout=0.3)
    options = await provider.payment_options(["inv_sbx0101"])
    sandbox.inject(kind, count=5, path=PAY)  # type: ignore[arg-type]
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.start_payment(request_for("inv_sbx0101", options.total, "stripe"))
    assert sandbox.count("POST", PAY) == 1
    assert str(raised.value).endswith(" Nothing was charged.")


@pytest.mark.parametrize(
    ("kind", "path"),
    [("error", pay_option_path("inv_sbx0101")), ("hang", RETRIEVE), ("malformed", RETRIEVE)],
)
async def test_a_read_failing_before_a_charge_says_nothing_was_charged(
    make_provider: Callable[..., PingProxiesProvider],
    sandbox: SandboxState,
    kind: str,
    path: str,
) -> None:
    """Pay was never sent, so the failure is a definite one, not a charge that may have
    happened (`ProviderUnavailable`, which the core records as unknown)."""
    provider = make_provider(timeout=0.3)
    options = await provider.payment_options(["inv_sbx0101"])
    sandbox.inject(kind, count=5, path=path)  # type: ignore[arg-type]
    with pytest.raises(ProviderError) as raised:
        await provider.start_payment(request_for("inv_sbx0101", options.total, "pm_sbxVisa4242"))
    assert not isinstance(raised.value, ProviderUnavailable)
    assert sandbox.count("POST", PAY) == 0
    assert "Nothing was charged." in str(raised.value)
    assert "try again" in str(raised.value).lower()


async def test_a_charge_whose_answer_was_lost_is_unknown_then_found_paid(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    """The plugin does not guess: the lost answer surfaces, the check finds the charge."""
    options = await provider.payment_options(["inv_sbx0101"])
    sandbox.inject("lost_answer", count=5, path=PAY)
    with pytest.raises(ProviderUnavailable):
        await provider.start_payment(request_for("inv_sbx0101", options.total, "pm_sbxVisa4242"))
    assert sandbox.count("POST", PAY) == 1
    outcome = await provider.check_payment(check_for("inv_sbx0101", options.total))
    assert outcome.status is OutcomeStatus.PAID


async def test_a_decline_whose_answer_was_lost_is_found_failed(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    options = await provider.payment_options(["inv_sbx0101"])
    sandbox.inject("lost_answer", path=PAY)
    with pytest.raises(ProviderUnavailable):
        await provider.start_payment(request_for("inv_sbx0101", options.total, "pm_sbxVisa0002"))
    assert sandbox.count("POST", PAY) == 1
    outcome = await provider.check_payment(check_for("inv_sbx0101", options.total))
    assert outcome.status is OutcomeStatus.FAILED
    assert "Your card was declined." in outcome.message


async def test_an_unanswered_charge_that_did_not_happen_stays_pending(
    make_provider: Callable[..., PingProxiesProvider], sandbox: SandboxState
) -> None:
    provider = make_provider(timeout=0.3)
    options = await provider.payment_options(["inv_sbx0101"])
    sandbox.inject("malformed", path=PAY)  # answered before the sandbox charged anything
    with pytest.raises(ProviderUnavailable):
        await provider.start_payment(request_for("inv_sbx0101", options.total, "pm_sbxVisa4242"))
    assert sandbox.count("POST", PAY) == 1
    outcome = await provider.check_payment(check_for("inv_sbx0101", options.total))
    assert outcome.status is OutcomeStatus.PENDING


async def test_nobody_listening_is_unavailable(http: aiohttp.ClientSession) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    credentials = credentials_at(f"http://127.0.0.1:{port}")
    provider = PingProxiesProvider(credentials, http, retry_delay=0.01)
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.verify()
    assert str(raised.value).startswith("Could not reach PingProxies: ")


async def test_wrong_base_url_fails_verification(
    server: TestServer, http: aiohttp.ClientSession
) -> None:
    credentials = credentials_at(str(server.make_url("/api/")))
    with pytest.raises(BadCredentials) as raised:
        await PingProxiesProvider(credentials, http).verify()
    assert str(raised.value) == (
        "PingProxies has no login route at the API address used (HTTP 404); check it "
        "(normally https://api.pingproxies.com)."
    )


ERROR_BODY = b'{"error": "Nope", "message": "Not today.", "api_request_id": "req_1"}'


@pytest.mark.parametrize(
    ("status", "body", "kind", "message"),
    [
        (401, b"", BadCredentials, "PingProxies refused the sign-in (HTTP 401)."),
        (403, ERROR_BODY, BadCredentials, "PingProxies does not allow this (HTTP 403: Nope: "),
        (404, ERROR_BODY, InvoiceNotFound, "PingProxies could not find it (HTTP 404: Nope: Not"),
        (409, ERROR_BODY, NotPayable, "PingProxies refused the request (HTTP 409: Nope: Not"),
        (422, ERROR_BODY, NotPayable, "PingProxies refused the request (HTTP 422: Nope: Not"),
        (429, b"<html>", RateLimited, "PingProxies is limiting requests (HTTP 429); try again"),
        (503, b"down", ProviderUnavailable, "PingProxies had a server error (HTTP 503); try"),
        (405, ERROR_BODY, ProviderUnavailable, "PingProxies answered with an unexpected status"),
    ],
)
def test_status_codes_map_to_core_errors(
    status: int, body: bytes, kind: type[Exception], message: str
) -> None:
    error = errors.for_status(status, body, retry_after_header="5")
    assert type(error) is kind
    assert str(error).startswith(message)


def test_error_bodies_are_quoted_with_the_request_id() -> None:
    assert errors.quoted(422, ERROR_BODY) == "HTTP 422: Nope: Not today; request id req_1"
    assert errors.quoted(500, b'{"error": "Oops"}') == "HTTP 500: Oops"
    assert retry_after("soon") is None and retry_after("3") == 3.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("Payment Declined", PaymentRejected),
        ("Payment Method Not Allowed", PaymentRejected),
        ("Invoice Not Payable", NotPayable),
    ],
)
def test_pay_refusals_tell_the_card_from_the_invoice(title: str, kind: type[Exception]) -> None:
    body = f'{{"error": "{title}", "message": "x"}}'.encode()
    assert errors.pay_refusal(body) is kind
