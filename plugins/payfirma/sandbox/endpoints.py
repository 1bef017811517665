"""The invoice routes, answered under both `/invoice` and `/invoice-service/invoice`.

Payfirma documents `/invoice`; a third-party SDK uses the service prefix, so the
sandbox serves both and the plugin lets an admin choose. Lists answer
`{"invoices": [...]}` in the order invoices were made, cut at `?limit=`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from plugins.payfirma import wire
from plugins.payfirma.sandbox import billing
from plugins.payfirma.sandbox.replies import NOT_FOUND, Refusal, ok, parsed
from plugins.payfirma.sandbox.state import SANDBOX, Email, SandboxState

PREFIXES = ("/invoice", "/invoice-service/invoice")
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000


def limit_of(request: web.Request) -> int:
    raw = request.query.get("limit", "").strip()
    if not raw:
        return DEFAULT_LIMIT
    if not raw.isdigit() or int(raw) < 1:
        raise Refusal(400, "limit must be a positive whole number")
    return min(int(raw), MAX_LIMIT)


def found(state: SandboxState, request: web.Request) -> wire.Invoice:
    item = state.invoices.get(int(request.match_info["invoice_id"]))
    if item is None:
        raise Refusal(404, "Invoice not found", code=NOT_FOUND)
    return item


async def list_invoices(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    if state.list_body is not None:  # a shape set by a test: the documents' own sample
        return web.Response(body=state.list_body, content_type="application/json")
    items = list(state.invoices.values())[: limit_of(request)]
    return ok({"invoices": [served(state, item) for item in items]})


async def customer_invoices(request: web.Request) -> web.Response:
    raw = request.match_info["customer_id"]
    wanted = int(raw) if raw.lstrip("-").isdigit() else None
    state = request.app[SANDBOX]
    items = [i for i in state.invoices.values() if i.customer_id == wanted]
    return ok({"invoices": [served(state, item) for item in items[: limit_of(request)]]})


async def retrieve(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    return ok(served(state, found(state, request)))


def served(state: SandboxState, item: wire.Invoice) -> dict[str, Any]:
    """The invoice as the API answers it today, drift included."""
    return state.drifted(item.to_json(), item.invoice_id)


async def create(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    invoice = billing.create(state, await parsed(request, wire.NewInvoice), draft=False)
    if invoice.recipient_email and invoice.model_extra and invoice.model_extra["resend_invoice"]:
        state.emails.append(Email(invoice.invoice_id, invoice.recipient_email))
    return ok(invoice)


async def create_draft(request: web.Request) -> web.Response:
    return ok(
        billing.create(request.app[SANDBOX], await parsed(request, wire.NewInvoice), draft=True)
    )


async def send(request: web.Request) -> web.Response:
    """E-mail the invoice; sending a draft issues it (UNPAID), which is our guess."""
    state = request.app[SANDBOX]
    item = found(state, request)
    address = request.match_info.get("email") or item.recipient_email or ""
    first, _, domain = address.partition("@")
    if not first or "." not in domain or "/" in address:
        raise Refusal(400, f"Cannot send to {address!r}: not an e-mail address")
    if (item.status or "").upper() == "DRAFT" and state.sending_issues_drafts:
        state.invoices[item.invoice_id] = item.model_copy(update={"status": "UNPAID"})
    state.emails.append(Email(item.invoice_id, address))
    return ok({"email_address": address})


def setup(app: web.Application) -> None:
    for prefix in PREFIXES:
        one = prefix + r"/{invoice_id:\d+}"
        app.router.add_get(prefix, list_invoices)
        app.router.add_post(prefix, create)
        app.router.add_post(prefix + "/draft", create_draft)
        app.router.add_get(prefix + "/customer/{customer_id}", customer_invoices)
        app.router.add_get(one, retrieve)
        app.router.add_post(one + "/send", send)
        app.router.add_post(one + "/send/{email}", send)
