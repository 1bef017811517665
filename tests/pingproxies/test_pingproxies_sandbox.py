"""The sandbox itself: headers, sign-in, search, paying, its knobs from Python and over HTTP."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from plugins.pingproxies.sandbox import (
    DEFAULT_EMAIL,
    DEFAULT_PASSWORD,
    SandboxState,
    generate_invoices,
)
from tests.pingproxies.conftest import (
    EMAIL,
    LOGIN,
    PASSWORD,
    PRIVATE_KEY,
    PUBLIC_KEY,
    REPO_ROOT,
    RETURN_URL,
    SEARCH,
    pay_option_path,
    pay_path,
)

APP = {
    "X-Application-API-Public-Key": PUBLIC_KEY,
    "X-Application-API-Private-Key": PRIVATE_KEY,
    "X-Application-Forwarded-Client-IP-Address": "198.51.100.4",
    "X-Application-Forwarded-Client-User-Agent": "pytest",
}
ERROR_KEYS = {"error", "message", "api_request_id"}


async def call(
    http: aiohttp.ClientSession,
    server: TestServer,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[int, Any, Any]:
    sent = APP if headers is None else headers
    async with http.request(method, server.make_url(path), headers=sent, **kwargs) as answer:
        return answer.status, await answer.json(), answer.headers


async def signed_in(http: aiohttp.ClientSession, server: TestServer) -> dict[str, str]:
    body = {"customer_email_address": EMAIL, "customer_password": PASSWORD}
    status, answer, _ = await call(http, server, "POST", LOGIN, json=body)
    assert (status, answer["message"]) == (200, "Login successful.")
    return APP | {"Authorization": answer["data"]["access_token"]}


async def test_application_keys_are_checked_on_every_route(
    server: TestServer, http: aiohttp.ClientSession
) -> None:
    for headers in ({}, APP | {"X-Application-API-Private-Key": "wrong"}):
        for method, path in (("POST", LOGIN), ("GET", SEARCH)):
            status, body, _ = await call(http, server, method, path, headers=headers, json={})
            assert status == 401 and set(body) == ERROR_KEYS
            assert body["message"] == "Invalid application API keys."


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"X-Application-Forwarded-Client-IP-Address": None},
            "The X-Application-Forwarded-Client-IP-Address header is required.",
        ),
        (
            {"X-Application-Forwarded-Client-IP-Address": "my-laptop"},
            "X-Application-Forwarded-Client-IP-Address must be an IP address, not 'my-laptop'.",
        ),
        (
            {"X-Application-Forwarded-Client-User-Agent": ""},
            "X-Application-Forwarded-Client-User-Agent must not be empty.",
        ),
    ],
)
async def test_forwarded_client_headers_are_checked(
    server: TestServer, http: aiohttp.ClientSession, change: dict[str, str | None], message: str
) -> None:
    headers = {k: v for k, v in (APP | change).items() if v is not None}
    status, body, _ = await call(http, server, "POST", LOGIN, headers=headers, json={})
    assert (status, body["error"], body["message"]) == (400, "Bad Request", message)


async def test_an_empty_client_ip_can_be_required(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    headers = APP | {"X-Application-Forwarded-Client-IP-Address": ""}
    body = {"customer_email_address": EMAIL, "customer_password": PASSWORD}
    assert (await call(http, server, "POST", LOGIN, headers=headers, json=body))[0] == 200
    sandbox.require_client_ip = True
    assert (await call(http, server, "POST", LOGIN, headers=headers, json=body))[0] == 400


async def test_the_jwt_is_required_and_expires(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await call(http, server, "GET", SEARCH)
    assert (status, body["message"]) == (401, "An access token is required; log in first.")
    headers = await signed_in(http, server)
    assert (await call(http, server, "GET", SEARCH, headers=headers))[0] == 200
    bearer = headers | {"Authorization": "Bearer " + headers["Authorization"]}
    assert (await call(http, server, "GET", SEARCH, headers=bearer))[0] == 200
    sandbox.expire_tokens()
    status, body, _ = await call(http, server, "GET", SEARCH, headers=headers)
    assert (status, body["message"]) == (401, "The access token has expired; log in again.")
    forged = headers | {"Authorization": headers["Authorization"][:-2] + "xx"}
    status, body, _ = await call(http, server, "GET", SEARCH, headers=forged)
    assert (status, body["message"]) == (401, "The access token is not valid.")


async def test_two_factor_login(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    sandbox.two_factor = True
    body: dict[str, str] = {"customer_email_address": EMAIL, "customer_password": PASSWORD}
    status, challenge, _ = await call(http, server, "POST", LOGIN, json=body)
    assert status == 499
    assert challenge["error"] == "Two Factor Authentication Required"
    assert challenge["two_factor_authentication_service"] == "email"
    assert challenge["two_factor_authentication_target"] == "b**@acme.test"
    code = sandbox.last_code
    assert code is not None and len(code) == 6 and code.isdigit()
    body["two_factor_authentication_public_key"] = challenge["two_factor_authentication_public_key"]
    for _ in range(3):
        body["two_factor_authentication_private_key"] = "abcdef"
        status, refused, _ = await call(http, server, "POST", LOGIN, json=body)
        assert (status, refused["message"]) == (
            401,
            "The two factor authentication code is incorrect.",
        )
    body["two_factor_authentication_private_key"] = code
    status, refused, _ = await call(http, server, "POST", LOGIN, json=body)
    assert (status, refused["message"]) == (
        401,
        "The two factor authentication request has expired; log in again.",
    )  # three wrong codes end the challenge
    del body["two_factor_authentication_public_key"], body["two_factor_authentication_private_key"]
    status, challenge, _ = await call(http, server, "POST", LOGIN, json=body)
    body["two_factor_authentication_public_key"] = challenge["two_factor_authentication_public_key"]
    body["two_factor_authentication_private_key"] = sandbox.last_code or ""
    status, answer, _ = await call(http, server, "POST", LOGIN, json=body)
    assert status == 200 and answer["data"]["access_token"].count(".") == 2


async def test_search_pages_and_operators(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    sandbox.add_invoices(generate_invoices(30, now=1_717_200_000))
    headers = await signed_in(http, server)

    async def ask(**query: str) -> dict[str, Any]:
        status, body, _ = await call(http, server, "GET", SEARCH, headers=headers, params=query)
        assert status == 200, body
        return body

    first = await ask(per_page="25")
    assert (first["page"], first["per_page"], first["item_count"], first["total_count"]) == (
        1,
        25,
        25,
        36,
    )
    assert first["message"] == "Invoice search successful."
    second = await ask(page="2", per_page="25")
    assert second["item_count"] == 11
    ids = [item["invoice_id"] for item in first["data"] + second["data"]]
    assert len(set(ids)) == 36
    assert (await ask(page="3", per_page="25"))["data"] == []  # past the end: empty
    assert {i["invoice_status"] for i in (await ask(invoice_status="void"))["data"]} == {"void"}
    assert len((await ask(not_invoice_status="open"))["data"]) == 3 + 30 // 5
    newest_first = ["PING-0110", "PING-0102", "PING-0101"]
    found = await ask(like_invoice_number="ping-01%")
    assert [item["invoice_number"] for item in found["data"]] == newest_first
    assert {i["invoice_id"] for i in (await ask(min_invoice_total="24000"))["data"]} >= {
        "inv_sbx0087"
    }
    assert all(i["invoice_total"] <= 999 for i in (await ask(max_invoice_total="999"))["data"])
    assert len((await ask(exists_invoice_paid_datetime="true"))["data"]) == 1 + 30 // 5
    sandbox.hide_total = True
    assert (await ask())["total_count"] == -1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"per_page": "101"}, "per_page must be at most 100."),
        ({"page": "0"}, "page must be a whole number of at least 1."),
        ({"colour": "red"}, "colour is not a searchable invoice field."),
        ({"min_invoice_total": "ten"}, "'ten' is not a whole number."),
    ],
)
async def test_bad_searches_are_refused(
    server: TestServer, http: aiohttp.ClientSession, query: dict[str, str], message: str
) -> None:
    headers = await signed_in(http, server)
    status, body, _ = await call(http, server, "GET", SEARCH, headers=headers, params=query)
    assert (status, body["message"]) == (400, message) and set(body) == ERROR_KEYS


async def test_paying_refuses_what_is_not_open(
    server: TestServer, http: aiohttp.ClientSession
) -> None:
    headers = await signed_in(http, server)
    for invoice_id, state in (("inv_sbx0064", "paid"), ("inv_sbx0050", "void")):
        for method, path in (("GET", pay_option_path(invoice_id)), ("POST", pay_path(invoice_id))):
            body = {"payment_method_id": "stripe"}
            status, answer, _ = await call(http, server, method, path, headers=headers, json=body)
            assert (status, answer["error"]) == (422, "Invoice Not Payable")
            assert state in answer["message"]
    body = {"payment_method_id": "coinpayments"}
    path = pay_path("inv_sbx0102")
    status, answer, _ = await call(http, server, "POST", path, headers=headers, json=body)
    assert (status, answer["error"], answer["message"]) == (
        422,
        "Payment Method Not Allowed",
        "Coinpayments minimum is $50.00",
    )
    status, answer, _ = await call(
        http, server, "POST", pay_path("inv_nope"), headers=headers, json=body
    )
    assert (status, answer["error"]) == (404, "Not Found")


async def test_the_payment_page_pays_once(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    headers = await signed_in(http, server)
    body = {"payment_method_id": "stripe"}
    path = pay_path("inv_sbx0101")
    status, answer, _ = await call(http, server, "POST", path, headers=headers, json=body)
    assert status == 200 and answer["data"]["payment_type"] == "redirect"
    url = answer["data"]["payment_redirect_url"]
    async with http.get(url) as page:
        html = await page.text()
    assert "PING-0101" in html and "$129.00" in html and "Card (Stripe Checkout)" in html
    for action in ("pay", "cancel"):  # the second decision is ignored
        async with http.post(url, data={"action": action}, allow_redirects=False) as done:
            assert done.status == 303
            assert done.headers["Location"].startswith(RETURN_URL + "?")
            assert "status=paid" in done.headers["Location"]
    assert sandbox.invoices["inv_sbx0101"].invoice_status == "paid"
    async with http.get(server.make_url("/checkout/cs_unknown")) as page:
        assert page.status == 404


async def test_hammering_gets_429_with_retry_after(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    sandbox.rate_limit = 3
    answers = [await call(http, server, "GET", SEARCH) for _ in range(5)]
    assert [status for status, _, _ in answers] == [401, 401, 401, 429, 429]
    assert answers[3][2]["Retry-After"] == "1" and set(answers[3][1]) == ERROR_KEYS
    await asyncio.sleep(1.05)
    assert (await call(http, server, "GET", SEARCH))[0] == 401  # the window moved on


async def test_knobs_over_http(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    order = {"kind": "error", "count": 2, "path": SEARCH}
    async with http.post(server.make_url("/_sandbox/faults"), json=order) as answer:
        assert answer.status == 201
        assert (await answer.json())["faults"] == [
            {"kind": "error", "remaining": 2, "path": SEARCH, "method": None}
        ]
    headers = await signed_in(http, server)
    statuses = [(await call(http, server, "GET", SEARCH, headers=headers))[0] for _ in range(3)]
    assert statuses == [500, 500, 200]
    sandbox.inject("error", path=SEARCH, method="GET")  # a fault for one method fires too
    assert (await call(http, server, "GET", SEARCH, headers=headers))[0] == 500
    sandbox.inject("malformed")
    async with http.delete(server.make_url("/_sandbox/faults")) as answer:
        assert answer.status == 204
    assert sandbox.faults == []

    change = {"latency": 0.15, "return_url": "http://127.0.0.1:9/back", "two_factor": True}
    async with http.post(server.make_url("/_sandbox/settings"), json=change) as answer:
        assert (await answer.json())["return_url"] == "http://127.0.0.1:9/back"
    assert (sandbox.latency, sandbox.return_url, sandbox.two_factor) == (
        0.15,
        "http://127.0.0.1:9/back",
        True,
    )
    started = time.monotonic()
    await call(http, server, "GET", SEARCH, headers=headers)
    assert time.monotonic() - started >= 0.15
    async with http.post(server.make_url("/_sandbox/settings"), json={"rate_limit": None}) as a:
        assert (await a.json())["rate_limit"] is None

    body = {"customer_email_address": EMAIL, "customer_password": PASSWORD}
    assert (await call(http, server, "POST", LOGIN, json=body))[0] == 499
    async with http.get(server.make_url("/_sandbox/two_factor")) as answer:
        assert (await answer.json())["last_code"] == sandbox.last_code

    async with http.post(server.make_url("/_sandbox/expire_tokens")) as answer:
        assert answer.status == 204
    assert (await call(http, server, "GET", SEARCH, headers=headers))[0] == 401

    async with http.post(server.make_url("/_sandbox/invoices"), json={"count": 500}) as answer:
        assert (answer.status, (await answer.json())["invoices"]) == (201, 506)
    async with http.post(server.make_url("/_sandbox/faults"), json={"kind": "boom"}) as answer:
        assert answer.status == 400


def test_faults_are_validated_from_python(sandbox: SandboxState) -> None:
    with pytest.raises(ValueError, match="unknown fault 'boom'"):
        sandbox.inject("boom")  # type: ignore[arg-type]
    sandbox.inject("error", count=2, path=SEARCH)
    assert sandbox.take_fault("/1.0/other") is None
    assert [sandbox.take_fault(SEARCH) for _ in range(3)] == ["error", "error", None]


def test_generated_invoices_are_deterministic_and_distinct() -> None:
    made = generate_invoices(50, now=1_717_200_000)
    assert made == generate_invoices(50, now=1_717_200_000)
    assert len({item.invoice_id for item in made}) == len({i.invoice_number for i in made}) == 50
    assert sum(item.invoice_status == "paid" for item in made) == 10
    assert all(item.invoice_id.startswith("inv_") for item in made)


async def test_runs_standalone_on_loopback(http: aiohttp.ClientSession) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "plugins.pingproxies.sandbox",
        "--port",
        str(port),
        "--public-key",
        PUBLIC_KEY,
        "--private-key",
        PRIVATE_KEY,
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}{LOGIN}"
        body = {"customer_email_address": DEFAULT_EMAIL, "customer_password": DEFAULT_PASSWORD}
        for _ in range(100):
            try:
                async with http.post(url, json=body, headers=APP) as answer:
                    status = answer.status
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        else:
            pytest.fail("the standalone sandbox did not start within 5 s")
        assert status == 200
    finally:
        process.terminate()
        await process.wait()
