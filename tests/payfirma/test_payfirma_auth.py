"""Payfirma's OAuth2 token: fetched once, reused, renewed near expiry and once on 401."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web

from bot.models import InvoiceDraft, InvoiceLine, InvoiceQuery, Money, OutcomeStatus, Redirect
from bot.provider import BadCredentials
from plugins.payfirma import PayfirmaCredentials, PayfirmaProvider
from plugins.payfirma.sandbox import SandboxState
from tests.payfirma.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    LIST,
    TOKEN,
    Clock,
    check_for,
    pay_on_page,
    pay_request,
)


def bearers(sandbox: SandboxState) -> list[str]:
    return [seen.header("Authorization") or "" for seen in sandbox.requests if seen.path != TOKEN]


async def test_token_is_fetched_once_and_reused(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    await provider.verify()
    await provider.list_invoices(InvoiceQuery())
    await provider.get_invoice("212947")
    await provider.payment_options(["212948"])
    assert sandbox.count("POST", TOKEN) == 1
    used = bearers(sandbox)
    assert len(used) == 4 and len(set(used)) == 1 and used[0].startswith("Bearer sbx_")


async def test_token_request_sends_basic_and_form_credentials(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    await provider.verify()
    (request,) = [seen for seen in sandbox.requests if seen.path == TOKEN]
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert request.header("Authorization") == f"Basic {expected}"
    form = parse_qs(request.body.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }


async def test_concurrent_calls_share_one_token_request(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    await asyncio.gather(*(provider.get_invoice(key) for key in ("212947", "212948", "212949")))
    assert sandbox.count("POST", TOKEN) == 1


async def test_token_is_renewed_shortly_before_it_expires(
    provider: PayfirmaProvider, sandbox: SandboxState, clock: Clock
) -> None:
    await provider.get_invoice("212947")
    clock.advance(3600 - 61)  # lifetime 3600 s, renewed 60 s early
    await provider.get_invoice("212947")
    assert sandbox.count("POST", TOKEN) == 1
    clock.advance(2)
    await provider.get_invoice("212947")
    await provider.get_invoice("212948")
    assert sandbox.count("POST", TOKEN) == 2
    first, second, third, fourth = bearers(sandbox)
    assert first == second != third == fourth


async def test_short_lived_tokens_are_renewed_early_too(
    provider: PayfirmaProvider, sandbox: SandboxState, clock: Clock
) -> None:
    sandbox.token_lifetime = 10
    await provider.get_invoice("212947")
    clock.advance(8.9)
    await provider.get_invoice("212947")
    clock.advance(0.2)  # past 9 s: one tenth of the lifetime before expiry
    await provider.get_invoice("212947")
    assert sandbox.count("POST", TOKEN) == 2


async def test_token_refused_by_the_gateway_is_renewed_exactly_once(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    await provider.get_invoice("212947")
    sandbox.expire_tokens()  # the gateway forgets it, the client still thinks it is fresh
    invoice = await provider.get_invoice("212948")
    assert invoice.number == "212948"
    assert sandbox.count("POST", TOKEN) == 2
    assert sandbox.count("GET", "/invoice/212948") == 2


async def test_a_post_refused_for_its_token_is_repeated_once_after_renewal(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    await provider.verify()
    sandbox.expire_tokens()
    assert await provider.send_invoice("212947") == "dana@northwind.example"
    assert sandbox.count("POST", "/invoice/212947/send") == 2
    assert len(sandbox.emails) == 1  # the refused call sent nothing


async def test_401_after_renewal_is_bad_credentials(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    sandbox.inject("unauthorized", count=2, path=LIST)
    with pytest.raises(BadCredentials) as raised:
        await provider.list_invoices(InvoiceQuery())
    assert str(raised.value).startswith(
        "Payfirma refused invoicebot's access token (HTTP 401: Token revoked (sandbox fault)). "
        "It did so even after signing in again"
    )
    assert sandbox.count("POST", TOKEN) == 2 and sandbox.count("GET", LIST) == 2


async def test_bad_secret_is_bad_credentials_and_never_shown(
    make_provider: Callable[..., PayfirmaProvider],
    sandbox: SandboxState,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "wrong-secret-77e1c0"
    provider = make_provider(secret)
    with caplog.at_level(logging.DEBUG), pytest.raises(BadCredentials) as raised:
        await provider.verify()
    message = str(raised.value)
    assert message.startswith("Payfirma refused the client id or secret (invalid_client).")
    assert secret not in message and secret not in caplog.text
    assert secret not in repr(provider.credentials) and secret not in str(provider.credentials)
    assert sandbox.count("GET", LIST) == 0


async def test_token_server_errors_are_retried(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    sandbox.inject("error", count=1, path=TOKEN)
    await provider.verify()
    assert sandbox.count("POST", TOKEN) == 2


async def test_missing_expiry_assumes_five_minutes(
    aiohttp_server: Callable[..., Any], http: aiohttp.ClientSession, clock: Clock
) -> None:
    """Payfirma does not document the lifetime; without `expires_in` we renew after 270 s."""
    issued: list[str] = []

    async def token(request: web.Request) -> web.Response:
        issued.append(f"t{len(issued) + 1}")
        return web.json_response({"access_token": issued[-1], "token_type": "bearer"})

    async def one(request: web.Request) -> web.Response:
        said = request.headers["Authorization"]
        return web.json_response({"invoice_id": 7, "currency": "CAD", "total": 1, "note": said})

    app = web.Application()
    app.router.add_post("/oauth/token", token)
    app.router.add_get("/invoice/7", one)
    server = await aiohttp_server(app, host="127.0.0.1")
    base = str(server.make_url("")).rstrip("/")
    credentials = PayfirmaCredentials(
        client_id="c", client_secret="s", auth_url=base, gateway_url=base
    )
    provider = PayfirmaProvider(credentials, http, clock=clock)
    await provider.get_invoice("7")
    clock.advance(269)
    await provider.get_invoice("7")
    assert issued == ["t1"]
    clock.advance(2)
    await provider.get_invoice("7")
    assert issued == ["t1", "t2"]


async def test_every_gateway_call_carries_the_documented_headers(
    provider: PayfirmaProvider, sandbox: SandboxState, http: aiohttp.ClientSession
) -> None:
    """Payfirma's invoice page shows `Content-Type` and `Accept: application/json` and a
    bearer token on every gateway call: list, create, retrieve, send, and the payment's
    page and lookup too."""
    await provider.list_invoices(InvoiceQuery())
    made = await provider.create_invoice(
        InvoiceDraft(
            customer_name="Mary Ann Smith",
            customer_email="mary@smith.example",
            currency="CAD",
            lines=(
                InvoiceLine(
                    description="Hours",
                    quantity=Decimal(1),
                    unit_price=Money.of("11.00", "CAD"),
                    tax_percent=Decimal(0),
                ),
            ),
            due=date(2030, 1, 31),
            title="March work",
            description="Consulting, March",
        ),
        send=False,
    )
    await provider.send_invoice(made.id, None)
    options = await provider.payment_options([made.id])
    started = await provider.start_payment(pay_request(made.id, options.total))
    assert isinstance(started.start, Redirect)
    back = await pay_on_page(http, started.start.url)
    paid = await provider.check_payment(check_for(made.id, options.total, **back))
    assert paid.status is OutcomeStatus.PAID
    calls = {(seen.method, seen.path) for seen in sandbox.requests}
    assert {
        ("GET", "/invoice"),
        ("POST", "/invoice/draft"),
        ("GET", f"/invoice/{made.id}"),
        ("POST", f"/invoice/{made.id}/send"),
        ("POST", "/merchant-service/hpp/init"),
        ("GET", f"/transaction-service/transaction/lookup/{back['lookup_id']}"),
    } <= calls, calls
    for seen in sandbox.requests:
        if seen.path == TOKEN:
            continue
        assert seen.header("Accept") == "application/json", seen
        assert seen.header("Content-Type") == "application/json", seen
        assert (seen.header("Authorization") or "").startswith("Bearer "), seen
