"""Real APIs drift one invoice at a time. Each provider, over HTTP to its sandbox: with one
invoice drifted (a new field, a missing or null optional field, amounts in the other JSON
type, a status the documents do not name), every other invoice still lists, and a paid
payment still checks as paid."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.models import (
    Invoice,
    InvoicePage,
    InvoiceQuery,
    InvoiceStatus,
    OutcomeStatus,
    PaymentCheck,
)
from bot.plugins import make_plugin_manager, providers, sandboxes
from bot.provider import Provider
from bot.sandbox import ABSENT

NEW = {"brand_new_field": {"nested": True}}


@dataclass(frozen=True)
class Case:
    provider: str
    paid: str
    """The id of an invoice the sandbox holds as paid."""
    other: str
    """The id of an open invoice, for drift that would change what "paid" means."""
    drifts: dict[str, dict[str, Any]]
    new_status: dict[str, Any]
    gaps: dict[str, str] = field(default_factory=dict)
    """Drift the plugin does not survive yet, and why."""


CASES = [
    Case(
        "i3d",
        paid="410003",
        other="410001",
        drifts={
            "extra field": NEW,
            "missing optional": {"invoiceHash": ABSENT, "paymentDate": ABSENT},
            "nulls": {"description": None, "invoiceHash": None, "paymentDate": None},
            "null number": {"invoiceNumber": None},
            "null currency": {"currency": None, "currencySign": None},
            "numbers for strings": {"amountIncVAT": 12100, "remainingAmount": 0},
            "strings for numbers": {"paymentStatus": "1", "isCredit": "0"},
        },
        new_status={"paymentStatus": 7},
    ),
    Case(
        "pingproxies",
        paid="inv_sbx0064",
        other="inv_sbx0101",
        drifts={
            "extra field": NEW,
            "missing optional": {"invoice_url": ABSENT, "invoice_subtotal": ABSENT},
            "nulls": {"invoice_description": None, "invoice_url": None},
            "null number": {"invoice_number": None},
            "null currency": {"invoice_currency": None},
            "strings for numbers": {"invoice_total": "7550", "invoice_amount_remaining": "0"},
        },
        new_status={"invoice_status": "partially_refunded"},
    ),
    Case(
        "payfirma",
        paid="212951",
        other="212947",
        drifts={
            "extra field": NEW,
            "missing optional": {"title": ABSENT, "items": ABSENT, "due_date": ABSENT},
            "nulls": {"description": None, "title": None, "customer_id": None},
            "null currency": {"currency": None},
            "strings for numbers": {"total": "45.00", "sub_total": "45.00", "tax1": "0"},
            "numbers for strings": {"due_date": 1798761600000},
        },
        new_status={"status": "PARTIALLY_REFUNDED"},
    ),
]


@dataclass
class Connected:
    case: Case
    provider: Provider
    server: TestServer
    http: aiohttp.ClientSession

    async def drift(self, invoice: str, changes: dict[str, Any]) -> None:
        order = {"invoice": invoice, "changes": changes}
        async with self.http.post(self.server.make_url("/_sandbox/drift"), json=order) as answer:
            assert answer.status == 201, await answer.text()

    async def everything(self) -> tuple[dict[str, Invoice], list[str]]:
        """Every invoice by id, and what could not be read, across all pages."""
        listed: dict[str, Invoice] = {}
        unreadable: list[str] = []
        page = InvoicePage(invoices=[], next_cursor="")
        while page.next_cursor is not None:
            query = InvoiceQuery(cursor=page.next_cursor or None, limit=5)
            page = await self.provider.list_invoices(query)
            listed |= {invoice.id: invoice for invoice in page.invoices}
            unreadable += page.unreadable
        return listed, unreadable

    async def check_paid(self, paid: Invoice) -> OutcomeStatus:
        check = PaymentCheck(invoice_ids=(paid.id,), amount=paid.total_incl_vat, reference="p1")
        return (await self.provider.check_payment(check)).status


@pytest.fixture(params=CASES, ids=[case.provider for case in CASES])
async def connected(
    request: pytest.FixtureRequest, aiohttp_server: Callable[..., Any]
) -> AsyncIterator[Connected]:
    case: Case = request.param
    pm = make_plugin_manager(allowed={case.provider})
    sandbox = sandboxes(pm)[case.provider]
    server = await aiohttp_server(sandbox.make_app("http://127.0.0.1:9/landing"), host="127.0.0.1")
    async with aiohttp.ClientSession() as http:
        made = providers(pm)[case.provider](
            sandbox.credentials(str(server.make_url("")).rstrip("/")), http, retry_delay=0.01
        )
        yield Connected(case, made, server, http)


DRIFTS = sorted({name for case in CASES for name in case.drifts})


@pytest.mark.parametrize("drift", DRIFTS)
async def test_one_drifted_invoice_leaves_the_others_listed_and_paid_still_paid(
    connected: Connected, drift: str, request: pytest.FixtureRequest
) -> None:
    case = connected.case
    if drift not in case.drifts:
        pytest.skip(f"{case.provider} has no field this drift fits")
    if drift in case.gaps:
        request.applymarker(pytest.mark.xfail(strict=True, reason=case.gaps[drift]))
    before, nothing = await connected.everything()
    assert nothing == [] and before[case.paid].status is InvoiceStatus.PAID
    await connected.drift(case.paid, case.drifts[drift])
    after, _ = await connected.everything()
    others = {key: invoice for key, invoice in before.items() if key != case.paid}
    assert {key: after.get(key) for key in others} == others
    assert await connected.check_paid(before[case.paid]) is OutcomeStatus.PAID


async def test_a_status_the_documents_do_not_name_is_unknown_not_a_failure(
    connected: Connected,
) -> None:
    case = connected.case
    before, _ = await connected.everything()
    await connected.drift(case.other, case.new_status)
    after, unreadable = await connected.everything()
    assert unreadable == []
    assert {key: invoice.status for key, invoice in after.items()} == {
        key: invoice.status for key, invoice in before.items()
    } | {case.other: InvoiceStatus.UNKNOWN}
    assert await connected.check_paid(before[case.paid]) is OutcomeStatus.PAID


async def test_drift_is_one_invoice_at_a_time_and_can_be_cleared(connected: Connected) -> None:
    case = connected.case
    before, _ = await connected.everything()
    await connected.drift(case.other, {"brand_new_field": 1})
    async with connected.http.delete(connected.server.make_url("/_sandbox/drift")) as answer:
        assert answer.status == 204
    assert (await connected.everything())[0] == before
    bad = {"invoice": case.other, "changes": "everything"}
    async with connected.http.post(connected.server.make_url("/_sandbox/drift"), json=bad) as a:
        assert a.status == 400 and (await a.text()).startswith("changes: ")
