"""Connect dialogs read like a form for a finance admin, not a settings file."""

from __future__ import annotations

import pytest

from bot.provider import Provider
from bot.slack.connect import connect_modal, is_advanced
from plugins.i3d.provider import I3DProvider
from plugins.payfirma.provider import PayfirmaProvider
from plugins.pingproxies.provider import PingProxiesProvider
from slack_emulator.blockkit import validate_view

PROVIDERS = [I3DProvider, PingProxiesProvider, PayfirmaProvider]


@pytest.mark.parametrize("cls", PROVIDERS, ids=lambda cls: cls.name)
def test_every_field_has_a_human_title_and_says_where_to_find_it(cls: type[Provider]) -> None:
    view = connect_modal(cls)
    assert validate_view(view) == []
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    for name, info in cls.Credentials.model_fields.items():
        block = inputs[name]
        assert info.title, name
        assert block["label"]["text"] == info.title
        assert block["hint"]["text"] == info.description, name
    labels = " ".join(b["label"]["text"] for b in inputs.values())
    for developer_word in ("Api key", "Hpp token", "Base url", "Invoice path"):
        assert developer_word not in labels


@pytest.mark.parametrize("cls", PROVIDERS, ids=lambda cls: cls.name)
def test_advanced_fields_come_last_optional_and_empty(cls: type[Provider]) -> None:
    view = connect_modal(cls)
    order = [b["block_id"] for b in view["blocks"]]
    fields = cls.Credentials.model_fields
    advanced = [name for name, info in fields.items() if is_advanced(info)]
    assert advanced, "every plugin has an address with a default"
    assert order.index("advanced") < min(order.index(name) for name in advanced)
    assert all(
        order.index(name) < order.index("advanced")
        for name, info in fields.items()
        if not is_advanced(info)
    )
    for block in view["blocks"]:
        if block["block_id"] in advanced:
            assert block["optional"] is True
            assert "initial_value" not in block["element"]


def test_an_empty_advanced_field_means_its_default() -> None:
    from bot.slack.connect import parse_credentials

    view = {"state": {"values": {"api_key": {"value": {"value": "k"}}}}}
    credentials = parse_credentials(I3DProvider, view)
    assert not isinstance(credentials, dict)
    assert credentials.model_dump()["base_url"] == "https://api.i3d.net"


def test_payfirma_accounts_are_named_for_people() -> None:
    blocks = {b["block_id"]: b for b in connect_modal(PayfirmaProvider)["blocks"]}
    options = blocks["environment"]["element"]["options"]
    assert [(o["text"]["text"], o["value"]) for o in options] == [
        ("Sandbox (test)", "sandbox"),
        ("Live", "production"),
    ]
    assert "PayHQ" in blocks["client_id"]["hint"]["text"]
