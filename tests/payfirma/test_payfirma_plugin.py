"""The Payfirma plugin loads through the entry point like any third-party plugin."""

from __future__ import annotations

import aiohttp
from pydantic import SecretStr

from bot.plugins import make_plugin_manager, providers
from bot.provider import Direction
from bot.slack.connect import connect_modal
from plugins.payfirma import PayfirmaCredentials, PayfirmaProvider


def test_registered_through_the_entry_point() -> None:
    manager = make_plugin_manager(allowed={"payfirma"})
    assert providers(manager) == {"payfirma": PayfirmaProvider}


def test_declares_what_it_is_and_can_do() -> None:
    assert (PayfirmaProvider.name, PayfirmaProvider.title) == ("payfirma", "Payfirma")
    assert PayfirmaProvider.Credentials is PayfirmaCredentials
    capabilities = PayfirmaProvider.capabilities
    assert capabilities.direction is Direction.RECEIVABLE
    assert capabilities.create_invoices and capabilities.send_by_email
    assert not capabilities.pay_several


async def test_credentials_hide_secrets_and_default_to_the_sandbox() -> None:
    credentials = PayfirmaCredentials(
        client_id="abc", client_secret=SecretStr("s3cr3t"), hpp_token=SecretStr("hpp-s3cr3t")
    )
    assert credentials.environment == "sandbox" and credentials.invoice_path == "/invoice"
    assert "s3cr3t" not in repr(credentials) and "s3cr3t" not in str(credentials)
    async with aiohttp.ClientSession() as http:
        provider = PayfirmaProvider(credentials, http)
        assert provider.tokens.url == "https://sandbox-auth.payfirma.com/oauth/token"
        assert provider.api.gateway_url == "https://sandbox-apigateway.payfirma.com"
        assert provider.api.http.timeout == 10.0
        live = PayfirmaProvider(credentials.model_copy(update={"environment": "production"}), http)
        assert live.tokens.url == "https://auth.payfirma.com/oauth/token"
        assert live.api.gateway_url == "https://apigateway.payfirma.com"


def test_the_connect_dialog_offers_the_choices() -> None:
    blocks = {block["block_id"]: block for block in connect_modal(PayfirmaProvider)["blocks"]}
    environment = blocks["environment"]["element"]
    assert [o["value"] for o in environment["options"]] == ["sandbox", "production"]
    assert environment["initial_option"]["value"] == "sandbox"
    assert [o["value"] for o in blocks["invoice_path"]["element"]["options"]] == [
        "/invoice",
        "/invoice-service/invoice",
    ]
    assert not blocks["client_secret"].get("optional")
    assert blocks["hpp_token"]["optional"] and blocks["gateway_url"]["optional"]
