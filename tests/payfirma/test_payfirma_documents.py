"""Payfirma's invoice API page, read: the sandbox serves every route it shows and takes
its own create sample, and the plugin calls only those routes and sends only the keys,
and the JSON types, that the sample shows."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.models import InvoiceDraft, InvoiceLine, InvoiceQuery, Money
from plugins.payfirma import PayfirmaProvider, wire
from plugins.payfirma.sandbox import SandboxState
from tests.payfirma.conftest import INVOICE_API_DOC, TOKEN
from tests.payfirma.test_payfirma_sandbox import token_for

GATEWAY = "https://sandbox-apigateway.payfirma.com"
ROUTE = re.compile(rf"^(GET|POST): {re.escape(GATEWAY)}(/\S*)$", re.MULTILINE)
PLACES = {
    "invoice_id_here": "212947",
    "customer_id_here": "{customer}",
    "email_address_here": "ap@acme.example",
}


def page() -> str:
    if not INVOICE_API_DOC.is_file():
        pytest.skip(f"Payfirma's invoice API page is not at {INVOICE_API_DOC}")
    return INVOICE_API_DOC.read_text(encoding="utf-8")


def documented_routes() -> list[tuple[str, str]]:
    routes = [(method, path.split("?")[0]) for method, path in ROUTE.findall(page())]
    assert len(routes) == 7, routes
    return routes


def documented_create_body() -> dict[str, Any]:
    section = page().split("### Create a New Invoice <", 1)[1].split("\n### ", 1)[0]
    found = re.search(r"Body\n(\{.*\})\n```", section, re.DOTALL)
    assert found, "the create section has no sample body"
    body: dict[str, Any] = json.loads(found.group(1), parse_float=Decimal)
    return body


def pattern(path: str) -> re.Pattern[str]:
    """A documented path with its placeholders as wildcards."""
    text = re.escape(path)
    for place in PLACES:
        text = text.replace(place, "[^/]+")
    return re.compile(text + "$")


def shape(value: Any) -> Any:
    """The JSON types of a body, with each list shown by its first item."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, Decimal)):
        return "number"
    return type(value).__name__


async def test_the_sandbox_serves_every_documented_route(
    sandbox: SandboxState, server: TestServer, http: aiohttp.ClientSession
) -> None:
    auth = await token_for(http, server)
    customer = str(sandbox.invoices[212947].customer_id)
    create = wire.encode(documented_create_body())
    for method, path in documented_routes():
        for place, value in PLACES.items():
            path = path.replace(place, value.format(customer=customer))
        query = "?limit=5" if method == "GET" and "212947" not in path else ""
        data = create if method == "POST" and "/send" not in path else b"{}"
        headers = auth | {"Content-Type": "application/json", "Accept": "application/json"}
        url = server.make_url(path + query)
        async with http.request(method, url, headers=headers, data=data) as answer:
            assert answer.status == 200, (method, path, await answer.text())


async def test_the_plugin_calls_only_documented_invoice_routes_with_documented_bodies(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    await provider.list_invoices(InvoiceQuery())
    await provider.get_invoice("212947")
    line = InvoiceLine(
        description="Hours",
        quantity=Decimal("1.5"),
        unit_price=Money.of("10.00", "CAD"),
        tax_percent=Decimal(5),
    )
    draft = InvoiceDraft(
        customer_name="Mary Ann Smith",
        customer_email=sandbox.invoices[212947].recipient_email or "",
        currency="CAD",
        lines=(line,),
        due=date(2030, 1, 31),
        title="March work",
        description="Consulting, March",
    )
    made = await provider.create_invoice(draft, send=False)
    await provider.send_invoice(made.id, None)
    await provider.send_invoice(made.id, "ap@acme.example")

    patterns = [(method, pattern(path)) for method, path in documented_routes()]
    invoice_calls = [
        seen
        for seen in sandbox.requests
        if seen.path != TOKEN and not seen.path.startswith("/_sandbox/")
    ]
    for seen in invoice_calls:
        assert any(
            method == seen.method and found.match(seen.path) for method, found in patterns
        ), f"{seen.method} {seen.path} is not on Payfirma's invoice page"

    documented = shape(documented_create_body())
    (created,) = [
        seen for seen in invoice_calls if seen.method == "POST" and "send" not in seen.path
    ]
    sent = shape(json.loads(created.body, parse_float=Decimal))
    assert set(sent) <= set(documented), set(sent) - set(documented)
    for key, kind in sent.items():
        if key == "items":
            (item,) = kind
            (sample,) = documented["items"]
            assert set(item) <= set(sample), set(item) - set(sample)
            assert {k: v for k, v in item.items()} == {k: sample[k] for k in item}
        else:
            assert kind == documented[key], (key, kind, documented[key])
