"""The `/invoices` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

COMMAND = "/invoices"

# Every slash command the app answers; the manifest must declare each (a test checks).
COMMANDS: tuple[str, ...] = (COMMAND,)

HELP = (
    "*invoicebot* shows and settles invoices from your connected providers.\n"
    "• `/invoices help`: this message"
)


async def on_invoices(ack: AsyncAck, command: dict[str, Any]) -> None:
    text = (command.get("text") or "").strip()
    if text in ("", "help"):
        await ack(text=HELP, response_type="ephemeral")
        return
    await ack(text=f"I don't know `{text.split()[0]}`.\n\n{HELP}", response_type="ephemeral")


def register(app: AsyncApp) -> None:
    for name in COMMANDS:
        app.command(name)(on_invoices)
