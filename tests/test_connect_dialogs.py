"""Connect dialogs read like a form for a finance admin, not a settings file."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot.provider import BadCredentials, Provider
from bot.slack.connect import connect_modal, connect_problem, is_advanced
from plugins.i3d.provider import I3DProvider
from plugins.payfirma.provider import PayfirmaProvider
from plugins.pingproxies.provider import PingProxiesProvider
from slack_emulator.blockkit import validate_view
from tests.plugin_files.acme_provider import AcmeProvider

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


def test_a_field_with_more_choices_than_a_menu_holds_still_opens() -> None:
    """A plugin's field may offer more choices than Slack's select holds (a region, a
    country): past 100, Slack refused the connect dialog and it never opened."""
    regions = tuple(f"region-{n:03d}" for n in range(150))

    class Regional(AcmeProvider):
        Credentials = create_model("Credentials", region=(Literal[regions], "region-120"))

    view = connect_modal(Regional)
    assert validate_view(view) == []
    (region,) = [b for b in view["blocks"] if b["block_id"] == "region"]
    groups = region["element"]["option_groups"]
    assert [o["value"] for g in groups for o in g["options"]] == list(regions)
    assert region["element"]["initial_option"]["value"] == "region-120"


def typed(cls: type[Provider], **values: str) -> dict[str, str] | object:
    """What `parse_credentials` makes of a submitted connect dialog holding `values`."""
    from bot.slack.connect import parse_credentials

    state = {name: {"value": {"value": value}} for name, value in values.items()}
    return parse_credentials(cls, {"state": {"values": state}})


PINGPROXIES = {
    "application_public_key": "pub",
    "application_private_key": "priv",
    "email": "pat@acme.test",
    "password": "hunter2",
}


def test_a_field_error_names_the_field_and_says_what_to_do() -> None:
    """Not pydantic's "String should have at least 3 characters"."""
    assert typed(PingProxiesProvider, **{**PINGPROXIES, "email": "ab"}) == {
        "email": "The account e-mail is too short: type all of it (at least 3 characters)."
    }
    forged = {"client_id": "id", "client_secret": "s", "environment": "staging"}
    assert typed(PayfirmaProvider, **forged) == {
        "environment": "Which Payfirma account: choose one of the options listed."
    }


def test_a_plugins_own_words_are_shown_as_written() -> None:
    assert typed(I3DProvider, api_key="k", base_url="api.i3d.net") == {
        "base_url": "The address must look like https://api.i3d.net, not “api.i3d.net”."
    }
    assert typed(PingProxiesProvider, **{**PINGPROXIES, "client_ip": "999.1.1.1"}) == {
        "client_ip": "“999.1.1.1” is not an IP address: type one like 203.0.113.7."
    }


class StrictCredentials(BaseModel):
    api_key: SecretStr = Field(title="API key", min_length=8, max_length=12)
    account: str = Field(title="Account number", pattern=r"^\d+$")
    seats: int = Field(default=1, title="Seats", ge=1, json_schema_extra={"advanced": True})
    region: str = Field(title="This account's region", json_schema_extra={"advanced": True})
    note: str | None = Field(default=None, title="Note", json_schema_extra={"advanced": True})

    @field_validator("note")
    @classmethod
    def _no_shouting(cls, value: str | None) -> str | None:
        if value and value.isupper():
            raise PydanticCustomError(
                "shouting", "Write the note in {case} case", {"case": "lower"}
            )
        return value

    @model_validator(mode="after")
    def _not_the_example(self) -> StrictCredentials:
        if self.account == "1234":
            raise ValueError("1234 is the example account: type your own")
        return self


class Strict(AcmeProvider):
    name = "strict"
    title = "Strict Billing"
    Credentials = StrictCredentials


def test_every_kind_of_problem_is_a_sentence_on_its_own_field() -> None:
    """One translation for every model: a plugin declares constraints, not messages."""
    inputs = {b["block_id"] for b in connect_modal(Strict)["blocks"] if b["type"] == "input"}
    errors = typed(Strict, api_key="short", account="12-34", seats="none", note="LOUD")
    assert errors == {
        "api_key": "The API key is too short: paste all of it (at least 8 characters).",
        "account": "The account number does not look right: type it again exactly as you "
        "were given it.",
        "seats": "The seats must be a whole number, in digits only.",
        "region": "This account's region is needed: type it here.",
        "note": "Write the note in lower case",
    }
    assert typed(Strict, api_key="k" * 13, account="7", seats="0", region="eu") == {
        "api_key": "The API key is too long (at most 12 characters): paste only it, with "
        "nothing around it.",
        "seats": "The seats must be 1 or more.",
    }
    whole = typed(Strict, api_key="k" * 8, account="1234", region="eu")
    assert whole == {"api_key": "1234 is the example account: type your own"}
    assert isinstance(errors, dict) and set(errors) <= inputs and set(whole) <= inputs


def test_pasted_values_lose_their_spaces_but_a_password_keeps_its_own() -> None:
    """A key copied with a space or a line break after it is the key; a password is
    exactly what was typed, since one may begin or end with a space."""
    i3d = typed(I3DProvider, api_key="  k3y-from-the-panel \n", base_url="   ")
    assert isinstance(i3d, BaseModel)
    assert i3d.model_dump()["api_key"].get_secret_value() == "k3y-from-the-panel"
    assert i3d.model_dump()["base_url"] == "https://api.i3d.net"  # spaces only: the default
    ping = typed(
        PingProxiesProvider,
        application_public_key=" pub ",
        application_private_key="priv\t",
        email=" finance@example.com ",
        password=" pass word ",
    )
    assert isinstance(ping, BaseModel)
    dumped = ping.model_dump()
    assert (dumped["application_public_key"], dumped["email"]) == ("pub", "finance@example.com")
    assert dumped["application_private_key"].get_secret_value() == "priv"
    assert dumped["password"].get_secret_value() == " pass word "
    missing = typed(I3DProvider)  # spaces alone are no key: said as for an empty field
    assert isinstance(missing, dict) and typed(I3DProvider, api_key="   ") == missing


def test_a_refusal_keeps_the_providers_own_spelling() -> None:
    """A reason opening with the provider's name starts the sentence as the name is
    spelled: "i3D.net refused…", never "I3D.net refused…"."""
    error = BadCredentials("i3D.net refused the API key: Invalid credentials.")
    shown = connect_problem(I3DProvider, error, connected=False)
    assert "i3D.net refused the API key" in shown and "I3D.net" not in shown
    lower = connect_problem(I3DProvider, BadCredentials("invalid key."), connected=False)
    assert lower.endswith("Invalid key.")
