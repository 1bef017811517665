"""Payfirma provider plugin: the team's Payfirma invoices, paid by its customers by card.

Registered through the `invoicebot` entry-point group like any third-party plugin;
`plugins.payfirma.sandbox` is a local stand-in for Payfirma's sign-in service, API
gateway and hosted payment page, offered to `invoicebot demo` and imported only there.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from pydantic import BaseModel

from bot import hookimpl
from bot.provider import Provider, Sandbox
from plugins.payfirma.credentials import PayfirmaCredentials
from plugins.payfirma.provider import PayfirmaProvider

__all__ = ["PayfirmaCredentials", "PayfirmaProvider", "register_providers", "register_sandboxes"]


@hookimpl
def register_providers(register: Callable[[type[Provider]], None]) -> None:
    register(PayfirmaProvider)


def _sandbox_app(landing_url: str) -> web.Application:
    from plugins.payfirma.sandbox import create_app

    return create_app(return_url=landing_url)


def _sandbox_credentials(base_url: str) -> BaseModel:
    """The sandbox's own client; one app is both the sign-in host and the gateway."""
    from plugins.payfirma.sandbox import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_HPP_TOKEN,
    )

    return PayfirmaCredentials.model_validate(
        {
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "auth_url": base_url,
            "gateway_url": base_url,
            "hpp_token": DEFAULT_HPP_TOKEN,
        }
    )


@hookimpl
def register_sandboxes(register: Callable[[Sandbox], None]) -> None:
    register(
        Sandbox(
            provider=PayfirmaProvider.name,
            make_app=_sandbox_app,
            credentials=_sandbox_credentials,
        )
    )
