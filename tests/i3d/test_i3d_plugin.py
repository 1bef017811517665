"""The i3D.net plugin loads through the entry point like any third-party plugin."""

from __future__ import annotations

import aiohttp
from pydantic import SecretStr

from bot.plugins import make_plugin_manager, providers
from bot.provider import Direction
from plugins.i3d import I3DCredentials, I3DProvider


def test_registered_through_the_entry_point() -> None:
    manager = make_plugin_manager(allowed={"i3d"})
    assert providers(manager)["i3d"] is I3DProvider


def test_declares_what_it_is_and_can_do() -> None:
    assert (I3DProvider.name, I3DProvider.title) == ("i3d", "i3D.net")
    assert I3DProvider.Credentials is I3DCredentials
    assert I3DProvider.capabilities.pay_several
    assert I3DProvider.capabilities.direction is Direction.PAYABLE
    assert not I3DProvider.capabilities.create_invoices


async def test_credentials_hide_the_key_and_default_the_base_url() -> None:
    credentials = I3DCredentials(api_key=SecretStr("s3cr3t-key"))
    assert credentials.base_url == "https://api.i3d.net"
    assert "s3cr3t-key" not in repr(credentials) and "s3cr3t-key" not in str(credentials)
    async with aiohttp.ClientSession() as http:
        provider = I3DProvider(credentials, http)
        assert provider.api.base_url == "https://api.i3d.net"
        assert provider.api.http.timeout == 10.0
