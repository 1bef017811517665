"""The sandbox itself: sign-in, bearer checks, both prefixes, the processor rule, knobs."""

from __future__ import annotations

import asyncio
import base64
import socket
import sys
import time
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from plugins.payfirma import wire
from plugins.payfirma.sandbox import SandboxState, generate_invoices
from plugins.payfirma.sandbox.billing import decide
from tests.payfirma.conftest import CLIENT_ID, CLIENT_SECRET, LIST, REPO_ROOT, TOKEN

FORM = {"grant_type": "client_credentials"}


def basic(client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> dict[str, str]:
    pair = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


async def call(
    http: aiohttp.ClientSession, method: str, url: Any, **kwargs: Any
) -> tuple[int, Any]:
    async with http.request(method, url, **kwargs) as answer:
        return answer.status, wire.decode(await answer.read())


async def token_for(http: aiohttp.ClientSession, server: TestServer) -> dict[str, str]:
    status, body = await call(http, "POST", server.make_url(TOKEN), data=FORM, headers=basic())
    assert status == 200
    return {"Authorization": f"Bearer {body['access_token']}"}


@pytest.mark.parametrize(
    ("headers", "form"),
    [
        (basic(), FORM),
        ({}, FORM | {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}),
        (basic(), FORM | {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}),
    ],
    ids=["basic", "form", "both"],
)
async def test_token_with_basic_or_form_credentials(
    server: TestServer, http: aiohttp.ClientSession, headers: dict[str, str], form: dict[str, str]
) -> None:
    status, body = await call(http, "POST", server.make_url(TOKEN), data=form, headers=headers)
    assert status == 200
    assert set(body) == {"access_token", "token_type", "expires_in", "merchant_id", "scope"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", 3600)


@pytest.mark.parametrize(
    ("headers", "form"),
    [
        (basic(secret="nope"), FORM),
        ({}, FORM | {"client_id": CLIENT_ID, "client_secret": "nope"}),
        (basic(), FORM | {"client_id": CLIENT_ID, "client_secret": "nope"}),
        ({}, FORM),
    ],
    ids=["basic", "form", "disagreeing", "none"],
)
async def test_bad_credentials_are_invalid_client(
    server: TestServer, http: aiohttp.ClientSession, headers: dict[str, str], form: dict[str, str]
) -> None:
    status, body = await call(http, "POST", server.make_url(TOKEN), data=form, headers=headers)
    assert (status, body["error"]) == (401, "invalid_client")
    assert body["error_description"]


async def test_only_client_credentials_are_granted(
    server: TestServer, http: aiohttp.ClientSession
) -> None:
    status, body = await call(
        http, "POST", server.make_url(TOKEN), data={"grant_type": "password"}, headers=basic()
    )
    assert (status, body["error"]) == (400, "unsupported_grant_type")


async def test_the_gateway_wants_a_live_bearer(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    for headers in ({}, {"Authorization": "Bearer made-up"}, basic()):
        status, body = await call(http, "GET", server.make_url(LIST), headers=headers)
        assert (status, body["error"]) == (401, "invalid_token")
    auth = await token_for(http, server)
    assert (await call(http, "GET", server.make_url(LIST), headers=auth))[0] == 200
    sandbox.expire_tokens()
    assert (await call(http, "GET", server.make_url(LIST), headers=auth))[0] == 401


async def test_tokens_expire_after_their_lifetime(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    now = [500.0]
    sandbox.clock = lambda: now[0]
    sandbox.token_lifetime = 30
    auth = await token_for(http, server)
    now[0] += 29.9
    assert (await call(http, "GET", server.make_url(LIST), headers=auth))[0] == 200
    now[0] += 0.2
    assert (await call(http, "GET", server.make_url(LIST), headers=auth))[0] == 401


async def test_invoices_answer_under_both_prefixes_in_payfirmas_shapes(
    server: TestServer, http: aiohttp.ClientSession
) -> None:
    auth = await token_for(http, server)
    for prefix in ("/invoice", "/invoice-service/invoice"):
        status, body = await call(http, "GET", server.make_url(f"{prefix}?limit=2"), headers=auth)
        assert status == 200 and [i["invoice_id"] for i in body["invoices"]] == [212947, 212948]
        status, one = await call(http, "GET", server.make_url(f"{prefix}/212947"), headers=auth)
        assert status == 200
        assert (one["status"], one["total"], one["sub_total"]) == ("UNPAID", Decimal("102.50"), 100)
        assert isinstance(one["created_date"], int) and one["created_date"] > 1_600_000_000_000
        assert one["items"][0]["quantity"] == 10  # an int in responses, a string on create
        status, missing = await call(http, "GET", server.make_url(f"{prefix}/1"), headers=auth)
        assert (status, missing["error"], missing["message"]) == (
            404,
            "NOT_FOUND",
            "Invoice not found",
        )


async def test_limit_must_be_a_positive_number(
    server: TestServer, http: aiohttp.ClientSession
) -> None:
    auth = await token_for(http, server)
    status, body = await call(http, "GET", server.make_url(LIST + "?limit=x"), headers=auth)
    assert (status, body["message"]) == (400, "limit must be a positive whole number")
    status, body = await call(http, "GET", server.make_url(LIST + "?limit="), headers=auth)
    assert status == 200 and len(body["invoices"]) == 6


async def test_create_refuses_what_the_documents_do_not_show(
    server: TestServer, http: aiohttp.ClientSession
) -> None:
    auth = await token_for(http, server)
    good: dict[str, Any] = {
        "recipient_email": "a@b.example",
        "currency": "CAD",
        "items": [{"item": "X", "quantity": "1", "price": 5, "amount": 5}],
        "sub_total": 5,
        "tax1": 0,
        "total": 5,
    }
    status, made = await call(
        http, "POST", server.make_url("/invoice/draft"), headers=auth, data=wire.encode(good)
    )
    assert (status, made["status"], made["total"]) == (200, "DRAFT", 5)
    bad_quantity = good | {"items": [{"item": "X", "quantity": 1, "price": 5, "amount": 5}]}
    bad_price = good | {"items": [{"item": "X", "quantity": "1", "price": "5", "amount": 5}]}
    for body, problem in (
        (bad_quantity, "items.0.quantity: Input should be a valid string"),
        (bad_price, "items.0.price: Value error, expected a decimal number, got str"),
        (good | {"currency": "EUR"}, "currency must be CAD or USD, not 'EUR'"),
        (good | {"customer_id": "5001"}, "customer_id: Input should be a valid integer"),
    ):
        status, said = await call(
            http, "POST", server.make_url("/invoice"), headers=auth, data=wire.encode(body)
        )
        assert (status, said["message"]) == (400, problem)


@pytest.mark.parametrize(
    ("amount", "approved", "message"),
    [
        ("1.00", True, "Approved"),
        ("57.75", True, "Approved"),
        ("102.50", False, "Card declined (sandbox rule: the whole-dollar part is even)"),
        ("0.30", False, "Card declined (sandbox rule: the whole-dollar part is even)"),
        ("2.10", False, "Tokenize failure"),
        ("2.60", False, "Failed to authorize"),
        ("2.70", False, "Card declined (sandbox rule: the whole-dollar part is even)"),
    ],
)
def test_the_sandbox_processor_rule(amount: str, approved: bool, message: str) -> None:
    assert decide(Decimal(amount)) == (approved, message)


async def test_a_declined_direct_sale_is_402(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    auth = await token_for(http, server)
    sale: dict[str, Any] = {
        "amount": Decimal("10.00"),
        "currency": "CAD",
        "card_number": "4111111111111111",
        "card_expiry_month": 11,
        "card_expiry_year": 40,
        "cvv2": "123",
    }
    url = server.make_url("/transaction-service/sale")
    status, body = await call(http, "POST", url, headers=auth, data=wire.encode(sale))
    assert (status, body["error"], body["message"]) == (
        402,
        "DECLINED",
        "Card declined (sandbox rule: the whole-dollar part is even)",
    )
    status, body = await call(
        http, "POST", url, headers=auth, data=wire.encode(sale | {"amount": Decimal("11.00")})
    )
    assert (status, body["transaction_result"], body["card_suffix"]) == (200, "APPROVED", "1111")
    lookup = server.make_url(f"/transaction-service/transaction/lookup/{body['lookup_id']}")
    status, found = await call(http, "GET", lookup, headers=auth)
    assert status == 200 and found == body


async def test_a_sale_takes_a_card_or_a_token_never_both(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    """Payfirma's sale takes card fields or an encrypted token; both is 400 BAD_REQUEST."""
    auth = await token_for(http, server)
    card: dict[str, Any] = {
        "card_number": "4111111111111111",
        "card_expiry_month": 11,
        "card_expiry_year": 40,
        "cvv2": "123",
    }
    sale: dict[str, Any] = {"amount": Decimal("11.00"), "currency": "CAD"}
    url = server.make_url("/transaction-service/sale")
    for body in (sale | card | {"token": "tok_sbx"}, sale):
        status, said = await call(http, "POST", url, headers=auth, data=wire.encode(body))
        assert (status, said["error"]) == (400, "BAD_REQUEST"), said
    assert sandbox.transactions == {}
    status, said = await call(
        http, "POST", url, headers=auth, data=wire.encode(sale | {"token": "tok_sbx"})
    )
    assert (status, said["transaction_result"]) == (200, "APPROVED")


async def test_faults_and_settings_over_http(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    auth = await token_for(http, server)
    order = {"kind": "error", "count": 2, "path": LIST}
    async with http.post(server.make_url("/_sandbox/faults"), json=order) as answer:
        assert answer.status == 201
        assert (await answer.json())["faults"] == [
            {"kind": "error", "remaining": 2, "path": LIST, "method": None}
        ]
    statuses = [(await call(http, "GET", server.make_url(LIST), headers=auth))[0] for _ in range(3)]
    assert statuses == [500, 500, 200]

    sandbox.inject("malformed")
    async with http.delete(server.make_url("/_sandbox/faults")) as answer:
        assert answer.status == 204
    assert sandbox.faults == []

    change = {
        "latency": 0.15,
        "return_url": "http://127.0.0.1:9/back",
        "token_lifetime": 60,
        "sending_issues_drafts": False,
    }
    async with http.post(server.make_url("/_sandbox/settings"), json=change) as answer:
        assert (await answer.json())["return_url"] == "http://127.0.0.1:9/back"
    assert (
        sandbox.latency,
        sandbox.return_url,
        sandbox.token_lifetime,
        sandbox.sending_issues_drafts,
    ) == (0.15, "http://127.0.0.1:9/back", 60, False)
    started = time.monotonic()
    await call(http, "GET", server.make_url(LIST), headers=auth)
    assert time.monotonic() - started >= 0.15

    async with http.post(server.make_url("/_sandbox/tokens/expire")) as answer:
        assert answer.status == 204
    assert (await call(http, "GET", server.make_url(LIST), headers=auth))[0] == 401
    async with http.post(server.make_url("/_sandbox/faults"), json={"kind": "boom"}) as answer:
        assert answer.status == 400


async def test_generated_invoices_and_the_outbox_over_http(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    for _ in range(2):
        async with http.post(server.make_url("/_sandbox/invoices"), json={"count": 500}) as answer:
            assert answer.status == 201
    assert len(sandbox.invoices) == 1006
    auth = await token_for(http, server)
    await call(http, "POST", server.make_url("/invoice/212947/send/x@y.example"), headers=auth)
    async with http.get(server.make_url("/_sandbox/emails")) as answer:
        assert await answer.json() == [{"invoice_id": 212947, "address": "x@y.example"}]


def test_generated_invoices_are_deterministic_and_varied() -> None:
    first, again = (
        generate_invoices(40, now=1_700_000_000),
        generate_invoices(40, now=1_700_000_000),
    )
    assert first == again and len({item.invoice_id for item in first}) == 40
    assert {item.status for item in first} == {"UNPAID", "PAID"}
    assert {int(item.total) % 2 for item in first} == {0, 1}


def test_faults_are_validated_from_python(sandbox: SandboxState) -> None:
    with pytest.raises(ValueError, match="unknown fault 'boom'"):
        sandbox.inject("boom")  # type: ignore[arg-type]
    sandbox.inject("decline", count=2, path=LIST)
    assert sandbox.take_fault("/other") is None
    assert [sandbox.take_fault(LIST) for _ in range(3)] == ["decline", "decline", None]
    sandbox.inject("lost", path=LIST, method="post")  # the create, not the read before it
    assert sandbox.take_fault(LIST, "GET") is None
    assert sandbox.take_fault(LIST, "POST") == "lost"


async def test_runs_standalone_on_loopback(http: aiohttp.ClientSession) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "plugins.payfirma.sandbox",
        "--port",
        str(port),
        "--client-id",
        "standalone",
        "--client-secret",
        "standalone-secret",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}{TOKEN}"
        for _ in range(100):
            try:
                status, body = await call(
                    http, "POST", url, data=FORM, headers=basic("standalone", "standalone-secret")
                )
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        else:
            pytest.fail("the standalone sandbox did not start within 5 s")
        assert status == 200
        auth = {"Authorization": f"Bearer {body['access_token']}"}
        status, listed = await call(http, "GET", f"http://127.0.0.1:{port}{LIST}", headers=auth)
        assert status == 200 and len(listed["invoices"]) == 6
    finally:
        process.terminate()
        await process.wait()


async def test_the_documented_create_body_comes_back_with_the_documented_total(
    server: TestServer, http: aiohttp.ClientSession
) -> None:
    """Line tax2 counts: the document's sample (10 x 10, tax1 0.5 %, tax2 2 %) totals 102.5."""
    auth = await token_for(http, server)
    body: dict[str, Any] = {
        "due_date": 1549958399000,
        "description": "New Invoice 55",
        "customer_id": 1271438,
        "recipient_email": "ravinder.singh@payfirma.com",
        "recipient_first_name": "Ravinder",
        "items": [
            {
                "item": "Item 1",
                "quantity": "10",
                "price": 10,
                "tax1": {"percentile": True, "amount": Decimal("0.5")},
                "tax2": {"percentile": True, "amount": 2},
                "amount": 100,
                "discount": False,
            }
        ],
        "sub_total": 100,
        "currency": "CAD",
        "tax1": Decimal("0.5"),
        "tax1_label": "Tax1",
        "tax2": 2,
        "tax2_label": "Tax2",
        "total": Decimal("102.5"),
        "status": "Unpaid",
        "invoice_id": "",
        "resend_invoice": True,
    }
    status, made = await call(
        http, "POST", server.make_url("/invoice"), headers=auth, data=wire.encode(body)
    )
    assert status == 200, made
    assert (made["total"], made["tax2"], made["customer_id"]) == (
        Decimal("102.5"),
        Decimal("2"),
        1271438,
    )
    status, listed = await call(
        http, "GET", server.make_url("/invoice/customer/1271438?limit=5"), headers=auth
    )
    assert status == 200
    assert [item["invoice_id"] for item in listed["invoices"]] == [made["invoice_id"]]
