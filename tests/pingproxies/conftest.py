"""Fixtures for the PingProxies plugin: a sandbox on loopback, a provider pointed at it,
and invoicebot with that provider connected."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.models import Money, PaymentCheck, PaymentRequest
from bot.plugins import make_plugin_manager
from bot.settings import Settings
from bot.web import SERVICES, create_app
from plugins.pingproxies import PingProxiesCredentials, PingProxiesProvider
from plugins.pingproxies.routes import ROUTES, Operation
from plugins.pingproxies.sandbox import SANDBOX, SandboxState
from plugins.pingproxies.sandbox import create_app as create_sandbox

PUBLIC_KEY = "test-app-public-7c1e"
PRIVATE_KEY = "test-app-private-5f2c9a"
EMAIL = "billing@acme.test"
PASSWORD = "test-password-9d4b"
TEAM = "T0TEAM"
RETURN_URL = "http://127.0.0.1:9/landing/pingproxies"
REPO_ROOT = Path(__file__).resolve().parents[2]

LOGIN = ROUTES[Operation.LOGIN].url_path()
SEARCH = ROUTES[Operation.INVOICE_SEARCH].url_path()


def retrieve_path(invoice_id: str) -> str:
    return ROUTES[Operation.INVOICE_RETRIEVE].url_path(invoice_id)


def pay_option_path(invoice_id: str) -> str:
    return ROUTES[Operation.INVOICE_PAY_OPTION].url_path(invoice_id)


def pay_path(invoice_id: str) -> str:
    return ROUTES[Operation.INVOICE_PAY].url_path(invoice_id)


def request_for(invoice_id: str, amount: Money, method: str) -> PaymentRequest:
    return PaymentRequest(
        invoice_ids=(invoice_id,),
        method_id=method,
        amount=amount,
        reference="pay_42",
        return_url=RETURN_URL,
    )


def check_for(
    invoice_id: str,
    amount: Money,
    reference: str | None = None,
    landing: dict[str, str] | None = None,
) -> PaymentCheck:
    return PaymentCheck(
        invoice_ids=(invoice_id,),
        amount=amount,
        reference="pay_42",
        provider_reference=reference,
        landing_params=landing or {},
    )


class PageForm(HTMLParser):
    """The one form on the sandbox's payment page, as a browser would read it."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.action = ""
        self.buttons: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.action = found["action"]
        elif tag == "button":
            self.buttons.append(found["value"])


@pytest.fixture
def sandbox_app() -> web.Application:
    return create_sandbox(
        PUBLIC_KEY, PRIVATE_KEY, email=EMAIL, password=PASSWORD, return_url=RETURN_URL
    )


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


def credentials_at(base_url: str, **changes: Any) -> PingProxiesCredentials:
    fields: dict[str, Any] = {
        "application_public_key": PUBLIC_KEY,
        "application_private_key": PRIVATE_KEY,
        "email": EMAIL,
        "password": PASSWORD,
        "base_url": base_url,
    }
    return PingProxiesCredentials(**(fields | changes))


def credentials_for(server: TestServer, **changes: Any) -> PingProxiesCredentials:
    return credentials_at(str(server.make_url("")), **changes)


@pytest.fixture
def make_provider(
    server: TestServer, http: aiohttp.ClientSession
) -> Callable[..., PingProxiesProvider]:
    def make(credentials: dict[str, Any] | None = None, **options: Any) -> PingProxiesProvider:
        options.setdefault("timeout", 2.0)
        options.setdefault("retry_delay", 0.01)
        return PingProxiesProvider(credentials_for(server, **(credentials or {})), http, **options)

    return make


@pytest.fixture
def provider(make_provider: Callable[..., PingProxiesProvider]) -> PingProxiesProvider:
    return make_provider()


@pytest.fixture
async def bot(settings: Settings, server: TestServer) -> AsyncIterator[TestServer]:
    """invoicebot on loopback, polling fast, with workspace `TEAM` connected to the sandbox."""
    app = create_app(
        settings.model_copy(update={"poll_first_delay": 0.05, "poll_max_delay": 0.1}),
        make_plugin_manager(allowed={"pingproxies"}),
    )
    bot = TestServer(app, host="127.0.0.1")
    await bot.start_server()
    await app[SERVICES].connections.connect(
        TEAM, "pingproxies", credentials_for(server), connected_by="U0ADMIN"
    )
    try:
        yield bot
    finally:
        await bot.close()
