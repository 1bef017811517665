"""Each failure reaches the caller as the core's error type, with words a person can act on."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.models import InvoiceQuery, Money
from bot.provider import (
    BadCredentials,
    InvoiceNotFound,
    PaymentRejected,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from plugins.payfirma import PayfirmaCredentials, PayfirmaProvider, errors
from plugins.payfirma.sandbox import SandboxState
from tests.payfirma.conftest import CLIENT_ID, CLIENT_SECRET, HPP_INIT, LIST, pay_request


async def test_one_server_error_on_a_read_is_retried(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    sandbox.inject("error", count=1, path=LIST)
    page = await provider.list_invoices(InvoiceQuery())
    assert len(page.invoices) == 6 and sandbox.count("GET", LIST) == 2


async def test_persistent_server_error_is_unavailable(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    sandbox.inject("error", count=3, path="/invoice/212947")
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.get_invoice("212947")
    assert str(raised.value) == (
        "Payfirma had a server error (HTTP 500: Internal server error (sandbox fault)); "
        "try again in a few minutes."
    )
    assert sandbox.count("GET", "/invoice/212947") == 3


async def test_timeout_is_unavailable_and_reads_are_retried(
    make_provider: Callable[..., PayfirmaProvider], sandbox: SandboxState
) -> None:
    provider = make_provider(timeout=0.2)
    await provider.verify()
    sandbox.inject("hang", count=3, path=LIST)
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.list_invoices(InvoiceQuery())
    assert str(raised.value) == "Payfirma did not answer within 0.2 s; try again in a few minutes."
    assert sandbox.count("GET", LIST) == 1 + 3


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("malformed", "not valid JSON"),
        ("shape", "no list of invoices"),
    ],
)
async def test_unreadable_answers_are_unavailable(
    provider: PayfirmaProvider, sandbox: SandboxState, kind: str, problem: str
) -> None:
    sandbox.inject(kind, path=LIST)  # type: ignore[arg-type]
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.list_invoices(InvoiceQuery())
    assert str(raised.value) == (
        f"Payfirma's invoice list answer could not be read ({problem}); "
        "if this keeps happening, Payfirma may have changed its API."
    )


async def test_rate_limit_says_when_to_come_back(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    provider.api.http.longest_wait = 1.0  # Payfirma asks for 2 s: longer than a read waits
    sandbox.inject("rate_limit", path="/invoice/212948")
    with pytest.raises(RateLimited) as raised:
        await provider.payment_options(["212948"])
    assert raised.value.retry_after == 2.0
    assert str(raised.value).endswith("; try again in 2 s.")


@pytest.mark.parametrize("kind", ["error", "hang", "malformed"])
async def test_hpp_init_is_never_retried(
    make_provider: Callable[..., PayfirmaProvider], sandbox: SandboxState, kind: Any
) -> None:
    provider = make_provider(timeout=0.3)
    sandbox.inject(kind, count=5, path=HPP_INIT)
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.start_payment(pay_request("212948", Money.of("57.75", "CAD")))
    assert sandbox.count("POST", HPP_INIT) == 1
    assert str(raised.value).endswith(
        " Nothing was charged: the card is only taken on Payfirma's payment page."
    )


async def test_a_402_is_a_rejected_payment_with_payfirmas_reason(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    sandbox.inject("decline", path=HPP_INIT)
    with pytest.raises(PaymentRejected) as raised:
        await provider.start_payment(pay_request("212948", Money.of("57.75", "CAD")))
    assert str(raised.value) == "Payfirma declined it: Declined by the processor (sandbox fault)."


async def test_a_refused_hpp_token_is_bad_credentials(
    make_provider: Callable[..., PayfirmaProvider], sandbox: SandboxState
) -> None:
    provider = make_provider(hpp_token="stale-hpp-token")
    with pytest.raises(BadCredentials, match="refused the hosted payment page token"):
        await provider.start_payment(pay_request("212948", Money.of("57.75", "CAD")))
    assert sandbox.count("POST", HPP_INIT) == 1


async def test_nobody_listening_is_unavailable(http: aiohttp.ClientSession) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    credentials = PayfirmaCredentials(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, auth_url=base, gateway_url=base
    )
    provider = PayfirmaProvider(credentials, http, retry_delay=0.01)
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.verify()
    assert str(raised.value).startswith("Could not reach Payfirma's sign-in service: ")
    assert base not in str(raised.value)


async def test_wrong_invoice_path_fails_verification(
    aiohttp_server: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    """A gateway that serves only /invoice-service/invoice: verify says which to pick."""

    async def token(request: web.Request) -> web.Response:
        return web.json_response({"access_token": "t", "expires_in": 60})

    async def listing(request: web.Request) -> web.Response:
        return web.json_response({"invoices": []})

    app = web.Application()
    app.router.add_post("/oauth/token", token)
    app.router.add_get("/invoice-service/invoice", listing)
    server = await aiohttp_server(app, host="127.0.0.1")
    base = str(server.make_url("")).rstrip("/")
    fields: dict[str, Any] = {"client_id": "c", "client_secret": "s"}
    fields |= {"auth_url": base, "gateway_url": base}
    with pytest.raises(BadCredentials) as raised:
        await PayfirmaProvider(PayfirmaCredentials(**fields), http).verify()
    assert str(raised.value) == (
        "Payfirma has no invoice list at the API address and invoice address used; try the "
        "other invoice address, or check the API address."
    )
    fields["invoice_path"] = "/invoice-service/invoice"
    await PayfirmaProvider(PayfirmaCredentials(**fields), http).verify()


BODY = b'{"error": "BAD_REQUEST", "message": "Nope"}'


@pytest.mark.parametrize(
    ("status", "body", "kind", "message"),
    [
        (401, b"", BadCredentials, "Payfirma refused invoicebot's access token (HTTP 401)"),
        (402, BODY, PaymentRejected, "Payfirma declined it: Nope."),
        (402, b"", PaymentRejected, "Payfirma declined it: no reason given."),
        (404, BODY, InvoiceNotFound, "Payfirma could not find it (HTTP 404: Nope)."),
        (400, BODY, ProviderUnavailable, "Payfirma refused the request (HTTP 400: Nope)."),
        (
            429,
            b"<html>",
            RateLimited,
            "Payfirma is limiting requests (HTTP 429); try again in 5 s.",
        ),
        (503, b"down", ProviderUnavailable, "Payfirma had a server error (HTTP 503); try again"),
        (418, BODY, ProviderUnavailable, "Payfirma answered with an unexpected status"),
    ],
)
def test_status_codes_map_to_core_errors(
    status: int, body: bytes, kind: type[ProviderError], message: str
) -> None:
    error = errors.for_status(status, body, retry_after_header="5")
    assert type(error) is kind
    assert str(error).startswith(message)


def test_oauth_words_are_quoted() -> None:
    body = b'{"error": "invalid_client", "error_description": "Bad client credentials"}'
    assert errors.said(body) == ("invalid_client", "Bad client credentials")
    assert errors.said(b'{"error": "invalid_token"}') == ("invalid_token", "invalid_token")
    assert errors.said(b"[1, 2]") == ("", "")


def test_override_urls_must_be_web_addresses() -> None:
    with pytest.raises(ValueError, match=r"must look like https://apigateway\.payfirma\.com"):
        PayfirmaCredentials(client_id="c", client_secret="s", gateway_url="apigateway")
    blank = PayfirmaCredentials(client_id="c", client_secret="s", gateway_url=" ")
    assert blank.gateway_base == "https://sandbox-apigateway.payfirma.com"
