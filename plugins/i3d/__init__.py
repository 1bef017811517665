"""i3D.net provider plugin: lists the team's i3D.net invoices and pays them by redirect.

Registered through the `invoicebot` entry-point group like any third-party plugin;
`plugins.i3d.sandbox` is a local stand-in for i3D's API and payment page.
"""

from __future__ import annotations

from collections.abc import Callable

from bot import hookimpl
from bot.provider import Provider
from plugins.i3d.provider import I3DCredentials, I3DProvider

__all__ = ["I3DCredentials", "I3DProvider", "register_providers"]


@hookimpl
def register_providers(register: Callable[[type[Provider]], None]) -> None:
    register(I3DProvider)
