"""Connecting a provider again in the demo keeps it on the machine, as the README promises."""

from __future__ import annotations

from bot.demo import Demo
from bot.slack.connect import is_advanced, parse_credentials
from bot.web import SERVICES
from slack_emulator import EMULATOR

ADMIN = "U0ADMIN"


async def test_each_connect_dialog_offers_the_local_sandbox_as_its_address(demo: Demo) -> None:
    slack = demo.slack[EMULATOR]
    registry = demo.bot[SERVICES].connections.registry
    for name, cls in registry.items():
        await slack.slash_command(ADMIN, "C0GENERAL", f"connect {name}")
        modal = await slack.wait_until(
            lambda title=cls.title: (
                (m := slack.modal(ADMIN)) and title in str(m.definition["title"]) and m
            )
        )
        shown = {b["block_id"]: b for b in modal.definition["blocks"]}
        addresses = [
            field
            for field, info in cls.Credentials.model_fields.items()
            if is_advanced(info) and field.endswith("_url")
        ]
        assert addresses, name
        for field in addresses:
            placeholder = shown[field]["element"]["placeholder"]["text"]
            assert "Empty: http://127.0.0.1:" in placeholder, (name, field, placeholder)
        await slack.close_view(ADMIN, everything=True)


async def test_an_address_left_empty_in_the_demo_means_the_local_sandbox(demo: Demo) -> None:
    svc = demo.bot[SERVICES]
    cls = svc.connections.registry["i3d"]
    view = {"state": {"values": {"api_key": {"value": {"value": "k"}}}}}
    credentials = parse_credentials(cls, view, svc.connect_defaults.get("i3d"))
    assert not isinstance(credentials, dict)
    assert credentials.model_dump()["base_url"].startswith("http://127.0.0.1:")
    typed = {
        "state": {
            "values": {
                **view["state"]["values"],
                "base_url": {"value": {"value": "https://api.i3d.net"}},
            }
        }
    }
    credentials = parse_credentials(cls, typed, svc.connect_defaults.get("i3d"))
    assert not isinstance(credentials, dict)
    assert credentials.model_dump()["base_url"] == "https://api.i3d.net"
