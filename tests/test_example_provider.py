"""The example provider in examples/acme_billing passes the conformance suite against its
own sandbox, exactly as a third-party plugin's tests would run it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from bot.models import Redirect, StartedPayment
from bot.testing import Conformance
from examples.acme_billing import AcmeCredentials, AcmeProvider
from examples.acme_billing.sandbox import create_app


@pytest.fixture
async def sandbox() -> AsyncIterator[TestServer]:
    server = TestServer(create_app("http://127.0.0.1:9/landing/acme"), host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


async def test_the_example_provider_conforms(sandbox: TestServer) -> None:
    base = str(sandbox.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http:

        def make(key: str = "acme-demo-key") -> AcmeProvider:
            return AcmeProvider(AcmeCredentials(api_key=SecretStr(key), base_url=base), http)

        async def pay(started: StartedPayment, token: str) -> dict[str, str]:
            assert isinstance(started.start, Redirect)
            async with http.post(
                started.start.url, data={"action": "pay"}, allow_redirects=False
            ) as answer:
                return dict(parse_qsl(urlsplit(answer.headers["Location"]).query))

        passed = await Conformance(
            make=make,
            make_with_bad_credentials=lambda: make("wrong"),
            payable="ac_1",
            method_id="card",
            pay=pay,
        ).run()
    assert len(passed) == 8
