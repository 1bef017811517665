"""A recorded run of the i3D.net plugin, held exchange by exchange against i3D's OpenAPI.

The provider's own HTTP session carries a trace that records every request and answer
as they cross the wire (path, raw query, headers, bytes). The run lists, opens an offer,
registers, checks while the payer is away, and checks again after the payer paid or
cancelled; then each exchange must be one the documents allow. The invoice list is in
the documents only as prose ("returns Invoice[]"), so it is held to the Invoice schema
and to sending nothing the documents do not name (beyond the `RANGED-DATA` paging header).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

import aiohttp
import pytest
from multidict import CIMultiDict
from yarl import URL

from bot.models import FormPost, InvoiceQuery, OutcomeStatus
from plugins.i3d import I3DProvider
from tests.i3d.conftest import TOKEN, OpenApiFragments
from tests.i3d.test_i3d_payment import check_for, click, open_payment_page, request_for

LIST = "/v3/account/invoice"
PREPARE = "/v3/account/invoice/pay/prepare"
REGISTER = "/v3/account/invoice/pay/register"
LANDING = "/v3/account/invoice/pay/paymentLanding"
DOCUMENTED = {("GET", PREPARE), ("POST", REGISTER), ("GET", LANDING)}
"""Routes with an OpenAPI operation; `GET LIST` is described in prose only."""
RANGED_DATA = re.compile(r"start=\d+,results=\d+")


@dataclass
class Exchange:
    """One request as the client sent it and the answer as the client received it."""

    method: str
    url: URL
    headers: CIMultiDict[str]
    body: bytes = b""
    status: int = 0
    response_headers: CIMultiDict[str] = field(default_factory=CIMultiDict)
    response_body: bytes = b""

    def __str__(self) -> str:
        return f"{self.method} {self.url.raw_path_qs} -> {self.status}"


class Recorder:
    """An aiohttp trace that keeps every exchange of the session it is attached to."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_headers_sent.append(self._headers_sent)
        self.trace.on_request_chunk_sent.append(self._chunk_sent)
        self.trace.on_request_end.append(self._end)
        self.trace.on_response_chunk_received.append(self._chunk_received)

    async def _headers_sent(
        self, _: aiohttp.ClientSession, ctx: SimpleNamespace, sent: Any
    ) -> None:
        ctx.exchange = Exchange(sent.method, sent.url, CIMultiDict(sent.headers))
        self.exchanges.append(ctx.exchange)

    async def _chunk_sent(self, _: aiohttp.ClientSession, ctx: SimpleNamespace, sent: Any) -> None:
        ctx.exchange.body += sent.chunk

    async def _end(self, _: aiohttp.ClientSession, ctx: SimpleNamespace, ended: Any) -> None:
        ctx.exchange.status = ended.response.status
        ctx.exchange.response_headers = CIMultiDict(ended.response.headers)

    async def _chunk_received(
        self, _: aiohttp.ClientSession, ctx: SimpleNamespace, received: Any
    ) -> None:
        ctx.exchange.response_body += received.chunk


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def http(recorder: Recorder) -> AsyncIterator[aiohttp.ClientSession]:
    """The provider's session (replacing conftest's), traced by `recorder`."""
    async with aiohttp.ClientSession(trace_configs=[recorder.trace]) as session:
        yield session


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    """The payer's browser at the payment page: not the plugin, so not recorded."""
    async with aiohttp.ClientSession() as session:
        yield session


def problems_with(exchange: Exchange, docs: OpenApiFragments) -> list[str]:
    """Everything in one exchange that i3D's documents do not allow; empty when all is well."""
    found: list[str] = []
    route = (exchange.method, exchange.url.raw_path)
    if route not in DOCUMENTED and route != ("GET", LIST):
        return [f"{exchange}: no such route in the documents"]
    found += _credentials(exchange, docs)
    found += _query(exchange, docs)
    found += _request_body(exchange, docs)
    found += _response(exchange, docs)
    return [f"{exchange}: {problem}" for problem in found]


def _credentials(exchange: Exchange, docs: OpenApiFragments) -> list[str]:
    schemes = {
        (scheme["in"], scheme["name"])
        for document in docs.documents
        for requirement in document["security"]
        for scheme in (document["components"]["securitySchemes"][name] for name in requirement)
    }
    found = []
    for where, name in sorted(schemes):
        if where != "header":
            found.append(f"the documents ask for {name} in the {where}: update this test")
        elif exchange.headers.getall(name, []) != [TOKEN]:
            found.append(f"{name} header is not exactly the API key, once")
    return found


def _query(exchange: Exchange, docs: OpenApiFragments) -> list[str]:
    route = (exchange.method, exchange.url.raw_path)
    raw = exchange.url.raw_query_string
    if route not in DOCUMENTED:
        return [f"query {raw!r}: the route documents no parameters"] if raw else []
    path, method = exchange.url.raw_path, exchange.method
    declared = {item["name"]: item for item in docs.operation(path, method).get("parameters", [])}
    sent: dict[str, str] = {}
    found = []
    for pair in raw.split("&") if raw else []:
        name, _, value = pair.partition("=")
        if name in sent:
            found.append(f"query parameter {name} sent twice")
        sent[name] = value
    for name, value in sent.items():
        if name not in declared or declared[name]["in"] != "query":
            found.append(f"query parameter {name} is not documented")
            continue
        if "," in value:
            found.append(f"{name}={value}: the document asks for the commas URL-encoded")
        _, validator = docs.parameter(path, method, name)
        found += [f"{name}: {error.message}" for error in validator.iter_errors(unquote(value))]
    for name, item in declared.items():
        if item["in"] == "query" and item.get("required") and name not in sent:
            found.append(f"required query parameter {name} missing")
    return found


def _request_body(exchange: Exchange, docs: OpenApiFragments) -> list[str]:
    route = (exchange.method, exchange.url.raw_path)
    declared = (
        docs.operation(exchange.url.raw_path, exchange.method).get("requestBody")
        if route in DOCUMENTED
        else None
    )
    if declared is None:
        return [f"a body of {len(exchange.body)} bytes on a route that takes none"] * bool(
            exchange.body
        )
    media = exchange.headers.get("Content-Type", "").partition(";")[0].strip()
    if media not in declared["content"]:
        return [f"Content-Type {media!r}, the document takes {sorted(declared['content'])}"]
    if not exchange.body:
        return ["no body, and the document requires one"] * bool(declared.get("required"))
    try:
        body = json.loads(exchange.body)
    except ValueError:
        return ["the body is not JSON"]
    validator = docs.request_body(exchange.url.raw_path, exchange.method)
    return [f"body {list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]


def _response(exchange: Exchange, docs: OpenApiFragments) -> list[str]:
    path, method = exchange.url.raw_path, exchange.method
    if (method, path) in DOCUMENTED:
        responses = docs.operation(path, method)["responses"]
        if str(exchange.status) not in responses:
            return [f"status {exchange.status} is not among {sorted(responses)}"]
        content = responses[str(exchange.status)].get("content")
        if content is None:
            return []
        validator = docs.response(path, method, str(exchange.status))
    elif exchange.status != 200:
        validator = docs.schema("Error")
    else:
        validator = None
    media = exchange.response_headers.get("Content-Type", "").partition(";")[0].strip()
    if media != "application/json":
        return [f"answered {media!r}, not application/json"]
    try:
        body = json.loads(exchange.response_body)
    except ValueError:
        return ["the answer is not JSON"]
    if validator is not None:
        return [f"answer {list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    if not isinstance(body, list):  # "Get details of all invoices of a user": Invoice[]
        return ["the invoice list is not an array"]
    invoice = docs.schema("Invoice")
    return [
        f"answer [{index}, {', '.join(map(str, e.absolute_path))}]: {e.message}"
        for index, item in enumerate(body)
        for e in invoice.iter_errors(item)
    ]


def assert_documented(exchanges: list[Exchange], docs: OpenApiFragments) -> None:
    problems = [problem for exchange in exchanges for problem in problems_with(exchange, docs)]
    assert not problems, "\n".join(problems)


async def test_a_whole_payment_crosses_the_wire_only_as_documented(
    i3d_docs: OpenApiFragments,
    provider: I3DProvider,
    recorder: Recorder,
    browser: aiohttp.ClientSession,
) -> None:
    page = await provider.list_invoices(InvoiceQuery(limit=3))
    assert page.invoices and page.next_cursor
    await provider.list_invoices(InvoiceQuery(cursor=page.next_cursor, limit=3))
    assert (await provider.get_invoice("INV-24-0101")).id == "410001"

    ids = ("410001", "410002")
    options = await provider.payment_options(list(ids))
    started = await provider.start_payment(request_for(ids, options.total, "10", "INGBNL2A"))
    assert isinstance(started.start, FormPost)
    waiting = await provider.check_payment(check_for(ids, options.total))
    assert waiting.status is OutcomeStatus.PENDING
    _, form = await open_payment_page(browser, started.start)
    await click(browser, started.start, form, "pay")
    assert (await provider.check_payment(check_for(ids, options.total))).status is (
        OutcomeStatus.PAID
    )

    ids = ("410006",)
    options = await provider.payment_options(list(ids))
    started = await provider.start_payment(request_for(ids, options.total, "20", None))
    assert isinstance(started.start, FormPost)
    _, form = await open_payment_page(browser, started.start)
    await click(browser, started.start, form, "cancel")
    cancelled = await provider.check_payment(check_for(ids, options.total))
    assert cancelled.status is OutcomeStatus.CANCELLED

    exchanges = recorder.exchanges
    assert {(item.method, item.url.raw_path) for item in exchanges} == DOCUMENTED | {("GET", LIST)}
    assert all(item.status == 200 for item in exchanges), [str(item) for item in exchanges]
    assert all(item.response_body for item in exchanges), "the trace lost an answer's body"
    assert_documented(exchanges, docs=i3d_docs)

    registered = [json.loads(item.body) for item in exchanges if item.url.raw_path == REGISTER]
    assert registered == [
        {"invoiceIds": "410001,410002", "paymentMethodId": 10, "issuerId": "INGBNL2A"},
        {"invoiceIds": "410006", "paymentMethodId": 20, "issuerId": ""},
    ]
    prepared = [item.url.raw_query_string for item in exchanges if item.url.raw_path == PREPARE]
    assert set(prepared) == {"invoiceIds=410001%2C410002", "invoiceIds=410006"}
    # Paging is the one header the documents do not name (providers.md §2.3 infers it).
    for item in exchanges:
        ranged = item.headers.get("RANGED-DATA")
        if item.url.raw_path == LIST:
            assert ranged and RANGED_DATA.fullmatch(ranged), str(item)
        else:
            assert ranged is None, str(item)


def test_register_body_is_held_to_a_closed_schema(i3d_docs: OpenApiFragments) -> None:
    schema = i3d_docs.component("PayRegister")
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"invoiceIds", "paymentMethodId", "issuerId"}


def good_register() -> Exchange:
    body = {"invoiceIds": "410001", "paymentMethodId": 20, "issuerId": ""}
    headers = CIMultiDict({"PRIVATE-TOKEN": TOKEN, "Content-Type": "application/json"})
    answer = {
        "requestUrl": "http://127.0.0.1:9/psp/pay",
        "postFormInputs": [{"name": "transactionId", "value": "tx_1"}],
        "accountCredit": "0",
        "totalAmount": "100",
        "paymentMethod": {"id": 20, "name": "Card", "isSelectable": 1, "paymentProviderId": 3},
        "invoicesForPay": [],
    }
    return Exchange(
        "POST",
        URL("http://127.0.0.1:9" + REGISTER),
        headers,
        json.dumps(body).encode(),
        200,
        CIMultiDict({"Content-Type": "application/json; charset=utf-8"}),
        json.dumps(answer).encode(),
    )


def with_body(exchange: Exchange, **changes: Any) -> Exchange:
    body = {**json.loads(exchange.body), **changes}
    return replace(exchange, body=json.dumps(body).encode())


@pytest.mark.parametrize(
    ("tamper", "said"),
    [
        (lambda x: with_body(x, note="extra"), "Additional properties are not allowed"),
        (lambda x: with_body(x, paymentMethodId="20"), "is not of type 'integer'"),
        (lambda x: replace(x, body=b'{"invoiceIds": "410001"}'), "is a required property"),
        (lambda x: replace(x, headers=CIMultiDict({"Content-Type": "application/json"})), "API"),
        (lambda x: replace(x, url=URL("http://127.0.0.1:9/v3/account/invoice/pay")), "no such"),
        (lambda x: replace(x, url=x.url.with_query(a="1")), "not documented"),
        (lambda x: replace(x, status=422), "not among"),
        (lambda x: replace(x, response_body=b"[]"), "is not of type 'object'"),
        (lambda x: replace(x, method="GET", url=URL("http://h" + PREPARE)), "invoiceIds missing"),
        (
            lambda x: replace(x, method="GET", url=URL("http://h" + PREPARE + "?invoiceIds=1,2")),
            "URL-encoded",
        ),
        (lambda x: replace(x, method="GET", url=URL("http://h" + LIST)), "takes none"),
    ],
)
def test_the_checker_catches_what_the_documents_refuse(
    i3d_docs: OpenApiFragments, tamper: Any, said: str
) -> None:
    assert problems_with(good_register(), i3d_docs) == []
    problems = problems_with(tamper(good_register()), i3d_docs)
    assert any(said in problem for problem in problems), problems


def test_the_checker_reads_the_list_as_invoices(i3d_docs: OpenApiFragments) -> None:
    exchange = Exchange(
        "GET",
        URL("http://h" + LIST),
        CIMultiDict({"PRIVATE-TOKEN": TOKEN}),
        status=200,
        response_headers=CIMultiDict({"Content-Type": "application/json"}),
        response_body=b'[{"id": "1"}]',
    )
    problems = problems_with(exchange, i3d_docs)
    assert any("'creationDate' is a required property" in problem for problem in problems)
