"""The sandbox answers, and the client asks, only in shapes i3D's OpenAPI fragments allow."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

import aiohttp
import jsonschema
import pytest
from aiohttp.test_utils import TestServer
from pydantic import BaseModel

from bot.models import InvoiceQuery, Money, PaymentRequest
from plugins.i3d import I3DProvider, wire
from plugins.i3d.sandbox import SandboxState, generate_invoices
from tests.i3d.conftest import TOKEN, OpenApiFragments

LIST = "/v3/account/invoice"
PREPARE = "/v3/account/invoice/pay/prepare"
REGISTER = "/v3/account/invoice/pay/register"
LANDING = "/v3/account/invoice/pay/paymentLanding"


def assert_valid(validator: jsonschema.Validator, instance: Any) -> None:
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]
    assert not problems, "\n".join(problems)


async def call(
    http: aiohttp.ClientSession,
    server: TestServer,
    method: str,
    path: str,
    *,
    token: str | None = TOKEN,
    **kwargs: Any,
) -> tuple[int, Any, aiohttp.typedefs.LooseHeaders]:
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["PRIVATE-TOKEN"] = token
    async with http.request(method, server.make_url(path), headers=headers, **kwargs) as answer:
        return answer.status, await answer.json(), answer.headers


WIRE_MODELS: list[tuple[type[BaseModel], str]] = [
    (wire.Invoice, "Invoice"),
    (wire.PaymentMethod, "PaymentMethod"),
    (wire.PaymentMethodIssuers, "PaymentMethodIssuers"),
    (wire.PayPrepare, "PayPrepare"),
    (wire.PayRegister, "PayRegister"),
    (wire.PayRegisterResponse, "PayRegisterResponse"),
    (wire.PaymentLandingResponse, "PaymentLandingResponse"),
    (wire.Error, "Error"),
    (wire.ErrorDetails, "ErrorDetails"),
]


def json_types(schema: dict[str, Any]) -> set[str]:
    if "anyOf" in schema:
        return set().union(*(json_types(option) for option in schema["anyOf"])) - {"null"}
    if "$ref" in schema or "allOf" in schema:
        return {"object"}
    return {schema["type"]}


@pytest.mark.parametrize(("model", "name"), WIRE_MODELS, ids=[name for _, name in WIRE_MODELS])
def test_wire_models_follow_the_schemas_exactly(
    i3d_docs: OpenApiFragments, model: type[BaseModel], name: str
) -> None:
    schema = i3d_docs.component(name)
    assert set(model.model_fields) == set(schema["properties"])
    required = {field for field, info in model.model_fields.items() if info.is_required()}
    assert required == set(schema["required"])
    assert schema["additionalProperties"] is False and model.model_config["extra"] == "forbid"
    ours = model.model_json_schema()["properties"]
    for field, declared in schema["properties"].items():
        assert json_types(ours[field]) == json_types(declared), field


def test_register_response_form_inputs_are_free_form_objects(i3d_docs: OpenApiFragments) -> None:
    items = i3d_docs.component("PayRegisterResponse")["properties"]["postFormInputs"]["items"]
    assert items == {"type": "object", "additionalProperties": True}
    parsed = wire.PayRegisterResponse.model_validate(
        {
            "requestUrl": "https://psp.example/pay",
            "postFormInputs": [{"name": "a", "value": "1"}, {"b": 2, "c": None}],
            "accountCredit": "0",
            "totalAmount": "100",
            "paymentMethod": {"id": 1, "name": "X", "isSelectable": 1, "paymentProviderId": 2},
            "invoicesForPay": [],
        }
    )
    assert parsed.postFormInputs[1] == {"b": 2, "c": None}


def test_wire_models_refuse_what_the_schemas_refuse() -> None:
    good = generate_invoices(1, now=1_700_000_000)[0].to_json()
    with pytest.raises(ValueError, match="Extra inputs"):
        wire.Invoice.model_validate({**good, "vatRate": "21"})
    with pytest.raises(ValueError, match="valid string"):
        wire.Invoice.model_validate({**good, "amountIncVAT": 12100})
    with pytest.raises(ValueError, match="Field required"):
        wire.Invoice.model_validate({k: v for k, v in good.items() if k != "paymentDate"})


async def test_every_invoice_list_page_holds_schema_valid_invoices(
    i3d_docs: OpenApiFragments,
    sandbox: SandboxState,
    server: TestServer,
    http: aiohttp.ClientSession,
) -> None:
    sandbox.add_invoices(generate_invoices(30, now=1_700_000_000))
    invoice = i3d_docs.schema("Invoice")
    seen: list[str] = []
    for start in range(0, 40, 15):
        ranged = {"RANGED-DATA": f"start={start},results=15"}
        status, body, headers = await call(http, server, "GET", LIST, headers=ranged)
        assert status == 200 and isinstance(body, list)
        for item in body:
            assert_valid(invoice, item)
        seen += [item["id"] for item in body]
        assert headers["RANGED-DATA"] == f"start={start},results={len(body)},total=38"
    assert len(seen) == len(set(seen)) == 38


async def test_prepare_answers_match_the_schema(
    i3d_docs: OpenApiFragments, server: TestServer, http: aiohttp.ClientSession
) -> None:
    schema = i3d_docs.response(PREPARE, "get")
    for ids in ("410001", "410001%2C410002", "410005%2C410006"):
        status, body, _ = await call(http, server, "GET", f"{PREPARE}?invoiceIds={ids}")
        assert status == 200
        assert_valid(schema, body)
        assert body[0]["totalSelectedInvoiceForPay"] == ids.count("%2C") + 1


@pytest.mark.parametrize("form_style", ["pairs", "map"])
async def test_register_and_landing_answers_match_the_schemas(
    i3d_docs: OpenApiFragments,
    sandbox: SandboxState,
    server: TestServer,
    http: aiohttp.ClientSession,
    form_style: Any,
) -> None:
    sandbox.form_style = form_style
    request = {"invoiceIds": "410001,410002", "paymentMethodId": 10, "issuerId": "RABONL2U"}
    assert_valid(i3d_docs.request_body(REGISTER, "post"), request)
    status, body, _ = await call(http, server, "POST", REGISTER, json=request)
    assert status == 200
    assert_valid(i3d_docs.response(REGISTER, "post"), body)
    assert body["requestUrl"] == str(server.make_url("/psp/pay"))

    landing = i3d_docs.response(LANDING, "get")
    status, body, _ = await call(http, server, "GET", LANDING)
    assert (status, body["status"]) == (200, "open")
    assert_valid(landing, body)
    transaction = sandbox.last_transaction
    async with http.post(
        server.make_url("/psp/pay/decide"),
        data={"transactionId": transaction, "action": "pay"},
        allow_redirects=False,
    ) as answer:
        assert answer.status == 303
    status, body, _ = await call(http, server, "GET", LANDING)
    assert (status, body["status"]) == (200, "success")
    assert_valid(landing, body)
    assert {item["paymentStatus"] for item in body["invoices"]} == {1}


async def test_error_answers_use_the_error_schema(
    i3d_docs: OpenApiFragments,
    sandbox: SandboxState,
    server: TestServer,
    http: aiohttp.ClientSession,
) -> None:
    error = i3d_docs.schema("Error")
    cases = [
        (403, await call(http, server, "GET", LIST, token=None)),
        (403, await call(http, server, "GET", LIST, token="wrong")),
    ]
    sandbox.inject("error", path=LIST)
    cases.append((500, await call(http, server, "GET", LIST)))
    sandbox.inject("rate_limit", path=LANDING)
    cases += [
        (429, await call(http, server, "GET", LANDING)),
        (422, await call(http, server, "GET", f"{PREPARE}?invoiceIds=410003")),
        (422, await call(http, server, "GET", PREPARE)),
        (404, await call(http, server, "GET", LANDING)),
        (404, await call(http, server, "GET", "/v3/account/nothing")),
        (400, await call(http, server, "GET", LIST, headers={"RANGED-DATA": "page=2"})),
        (422, await call(http, server, "POST", REGISTER, json={"invoiceIds": "410001"})),
    ]
    for expected, (status, body, _) in cases:
        assert status == expected, body
        assert_valid(error, body)


async def test_what_the_client_sends_is_what_the_schemas_accept(
    i3d_docs: OpenApiFragments, sandbox: SandboxState, provider: I3DProvider
) -> None:
    await provider.list_invoices(InvoiceQuery(limit=2))
    for ids, method, issuer in (
        (("410001", "410002"), "10", "INGBNL2A"),
        (("410006",), "20", None),
    ):
        options = await provider.payment_options(list(ids))
        request = PaymentRequest(
            invoice_ids=ids,
            method_id=method,
            issuer_id=issuer,
            amount=options.total,
            reference="pay_1",
            return_url="http://127.0.0.1:9/landing/i3d",
        )
        await provider.start_payment(request)

    bodies = [seen.body for seen in sandbox.requests if seen.path == REGISTER]
    assert len(bodies) == 2
    register = i3d_docs.request_body(REGISTER, "post")
    for body in bodies:
        assert_valid(register, wire.PayRegister.model_validate_json(body).to_json())
        assert_valid(register, json.loads(body))
    assert b'"issuerId":""' in bodies[1].replace(b" ", b"")

    declared, schema = i3d_docs.parameter(PREPARE, "get", "invoiceIds")
    assert declared["in"] == "query" and declared["required"] is True
    queries = [seen.raw_path.partition("?")[2] for seen in sandbox.requests if seen.path == PREPARE]
    assert queries[0] == "invoiceIds=410001%2C410002"
    for query in queries:
        name, _, value = query.partition("=")
        assert name == "invoiceIds" and "," not in value
        assert_valid(schema, unquote(value))

    ranges = [seen.header("RANGED-DATA") for seen in sandbox.requests if seen.path == LIST]
    assert ranges and all(re.fullmatch(r"start=\d+,results=\d+", r or "") for r in ranges)


def test_the_documents_name_the_header_the_client_sends(i3d_docs: OpenApiFragments) -> None:
    for document in i3d_docs.documents:
        scheme = document["components"]["securitySchemes"]["ApiKey"]
        assert (scheme["in"], scheme["name"]) == ("header", "PRIVATE-TOKEN")


def test_money_of_a_schema_amount_is_exact() -> None:
    assert Money.from_minor("123456", "USD").amount == Money.of("1234.56", "USD").amount
