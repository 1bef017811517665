"""PingProxies passes the provider conformance suite against its sandbox (saved card)."""

from __future__ import annotations

from collections.abc import Callable

from bot.testing import Conformance
from plugins.pingproxies import PingProxiesProvider


async def test_pingproxies_conforms(make_provider: Callable[..., PingProxiesProvider]) -> None:
    passed = await Conformance(
        make=make_provider,
        make_with_bad_credentials=lambda: make_provider({"application_private_key": "wrong-key"}),
        payable="inv_sbx0101",
        method_id="pm_sbxVisa4242",
    ).run()
    assert len(passed) == 8
