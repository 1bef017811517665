"""Fixtures for the Payfirma plugin: a sandbox on loopback, a provider pointed at it, a
clock the tests can move, and a browser that fills in the hosted payment page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.models import Money, PaymentCheck, PaymentRequest
from plugins.payfirma import PayfirmaCredentials, PayfirmaProvider
from plugins.payfirma.sandbox import DEFAULT_HPP_TOKEN, SANDBOX, SandboxState, create_app

CLIENT_ID = "test-payfirma-client-4c1e"
CLIENT_SECRET = "test-payfirma-secret-9b7d2a"
RETURN_URL = "http://127.0.0.1:9/landing/payfirma"
REPO_ROOT = Path(__file__).resolve().parents[2]
INVOICE_API_DOC = REPO_ROOT.parent / "shared" / "reference" / "api-docs" / "payfirma-invoice-api.md"

LIST = "/invoice"
TOKEN = "/oauth/token"
HPP_INIT = "/merchant-service/hpp/init"


class Clock:
    """Monotonic time the tests move by hand, so token expiry needs no sleeping."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CardPage(HTMLParser):
    """The hosted payment page's form, as a browser reads it."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.buttons: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.action = found["action"]
        elif tag == "input":
            self.fields[found["name"]] = found.get("value", "")
        elif tag == "button":
            self.buttons.append(found["value"])


async def open_page(http: aiohttp.ClientSession, url: str) -> tuple[str, CardPage]:
    async with http.get(url) as answer:
        assert answer.status == 200 and answer.content_type == "text/html"
        html = await answer.text()
    return html, CardPage(html)


async def pay_on_page(
    http: aiohttp.ClientSession, url: str, button: str = "pay", **typed: str
) -> dict[str, str]:
    """Open the page at `url`, submit its form with `button`; the return URL's query."""
    _, page = await open_page(http, url)
    data = {**page.fields, **typed, "action": button}
    async with http.post(urljoin(url, page.action), data=data, allow_redirects=False) as answer:
        assert answer.status == 303, await answer.text()
        location = answer.headers["Location"]
    assert location.startswith(RETURN_URL + "?")
    return dict(parse_qsl(urlsplit(location).query))


def pay_request(invoice_id: str, amount: Money, **changes: Any) -> PaymentRequest:
    fields: dict[str, Any] = {
        "invoice_ids": (invoice_id,),
        "method_id": "hpp",
        "amount": amount,
        "reference": "pay_1",
        "return_url": RETURN_URL,
        "token": "link-token-0f3a",
    }
    return PaymentRequest(**(fields | changes))


def check_for(invoice_id: str, amount: Money, **landing: str) -> PaymentCheck:
    return PaymentCheck(
        invoice_ids=(invoice_id,), amount=amount, reference="pay_1", landing_params=landing
    )


@pytest.fixture
def sandbox_app() -> web.Application:
    return create_app(CLIENT_ID, CLIENT_SECRET, return_url=RETURN_URL)


@pytest.fixture
def sandbox(sandbox_app: web.Application) -> SandboxState:
    return sandbox_app[SANDBOX]


@pytest.fixture
async def server(sandbox_app: web.Application, aiohttp_server: Callable[..., Any]) -> TestServer:
    return await aiohttp_server(sandbox_app, host="127.0.0.1")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_provider(
    server: TestServer, http: aiohttp.ClientSession, clock: Clock
) -> Callable[..., PayfirmaProvider]:
    def make(secret: str = CLIENT_SECRET, **options: Any) -> PayfirmaProvider:
        base = str(server.make_url("")).rstrip("/")
        fields = {"client_id": CLIENT_ID, "client_secret": secret}
        fields |= {"auth_url": base, "gateway_url": base}
        fields |= {"hpp_token": DEFAULT_HPP_TOKEN}  # as PayHQ generated it for the account
        fields |= {key: options.pop(key) for key in ("invoice_path", "hpp_token") if key in options}
        options.setdefault("timeout", 2.0)
        options.setdefault("retry_delay", 0.01)
        options.setdefault("clock", clock)
        return PayfirmaProvider(PayfirmaCredentials(**fields), http, **options)

    return make


@pytest.fixture
def provider(make_provider: Callable[..., PayfirmaProvider]) -> PayfirmaProvider:
    return make_provider()
