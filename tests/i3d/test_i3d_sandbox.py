"""The sandbox itself: auth, paging, what paying changes, and its knobs from Python and HTTP."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from plugins.i3d.sandbox import SandboxState, generate_invoices
from tests.i3d.conftest import REPO_ROOT, TOKEN

LIST = "/v3/account/invoice"
REGISTER = "/v3/account/invoice/pay/register"
AUTH = {"PRIVATE-TOKEN": TOKEN}


async def get_json(
    http: aiohttp.ClientSession, url: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    async with http.get(url, headers=headers) as answer:
        return answer.status, await answer.json()


async def decide(
    http: aiohttp.ClientSession, server: TestServer, sandbox: SandboxState, ids: str, action: str
) -> str:
    body = {"invoiceIds": ids, "paymentMethodId": 20, "issuerId": ""}
    async with http.post(server.make_url(REGISTER), json=body, headers=AUTH) as answer:
        assert answer.status == 200
    transaction = sandbox.last_transaction
    assert transaction is not None
    async with http.post(
        server.make_url("/psp/pay/decide"),
        data={"transactionId": transaction, "action": action},
        allow_redirects=False,
    ) as answer:
        assert answer.status == 303
    return transaction


async def test_no_token_no_data(server: TestServer, http: aiohttp.ClientSession) -> None:
    status, body = await get_json(http, server.make_url(LIST))
    assert (status, body["errorMessage"]) == (403, "Invalid credentials")


async def test_default_range_is_25(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    sandbox.add_invoices(generate_invoices(40, now=0))
    async with http.get(server.make_url(LIST), headers=AUTH) as answer:
        assert len(await answer.json()) == 25
        assert answer.headers["RANGED-DATA"] == "start=0,results=25,total=48"


async def test_paying_marks_invoices_paid(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    before = time.time()
    await decide(http, server, sandbox, "410001,410002", "pay")
    for key in ("410001", "410002", "410004"):  # and the EUR credit note, settled
        item = sandbox.invoices[key]
        assert (item.paymentStatus, item.remainingAmount) == (1, "0")
        assert item.totalPaidAmount == item.amountIncVAT
        assert before - 1 <= item.paymentDate <= time.time() + 1


async def test_one_invoice_of_a_set_can_be_booked_paid_over_http(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    """As if its money came by other means: the list shows it paid, the other of its set
    open, and paying both is refused from then on."""
    booked = server.make_url("/_sandbox/paid")
    async with http.post(booked, json={"invoice": "410001"}) as answer:
        assert answer.status == 204
    paid, other = sandbox.invoices["410001"], sandbox.invoices["410002"]
    assert (paid.paymentStatus, paid.remainingAmount) == (1, "0")
    assert paid.totalPaidAmount == paid.amountIncVAT
    assert (other.paymentStatus, other.remainingAmount) == (0, other.amountIncVAT)
    for body, why in (
        ({"invoice": "410001"}, "is not open"),
        ({"invoice": "999"}, "no invoice '999'"),
        ({"invoice": "410002", "also": 1}, "also"),
    ):
        async with http.post(booked, json=body) as answer:
            assert answer.status == 400 and why in await answer.text(), body
    body = {"invoiceIds": "410001,410002", "paymentMethodId": 20, "issuerId": ""}
    async with http.post(server.make_url(REGISTER), json=body, headers=AUTH) as answer:
        assert answer.status == 422


async def test_cancelling_changes_nothing(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    untouched = dict(sandbox.invoices)
    transaction = await decide(http, server, sandbox, "410005", "cancel")
    assert sandbox.invoices == untouched
    assert sandbox.transactions[transaction].status == "cancelled"
    # a second decision on the same transaction is ignored
    async with http.post(
        server.make_url("/psp/pay/decide"),
        data={"transactionId": transaction, "action": "pay"},
        allow_redirects=False,
    ) as answer:
        assert answer.status == 303 and "status=cancelled" in answer.headers["Location"]
    assert sandbox.invoices == untouched


async def test_payment_page_refuses_unknown_transactions(
    server: TestServer, http: aiohttp.ClientSession
) -> None:
    async with http.post(server.make_url("/psp/pay"), data={"transactionId": "tx_x"}) as answer:
        assert answer.status == 404
        assert "This payment link is not valid." in await answer.text()


async def test_faults_and_settings_over_http(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    order = {"kind": "error", "count": 2, "path": LIST}
    async with http.post(server.make_url("/_sandbox/faults"), json=order) as answer:
        assert answer.status == 201
        assert (await answer.json())["faults"] == [
            {"kind": "error", "remaining": 2, "path": LIST, "method": None}
        ]
    statuses = [(await get_json(http, server.make_url(LIST), AUTH))[0] for _ in range(3)]
    assert statuses == [500, 500, 200]
    sandbox.inject("error", path=LIST, method="GET")  # a fault for one method fires too
    assert (await get_json(http, server.make_url(LIST), AUTH))[0] == 500

    sandbox.inject("malformed")
    async with http.delete(server.make_url("/_sandbox/faults")) as answer:
        assert answer.status == 204
    assert sandbox.faults == []

    change = {"latency": 0.15, "return_url": "http://127.0.0.1:9/back"}
    async with http.post(server.make_url("/_sandbox/settings"), json=change) as answer:
        assert (await answer.json())["return_url"] == "http://127.0.0.1:9/back"
    assert (sandbox.latency, sandbox.return_url) == (0.15, "http://127.0.0.1:9/back")
    started = time.monotonic()
    await get_json(http, server.make_url(LIST), AUTH)
    assert time.monotonic() - started >= 0.15

    async with http.post(server.make_url("/_sandbox/faults"), json={"kind": "boom"}) as answer:
        assert answer.status == 400


async def test_generate_invoices_for_load_tests(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    for _ in range(2):
        async with http.post(server.make_url("/_sandbox/invoices"), json={"count": 500}) as answer:
            assert answer.status == 201
    assert len(sandbox.invoices) == 1008
    assert len({item.invoiceNumber for item in sandbox.invoices.values()}) == 1008


async def test_calls_are_counted_by_route_for_other_processes(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    """What `python -m bench` reads to count a click's pay calls; routes, not paths, and
    only the API's own requests (the control routes and unknown paths name no route)."""
    for _ in range(2):
        await get_json(http, server.make_url(LIST), AUTH)
    await get_json(http, server.make_url("/v3/no/such/route"), AUTH)
    async with http.post(server.make_url(REGISTER), json={}, headers=AUTH) as answer:
        assert answer.status == 422
    async with http.get(server.make_url("/_sandbox/calls")) as answer:
        assert await answer.json() == {
            f"GET {LIST}": 2,
            "GET (no route)": 1,
            f"POST {REGISTER}": 1,
        }
    assert sum(sandbox.calls.values()) == len(sandbox.requests) == 4


def test_faults_are_validated_from_python(sandbox: SandboxState) -> None:
    with pytest.raises(ValueError, match="unknown fault 'boom'"):
        sandbox.inject("boom")  # type: ignore[arg-type]
    sandbox.inject("error", count=2, path=LIST)
    assert sandbox.take_fault("/v3/other") is None
    assert [sandbox.take_fault(LIST) for _ in range(3)] == ["error", "error", None]


async def test_runs_standalone_on_loopback(http: aiohttp.ClientSession) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "plugins.i3d.sandbox",
        "--port",
        str(port),
        "--token",
        "standalone",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}{LIST}"
        for _ in range(100):
            try:
                status, body = await get_json(http, url, {"PRIVATE-TOKEN": "standalone"})
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        else:
            pytest.fail("the standalone sandbox did not start within 5 s")
        assert status == 200 and len(body) == 8
    finally:
        process.terminate()
        await process.wait()
