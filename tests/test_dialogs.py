"""A dialog closed before its next step: quiet before any work, told after it."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from bot.slack import dialogs


class Client:
    """Slack's answer to `views.update`, as `AsyncWebClient` gives it."""

    def __init__(self, error: str | None) -> None:
        self.error = error
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def views_update(self, **args: Any) -> dict[str, Any]:
        self.calls.append(("views.update", args))
        if self.error:
            raise SlackApiError("refused", {"ok": False, "error": self.error})
        return {"ok": True}


class Outbox:
    def __init__(self) -> None:
        self.queued: list[tuple[str, dict[str, Any], str, str | None]] = []

    def enqueue(
        self, method: str, args: dict[str, Any], *, key: str, team_id: str | None = None
    ) -> None:
        self.queued.append((method, args, key, team_id))


async def test_an_open_dialog_shows_the_outcome_and_nobody_is_messaged() -> None:
    client, outbox = Client(None), Outbox()
    told = dialogs.Told(outbox, "T1", "U0PAT", "Done.")
    assert await dialogs.update(client, "V1", {"type": "modal"}, tell=told)  # type: ignore[arg-type]
    assert [method for method, _ in client.calls] == ["views.update"]
    assert outbox.queued == []


async def test_a_closed_dialog_tells_its_person_directly_only_after_work() -> None:
    closed, outbox = Client("not_found"), Outbox()
    assert not await dialogs.update(closed, "V1", {"type": "modal"})  # type: ignore[arg-type]
    assert [method for method, _ in closed.calls] == ["views.update"]
    assert outbox.queued == []
    told = dialogs.Told(outbox, "T1", "U0PAT", "Done.")
    assert not await dialogs.update(Client("not_found"), "V1", {"type": "modal"}, tell=told)  # type: ignore[arg-type]
    # Through the outbox: retried while Slack is busy, kept across a restart, sent once.
    assert outbox.queued == [
        ("chat.postMessage", {"channel": "U0PAT", "text": "Done."}, "dialog-closed:V1", "T1")
    ]


async def test_any_other_refusal_is_still_an_error() -> None:
    with pytest.raises(SlackApiError):
        await dialogs.update(Client("hash_conflict"), "V1", {}, hash="h")  # type: ignore[arg-type]
