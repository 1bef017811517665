"""A dialog closed before its next step: quiet before any work, told after it."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from bot.slack import dialogs


class Client:
    """Slack's answers for the three calls, as `AsyncWebClient` returns them."""

    def __init__(self, error: str | None) -> None:
        self.error = error
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def views_update(self, **args: Any) -> dict[str, Any]:
        self.calls.append(("views.update", args))
        if self.error:
            raise SlackApiError("refused", {"ok": False, "error": self.error})
        return {"ok": True}

    async def conversations_open(self, **args: Any) -> dict[str, Any]:
        self.calls.append(("conversations.open", args))
        return {"ok": True, "channel": {"id": "D0PAT"}}

    async def chat_postMessage(self, **args: Any) -> dict[str, Any]:
        self.calls.append(("chat.postMessage", args))
        return {"ok": True}


async def test_an_open_dialog_shows_the_outcome_and_nobody_is_messaged() -> None:
    client = Client(None)
    assert await dialogs.update(client, "V1", {"type": "modal"}, tell=("U0PAT", "Done."))  # type: ignore[arg-type]
    assert [method for method, _ in client.calls] == ["views.update"]


async def test_a_closed_dialog_tells_its_person_directly_only_after_work() -> None:
    closed = Client("not_found")
    assert not await dialogs.update(closed, "V1", {"type": "modal"})  # type: ignore[arg-type]
    assert [method for method, _ in closed.calls] == ["views.update"]
    told = Client("not_found")
    assert not await dialogs.update(told, "V1", {"type": "modal"}, tell=("U0PAT", "Done."))  # type: ignore[arg-type]
    assert told.calls[1:] == [
        ("conversations.open", {"users": "U0PAT"}),
        ("chat.postMessage", {"channel": "D0PAT", "text": "Done."}),
    ]


async def test_any_other_refusal_is_still_an_error() -> None:
    with pytest.raises(SlackApiError):
        await dialogs.update(Client("hash_conflict"), "V1", {}, hash="h")  # type: ignore[arg-type]
