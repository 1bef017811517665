"""The PingProxies plugin loads through the entry point like any third-party plugin."""

from __future__ import annotations

import aiohttp
import pytest
from pydantic import SecretStr, ValidationError

from bot.plugins import make_plugin_manager, providers
from bot.provider import Direction
from plugins.pingproxies import PingProxiesCredentials, PingProxiesProvider

SECRETS = {"application_private_key": "app-s3cr3t", "password": "pw-s3cr3t"}


def credentials(**changes: str | None) -> PingProxiesCredentials:
    fields = {"application_public_key": "pub", "email": "a@b.test", **SECRETS}
    return PingProxiesCredentials.model_validate(fields | changes)


def test_registered_through_the_entry_point() -> None:
    manager = make_plugin_manager(allowed={"pingproxies"})
    assert providers(manager) == {"pingproxies": PingProxiesProvider}


def test_declares_what_it_is_and_can_do() -> None:
    assert (PingProxiesProvider.name, PingProxiesProvider.title) == ("pingproxies", "PingProxies")
    assert PingProxiesProvider.Credentials is PingProxiesCredentials
    assert PingProxiesProvider.capabilities.direction is Direction.PAYABLE
    assert not PingProxiesProvider.capabilities.pay_several
    assert not PingProxiesProvider.capabilities.create_invoices


async def test_credentials_hide_secrets_and_have_honest_defaults() -> None:
    made = credentials()
    assert isinstance(made.password, SecretStr)
    assert isinstance(made.application_private_key, SecretStr)
    for secret in SECRETS.values():
        assert secret not in repr(made) and secret not in str(made)
    assert made.base_url == "https://api.pingproxies.com"
    assert made.client_ip is None and made.client_user_agent == "invoicebot"
    async with aiohttp.ClientSession() as http:
        provider = PingProxiesProvider(made, http)
        assert provider.api.transport.base_url == "https://api.pingproxies.com"
        assert provider.api.transport.http.timeout == 10.0
        assert provider.page_size == 100


def test_client_ip_is_checked_and_blank_means_none() -> None:
    assert credentials(client_ip=" 203.0.113.7 ").client_ip == "203.0.113.7"
    assert credentials(client_ip="").client_ip is None
    with pytest.raises(ValidationError, match="“localhost” is not an IP address"):
        credentials(client_ip="localhost")


def test_base_url_must_be_a_web_address() -> None:
    with pytest.raises(ValidationError, match=r"must look like https://api\.pingproxies\.com"):
        credentials(base_url="api.pingproxies.com")
    assert credentials(base_url="http://127.0.0.1:8102/").base_url == "http://127.0.0.1:8102"


def test_the_connect_dialog_labels_are_readable() -> None:
    titles = {name: info.title for name, info in PingProxiesCredentials.model_fields.items()}
    assert titles["application_public_key"] == "Application public key"
    assert titles["email"] == "Account e-mail"
    assert not PingProxiesCredentials.model_fields["client_ip"].is_required()
