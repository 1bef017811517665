"""PingProxies' pay-flow page and the research notes, read: what the plugin takes as
confirmed (routes, headers, the two-factor status, the page size) is what they say."""

from __future__ import annotations

import re

import pytest

from plugins.pingproxies import errors
from plugins.pingproxies.routes import MAX_PER_PAGE, ROUTES, Operation
from plugins.pingproxies.transport import APPLICATION_HEADERS
from tests.pingproxies.conftest import REPO_ROOT

REFERENCE = REPO_ROOT.parent / "shared" / "reference"

CALLS = {
    "Invoice Search": Operation.INVOICE_SEARCH,
    "Invoice Retrieve": Operation.INVOICE_RETRIEVE,
    "Invoice Pay Option": Operation.INVOICE_PAY_OPTION,
    "Invoice Pay": Operation.INVOICE_PAY,
}


def read(name: str) -> str:
    path = REFERENCE / name
    if not path.is_file():
        pytest.skip(f"PingProxies' documents are not at {path}")
    return path.read_text(encoding="utf-8")


def pingproxies_notes() -> str:
    text = read("providers.md")
    return text.split("## 1. PingProxies", 1)[1].split("\n## 2.", 1)[0]


def test_every_call_of_the_pay_flow_has_a_route() -> None:
    page = read("api-docs/pingproxies-pay-invoice-flow.md")
    block = re.search(r"```\n(.*?)\n```", page, re.DOTALL)
    assert block, "the pay-flow page lists its calls in a code block"
    named = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    assert named == list(CALLS)
    assert set(CALLS.values()) <= set(ROUTES)


def test_confirmed_routes_are_the_documented_ones() -> None:
    notes = pingproxies_notes()
    for operation, route in ROUTES.items():
        if not route.confirmed:
            continue
        if operation is Operation.LOGIN:  # the version differs between pages
            assert f"POST /v1.0/{route.path}" in notes and f"/{route.version}/{route.path}" in notes
        else:
            assert f"{route.method} {route.url_path()}" in notes, operation


def test_headers_two_factor_status_and_page_size_are_the_documented_ones() -> None:
    notes = pingproxies_notes()
    auth = notes.split("**Application headers", 1)[1].split("**User token", 1)[0]
    assert set(re.findall(r"`(X-Application-[\w-]+)`", auth)) == set(APPLICATION_HEADERS)
    assert "**HTTP 499**" in notes and errors.TWO_FACTOR_STATUS == 499
    assert f"maximum {MAX_PER_PAGE}" in notes
