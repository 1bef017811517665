"""Findings of an attacker's trial: each test is one defect, reproduced over real HTTP."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from plugins.i3d.sandbox import SANDBOX
from tests.scenario.harness import Harness, text_of
from tests.scenario.test_injection import HOSTILE, PLANTED, raw_sequences
from tests.scenario.test_paying import get_link, refused_link


async def test_a_credit_notes_number_in_a_refusal_is_escaped(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """The refusal of a payment whose credit note another live link takes off quotes the
    credit note's number, which i3D.net writes: it must reach Slack escaped."""
    h = harness
    state = i3d_sandbox.app[SANDBOX]
    credit = state.invoices["410004"]
    state.invoices["410004"] = credit.model_copy(update={"invoiceNumber": f"CRN {PLANTED}"})
    await get_link(h, "410002")  # INV-24-0087, less the credit note
    refused, _ = await refused_link(h, "410001")
    assert "is already taken off your payment" in text_of(refused)
    assert raw_sequences(h) == []
    assert all(bad not in text_of(refused) for bad in HOSTILE)
