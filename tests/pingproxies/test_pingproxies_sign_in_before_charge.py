"""The sign-in lapses between the reads and Invoice Pay: PingProxies refuses the pay with
401 without doing anything, and signing in again fails (a server error, a time-out). No
charge was sent, so the payer hears to try again, not that a charge is in doubt (which
would hold the invoice for a day and tell them not to pay)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.checkout import OutcomeUnknown
from bot.models import PaymentOptions, PaymentState
from bot.provider import ProviderError
from bot.web import SERVICES
from plugins.pingproxies import wire
from plugins.pingproxies.sandbox import SandboxState, billing
from tests.pingproxies.conftest import LOGIN, TEAM, pay_path

CARD = "pm_sbxVisa4242"
INVOICE = "inv_sbx0101"


@pytest.mark.parametrize("fault", ["error", "hang"])
async def test_a_charge_whose_sign_in_lapsed_and_could_not_be_renewed_was_not_sent(
    bot: TestServer, sandbox: SandboxState, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    svc = bot.app[SERVICES]
    options: PaymentOptions = await svc.checkout.options(TEAM, "pingproxies", [INVOICE])
    offered = billing.pay_option

    def then_the_sign_in_lapses(state: SandboxState, invoice_id: str) -> wire.PayOption:
        answer = offered(state, invoice_id)
        state.expire_tokens()  # the JWT runs out right after this answer
        state.hang_seconds = 15.0
        state.inject(fault, count=1, path=LOGIN)
        return answer

    monkeypatch.setattr(billing, "pay_option", then_the_sign_in_lapses)
    raised: Any = None
    try:
        await svc.checkout.start(
            team_id=TEAM,
            user_id="U0PAYER",
            provider="pingproxies",
            invoice_ids=[INVOICE],
            method_id=CARD,
            issuer_id=None,
            expected=options.total,
        )
    except ProviderError as error:
        raised = error
    assert sandbox.count("POST", pay_path(INVOICE)) == 1  # refused with 401, did nothing
    assert sandbox.invoices[INVOICE].invoice_status == "open"
    (payment,) = svc.store.payments_for_invoices(TEAM, "pingproxies", [INVOICE])
    assert not isinstance(raised, OutcomeUnknown), f"told unknown: {raised}"
    assert payment.state is PaymentState.FAILED, payment.state
    assert "Nothing was charged" in str(raised)
    monkeypatch.setattr(billing, "pay_option", offered)
    assert svc.checkout.charge_in_doubt(TEAM, "pingproxies", [INVOICE]) is None
