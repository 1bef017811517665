"""i3D.net provider plugin: lists the team's i3D.net invoices and pays them by redirect.

Registered through the `invoicebot` entry-point group like any third-party plugin;
`plugins.i3d.sandbox` is a local stand-in for i3D's API and payment page.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from pydantic import SecretStr

from bot import hookimpl
from bot.provider import Provider, Sandbox
from plugins.i3d.provider import I3DCredentials, I3DProvider

__all__ = ["I3DCredentials", "I3DProvider", "register_providers", "register_sandboxes"]

SANDBOX_TOKEN = "sandbox-i3d-token"  # noqa: S105 - the local sandbox's public demo key


@hookimpl
def register_providers(register: Callable[[type[Provider]], None]) -> None:
    register(I3DProvider)


def _sandbox_app(landing_url: str) -> web.Application:
    from plugins.i3d.sandbox import create_app

    return create_app(SANDBOX_TOKEN, return_url=landing_url)


@hookimpl
def register_sandboxes(register: Callable[[Sandbox], None]) -> None:
    register(
        Sandbox(
            provider=I3DProvider.name,
            make_app=_sandbox_app,
            credentials=lambda base_url: I3DCredentials(
                api_key=SecretStr(SANDBOX_TOKEN), base_url=base_url
            ),
        )
    )
