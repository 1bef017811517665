"""i3D.net passes the provider conformance suite against its sandbox."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from yarl import URL

from bot.models import FormPost, StartedPayment
from bot.testing import Conformance
from plugins.i3d import I3DProvider
from tests.scenario.harness import forms_in


async def test_i3d_conforms(
    make_provider: Callable[..., I3DProvider], http: aiohttp.ClientSession
) -> None:
    async def pay(started: StartedPayment, token: str) -> dict[str, str]:
        """POST the form to i3D's payment page, choose to pay, read where it sends us."""
        assert isinstance(started.start, FormPost)
        async with http.post(started.start.url, data=started.start.fields) as page:
            (choice,) = forms_in(await page.text())
            action = str(page.url.join(URL(choice["action"])))
        fields = [*choice["fields"], next(b for b in choice["buttons"] if b[1] == "pay")]
        async with http.post(action, data=fields, allow_redirects=False) as back:
            return dict(parse_qsl(urlsplit(back.headers["Location"]).query))

    passed = await Conformance(
        make=make_provider,
        make_with_bad_credentials=lambda: make_provider(token="wrong-token"),
        payable="410001",
        method_id="10",
        issuer_id="INGBNL2A",
        pay=pay,
    ).run()
    assert len(passed) == 8
