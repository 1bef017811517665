"""PingProxies provider plugin: lists the account's invoices and pays them one at a time.

Registered through the `invoicebot` entry-point group like any third-party plugin;
`plugins.pingproxies.sandbox` is a local stand-in for PingProxies' Private User API and
its payment platforms. README.md says which parts of the API are confirmed and which inferred.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from pydantic import SecretStr

from bot import hookimpl
from bot.provider import Provider, Sandbox
from plugins.pingproxies.credentials import PingProxiesCredentials
from plugins.pingproxies.provider import PingProxiesProvider

__all__ = [
    "PingProxiesCredentials",
    "PingProxiesProvider",
    "register_providers",
    "register_sandboxes",
]


@hookimpl
def register_providers(register: Callable[[type[Provider]], None]) -> None:
    register(PingProxiesProvider)


def _sandbox_app(landing_url: str) -> web.Application:
    from plugins.pingproxies.sandbox import create_app

    return create_app(return_url=landing_url)


def _sandbox_credentials(base_url: str) -> PingProxiesCredentials:
    from plugins.pingproxies.sandbox import app

    return PingProxiesCredentials(
        application_public_key=app.DEFAULT_PUBLIC_KEY,
        application_private_key=SecretStr(app.DEFAULT_PRIVATE_KEY),
        email=app.DEFAULT_EMAIL,
        password=SecretStr(app.DEFAULT_PASSWORD),
        base_url=base_url,
    )


@hookimpl
def register_sandboxes(register: Callable[[Sandbox], None]) -> None:
    register(Sandbox(PingProxiesProvider.name, _sandbox_app, _sandbox_credentials))
