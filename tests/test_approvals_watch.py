"""The approvals watcher's rounds: one request's trouble does not hold back the others,
and a workspace Slack cannot be reached in is said once, not every round."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from bot.approvals import Approvals, Binding, Request
from bot.approvals_policy import Policy
from bot.models import Money
from bot.slack import approvals as watcher
from bot.store import Store


@pytest.fixture
def approvals(database: str) -> Approvals:
    return Approvals(Store(database), Policy.parse("EUR 500 1 U0FINANCE", hours=1))


def ask(approvals: Approvals, team_id: str, invoice: str) -> str:
    request = approvals.open(
        team_id=team_id,
        binding=Binding.of("i3d", [invoice], Money.of(Decimal("700.00"), "EUR")),
        invoice_numbers=(f"INV-{invoice}",),
        requester="U0PAYER",
        note="",
        due=None,
        needed=1,
        approvers=("U0FINANCE",),
    )
    assert request is not None
    return request.id


class Tokens:
    def __init__(self, tokens: dict[str, str | None]) -> None:
        self.tokens = tokens

    async def token(self, team_id: str | None) -> str | None:
        return self.tokens.get(team_id or "")


async def rounds(
    approvals: Approvals,
    tokens: Tokens,
    monkeypatch: pytest.MonkeyPatch,
    deliver: Callable[[Request], None],
    until: Callable[[], bool],
) -> None:
    """Run the watcher, every request taken again each round, until `until` holds."""

    async def fake_deliver(svc: Any, client: Any, request: Request) -> tuple[list[str], bool]:
        deliver(request)
        return [], False

    monkeypatch.setattr(watcher, "deliver", fake_deliver)
    monkeypatch.setattr(watcher, "REDELIVER_AFTER", 0.0)
    svc = SimpleNamespace(approvals=approvals)
    client = SimpleNamespace(base_url="", session=None, timeout=30, retry_handlers=[])
    task = asyncio.create_task(watcher.watch_forever(svc, client, tokens, tick=0.01))  # type: ignore[arg-type]
    try:
        for _ in range(500):
            if until():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the watcher never got there")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_request_that_fails_does_not_hold_back_the_next_one(
    approvals: Approvals, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Each request is sent on its own: one whose delivery broke is logged, and the
    others of the round go out now, not after their lease."""
    broken = ask(approvals, "T0ONE", "410001")
    sound = ask(approvals, "T0ONE", "410002")
    sent: list[str] = []

    def deliver(request: Request) -> None:
        if request.id == broken:
            raise RuntimeError("boom")
        sent.append(request.id)

    with caplog.at_level(logging.ERROR, logger=watcher.__name__):
        await rounds(
            approvals, Tokens({"T0ONE": "xoxb-1"}), monkeypatch, deliver, lambda: bool(sent)
        )
    assert sent[0] == sound
    assert any(broken in record.getMessage() for record in caplog.records)


async def test_a_workspace_with_no_token_is_said_once_until_it_has_one_again(
    approvals: Approvals, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Requests of a workspace with no bot token are taken again every round, but its
    outage is logged once, and once more only after a token came back and went."""
    ask(approvals, "T0GONE", "410001")
    ask(approvals, "T0GONE", "410002")
    ask(approvals, "T0HERE", "410003")
    tokens = Tokens({"T0HERE": "xoxb-1"})
    sent: list[str] = []
    with caplog.at_level(logging.WARNING, logger=watcher.__name__):
        await rounds(
            approvals, tokens, monkeypatch, lambda r: sent.append(r.team_id), lambda: len(sent) >= 5
        )
        gone = [r for r in caplog.records if "T0GONE" in r.getMessage()]
        assert len(gone) == 1, [r.getMessage() for r in caplog.records]
        assert "xoxb" not in caplog.text
        tokens.tokens["T0GONE"] = "xoxb-2"  # installed again
        sent.clear()
        await rounds(
            approvals,
            tokens,
            monkeypatch,
            lambda r: sent.append(r.team_id),
            lambda: "T0GONE" in sent,
        )
        del tokens.tokens["T0GONE"]  # and removed again
        sent.clear()
        await rounds(
            approvals, tokens, monkeypatch, lambda r: sent.append(r.team_id), lambda: len(sent) >= 5
        )
    gone = [r for r in caplog.records if "T0GONE" in r.getMessage()]
    assert len(gone) == 2, [r.getMessage() for r in caplog.records]
