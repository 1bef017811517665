"""What approval messages and dialogs say, and that Slack would take each of them."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from bot.approvals import Outcome, Request, State
from bot.approvals_policy import Policy
from bot.models import Money
from bot.slack import values
from bot.slack.blocks import approvals as blocks
from bot.slack.subcommands import Settings, Unknown, parse
from slack_emulator import validate_message, validate_view

HOSTILE = "<!channel> *bold* <https://evil.test|click>"


def request(state: State = State.PENDING, approved_by: tuple[str, ...] = ()) -> Request:
    now = time.time()
    return Request(
        id="a" * 32, team_id="T0TEAM", provider="i3d",
        invoice_ids=("410008",), invoice_numbers=(HOSTILE,),
        amount=Money.of(Decimal("6025.80"), "EUR"), requester="U0PAYER", note=HOSTILE,
        due="2026-12-30", needed=2, approvers=("U0FINANCE", "U0CFO"), state=state,
        created_at=now, expires_at=now + 3600, approved_by=approved_by,
        reason=HOSTILE if state is State.REJECTED else None,
        rejected_by="U0CFO" if state is State.REJECTED else None,
    )  # fmt: skip


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("viewer", ["U0PAYER", "U0FINANCE", "U0CFO"])
def test_every_state_for_every_viewer_is_a_valid_message_with_provider_text_escaped(
    state: State, viewer: str
) -> None:
    shown = blocks.request_message(request(state, ("U0FINANCE",)), "i3D.net", viewer)
    assert validate_message(shown) == []
    said = str(shown)
    assert "<!channel>" not in said and "<https://evil.test" not in said
    buttons = [e.get("action_id") for b in shown["blocks"] for e in b.get("elements", [])]
    can_decide = state is State.PENDING and viewer != "U0PAYER"
    assert (blocks.APPROVE in buttons) is can_decide
    assert (values.PAY in buttons) is (state is State.APPROVED)


def test_an_expired_request_and_an_expired_approval_read_differently() -> None:
    pending = request(State.EXPIRED, ("U0FINANCE",))
    approved = request(State.EXPIRED, ("U0FINANCE", "U0CFO"))
    assert "not decided in time" in blocks.status_line(pending)
    assert "This approval has expired" in blocks.status_line(approved)
    assert "before enough people" in blocks.thread_line(pending, Outcome.EXPIRED, None)
    assert "without a payment" in blocks.thread_line(approved, Outcome.EXPIRED, None)


def test_the_dialogs_are_valid_views() -> None:
    target = values.PayTarget("i3d", ("410008",), amount=Money.of(Decimal("6025.80"), "EUR"))
    policy = Policy.parse("EUR 500 1 U0FINANCE,S0FIN; i3d USD 100 2 U0A,U0B", hours=12)
    views = [
        blocks.request_modal(target, "Pay it", "A rule", "https://hooks.slack.test/x"),
        blocks.reject_modal(request(), "i3D.net"),
        blocks.settings_modal(policy),
    ]
    for view in views:
        assert validate_view(view) == []
    said = str(views[2])
    assert "<!subteam^S0FIN>" in said and "i3d: Payments of $100.00" in said
    assert "12 hours" in said


def test_settings_is_a_subcommand_that_takes_nothing_after_it() -> None:
    assert parse("settings", lambda word: None) == Settings()
    assert isinstance(parse("settings now", lambda word: None), Unknown)
