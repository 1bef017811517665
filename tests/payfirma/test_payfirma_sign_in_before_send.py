"""Payfirma refuses the access token on Send (401, so nothing was sent) and signing in
again fails: the invoice did not go out, and the sender is told so, not that it may have
gone out (which has them look in PayHQ and leaves the customer without it)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer

from bot.checkout import OutcomeUnknown
from bot.models import PaymentState
from bot.provider import ProviderError
from bot.web import SERVICES
from plugins.payfirma.sandbox import SandboxState
from tests.payfirma.conftest import TOKEN
from tests.payfirma.test_payfirma_core import TEAM, bot

__all__ = ["bot"]


@pytest.mark.parametrize("fault", ["error", "hang"])
async def test_a_send_refused_for_its_token_that_cannot_sign_in_again_was_not_sent(
    bot: TestServer, sandbox: SandboxState, fault: str
) -> None:
    svc = bot.app[SERVICES]
    await svc.checkout.options(TEAM, "payfirma", ["212948"])  # signed in
    sandbox.hang_seconds = 15.0
    sandbox.inject("unauthorized", path="/invoice/212948/send")
    sandbox.inject(fault, count=10, path=TOKEN)
    with pytest.raises(ProviderError) as raised:
        await svc.checkout.send_by_email(
            team_id=TEAM, user_id="U0PAYER", provider="payfirma", invoice_id="212948", to=None
        )
    assert sandbox.emails == []
    (payment,) = svc.store.payments_for_invoices(TEAM, "payfirma", ["212948"])
    assert not isinstance(raised.value, OutcomeUnknown), raised.value.message
    assert payment.state is PaymentState.FAILED
    assert "Nothing was sent" in raised.value.message
