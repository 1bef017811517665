"""What a person does in the local Slack, timed: type a command, wait for what it shows."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from bench.world import CHANNEL, USER, World
from slack_emulator.workspace import Message


def everything_in(message: Message) -> str:
    return message.text + " " + str(message.blocks)


def busy(message: Message) -> bool:
    """The note the bot shows while it works (within a second of a click): not the answer."""
    return (
        message.text.startswith(":hourglass_flowing_sand:") or "Fetching invoices" in message.text
    )


async def list_invoices(
    world: World, text: str = "", seconds: float = 60.0
) -> tuple[float, Message]:
    """Type `/invoices text`; the seconds until the list replaces the placeholder."""
    slack = world.emulator
    before = {m.ts for m in slack.ephemerals(USER, CHANNEL)}
    began = time.perf_counter()
    await slack.slash_command(USER, CHANNEL, text)

    def listed() -> Message | None:
        for message in slack.ephemerals(USER, CHANNEL):
            if message.ts not in before and not busy(message):
                return message
        return None

    message = await slack.wait_until(listed, seconds)
    return time.perf_counter() - began, message


def button(message: Message, action_id: str, contains: str = "") -> dict[str, Any]:
    for block in message.blocks:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id and contains in element.get("value", ""):
                return dict(element)
    raise LookupError(f"no {action_id} in {message.text!r}")


async def click_and_wait(
    world: World, message: Message, action_id: str, seconds: float = 60.0
) -> tuple[float, Message]:
    """Click a button of `message`; the seconds until the message shows something else."""
    slack = world.emulator
    value = button(message, action_id)["value"]
    changed_from = everything_in(message)
    began = time.perf_counter()
    await slack.click(USER, message, action_id, value=value)

    def changed() -> Message | None:
        for shown in slack.ephemerals(USER, CHANNEL):
            if shown.ts == message.ts and everything_in(shown) != changed_from and not busy(shown):
                return shown
        return None

    shown = await slack.wait_until(changed, seconds)
    return time.perf_counter() - began, shown


class PayFlow:
    """A payer paying LOAD-<invoice_id> by iDEAL with ING, step by step in the local Slack."""

    def __init__(self, world: World, invoice_id: str) -> None:
        self.world = world
        self.invoice_id = invoice_id
        slack = world.emulator
        self.earlier = {m.ts for m in slack.ephemerals(USER, CHANNEL)}  # other payments'

    async def shown(self, wanted: str, action_id: str) -> Message:
        """The newest message of this payment that says `wanted` and offers `action_id`."""
        slack = self.world.emulator

        def find() -> Message | None:
            for message in reversed(slack.ephemerals(USER, CHANNEL)):
                if message.ts in self.earlier or wanted not in everything_in(message):
                    continue
                with contextlib.suppress(LookupError):
                    button(message, action_id)
                    return message
            return None

        return await slack.wait_until(find, 30)

    async def menu(self) -> Message:
        """Listed, Pay clicked, iDEAL and ING chosen: the menu offering Get link."""
        slack = self.world.emulator
        _, listing = await list_invoices(self.world, f"search LOAD-{self.invoice_id}")
        pay = button(listing, "pay", f"|{self.invoice_id}|")
        await slack.click(USER, listing, "pay", value=pay["value"])
        menu = await self.shown("Choose how to pay", "choose_method")
        await slack.click(USER, menu, "choose_method", selected="10")
        menu = await self.shown("Choose your bank", "choose_issuer")
        await slack.click(USER, menu, "choose_issuer", selected="INGBNL2A")
        return await self.shown("iDEAL (ING)", "get_link")

    async def link(self, menu: Message) -> tuple[float, str]:
        """Get link clicked on `menu`: the seconds until the link shows, and its URL."""
        began = time.perf_counter()
        await self.world.emulator.click(USER, menu, "get_link")
        shown = await self.shown("Open payment page", "open_link")
        return time.perf_counter() - began, str(button(shown, "open_link")["url"])
