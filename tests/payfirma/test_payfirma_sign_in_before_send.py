"""Payfirma refuses the access token on Send or Create (401, so nothing was done) and
signing in again fails: the invoice did not go out (or was not created), and the person
is told so, not that it may have (which has them look in PayHQ first)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.checkout import OutcomeUnknown
from bot.models import PaymentState
from bot.provider import ProviderError, Unconfirmed
from bot.web import SERVICES
from plugins.payfirma import issuing
from plugins.payfirma.provider import PayfirmaProvider
from plugins.payfirma.sandbox import SandboxState
from tests.payfirma.conftest import TOKEN
from tests.payfirma.test_payfirma_core import TEAM, bot
from tests.payfirma.test_payfirma_issuing import draft, line

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


async def test_a_create_refused_for_its_token_that_cannot_sign_in_again_created_nothing(
    provider: PayfirmaProvider, sandbox: SandboxState, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = len(sandbox.invoices)
    looked_up = issuing.customer_of

    async def then_the_token_lapses(api: Any, email: str) -> Any:
        found = await looked_up(api, email)
        sandbox.inject("unauthorized", path="/invoice")  # the create's own POST
        sandbox.inject("error", count=10, path=TOKEN)
        return found

    monkeypatch.setattr(issuing, "customer_of", then_the_token_lapses)
    with pytest.raises(ProviderError) as raised:
        await provider.create_invoice(draft(line("Hours", "1", "80")), send=True)
    assert len(sandbox.invoices) == before
    assert not isinstance(raised.value, Unconfirmed), raised.value.message
    assert "Nothing was created" in raised.value.message
