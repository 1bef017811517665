"""Payfirma passes the provider conformance suite against its sandbox."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from bot.models import Redirect, StartedPayment
from bot.testing import Conformance
from plugins.payfirma import PayfirmaProvider
from plugins.payfirma.sandbox import SandboxState
from tests.payfirma.conftest import RETURN_URL, pay_on_page


async def test_payfirma_conforms(
    make_provider: Callable[..., PayfirmaProvider],
    sandbox: SandboxState,
    http: aiohttp.ClientSession,
) -> None:
    sandbox.return_url = RETURN_URL

    async def pay(started: StartedPayment, token: str) -> dict[str, str]:
        assert isinstance(started.start, Redirect)
        return await pay_on_page(http, started.start.url)

    passed = await Conformance(
        make=make_provider,
        make_with_bad_credentials=lambda: make_provider(secret="wrong-secret"),
        payable="212948",
        method_id="hpp",
        pay=pay,
    ).run()
    assert len(passed) == 8
