"""The Acme Billing provider: what a plugin writes, and nothing the core already does.

Acme's API (served by `sandbox.py`): `GET /invoices?offset=&limit=` answers
`{"invoices": [...], "next": <offset or null>}`; `GET /invoices/{id}`; `POST
/invoices/{id}/checkout` with `{reference, return_url, state}` answers `{id, url}`;
`GET /checkouts/{id}` answers `{status: "open" | "paid" | "cancelled"}`. Amounts are
decimal strings ("12.50"); the key goes in `X-Api-Key`.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

import aiohttp
from pydantic import BaseModel, Field, SecretStr, ValidationError

from bot.kit.errors import Wording
from bot.kit.http import ProviderHttp
from bot.models import (
    Invoice,
    InvoicePage,
    InvoiceQuery,
    InvoiceStatus,
    Money,
    OutcomeStatus,
    PaymentCheck,
    PaymentMethod,
    PaymentOptions,
    PaymentOutcome,
    PaymentRequest,
    Redirect,
    StartedPayment,
)
from bot.provider import InvoiceNotFound, NotPayable, PaymentRejected, Provider
from bot.reading import parse_json, tolerant


class AcmeCredentials(BaseModel):
    """What the connect dialog asks for: a field each, secrets as SecretStr."""

    api_key: SecretStr = Field(description="API key (Acme: Settings > API)")
    base_url: str = Field(default="https://api.acme.example", description="API address")


class WireInvoice(BaseModel):
    """Acme's invoice as its documents give it; read tolerantly, so drift is forgiven."""

    id: str
    number: str
    description: str = ""
    currency: str
    amount_due: str
    total: str
    status: str
    due: date | None = None


ACME = Wording(
    name="Acme Billing",
    credentials="the API key",
    credentials_hint="Check it in Acme's settings (Settings > API).",
)
"""How Acme's failures read; the kit picks the core's error type from the status."""

STATUSES = {"open": InvoiceStatus.OPEN, "paid": InvoiceStatus.PAID, "void": InvoiceStatus.VOID}


class AcmeProvider(Provider):
    name: ClassVar[str] = "acme"
    title: ClassVar[str] = "Acme Billing"
    Credentials: ClassVar[type[BaseModel]] = AcmeCredentials

    def __init__(self, credentials: BaseModel, http: aiohttp.ClientSession) -> None:
        super().__init__(credentials, http)
        assert isinstance(credentials, AcmeCredentials)
        self.api = ProviderHttp(http, credentials.base_url, wording=ACME, timeout=10)
        self.key = credentials.api_key

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        """One request through the kit: reads are retried, the checkout POST is sent once."""
        headers = {"X-Api-Key": self.key.get_secret_value()}
        if method == "GET":
            answer = await self.api.get(path, headers=headers)
        else:
            answer = await self.api.send(method, path, headers=headers, json=body)
            if not answer.ok:
                raise ACME.for_answer(answer, refused=PaymentRejected)
        try:
            return parse_json(answer.body)
        except ValueError:
            raise ACME.unreadable(path.split("?")[0], "not valid JSON") from None

    def _invoice(self, raw: Any) -> Invoice:
        item = tolerant(WireInvoice, raw, "Acme invoice")
        return Invoice(
            provider=self.name,
            id=item.id,
            number=item.number,
            description=item.description,
            amount_due=Money.of(item.amount_due, item.currency),
            total_incl_vat=Money.of(item.total, item.currency),
            status=STATUSES.get(item.status, InvoiceStatus.UNKNOWN),
            due=item.due,
        )

    async def verify(self) -> None:
        await self._call("GET", "/invoices?offset=0&limit=1")

    async def list_invoices(self, query: InvoiceQuery) -> InvoicePage:
        offset = int(query.cursor or 0)
        page = await self._call("GET", f"/invoices?offset={offset}&limit={query.limit}")
        found, unreadable = [], []
        for raw in page.get("invoices", []):
            try:
                invoice = self._invoice(raw)
            except (ValidationError, ValueError, ArithmeticError):
                unreadable.append(str(raw.get("number", "")) if isinstance(raw, dict) else "")
                continue
            wanted = not query.statuses or invoice.status in query.statuses
            if wanted and (not query.text or query.text.casefold() in invoice.number.casefold()):
                found.append(invoice)
        following = page.get("next")
        return InvoicePage(
            invoices=found,
            next_cursor=None if following is None else str(following),
            unreadable=unreadable,
        )

    async def get_invoice(self, invoice_id: str) -> Invoice:
        try:
            return self._invoice(await self._call("GET", f"/invoices/{invoice_id}"))
        except InvoiceNotFound:
            page = await self._call("GET", f"/invoices?number={invoice_id}")
            for raw in page.get("invoices", []):
                return self._invoice(raw)
            raise

    async def payment_options(self, invoice_ids: list[str]) -> PaymentOptions:
        if len(invoice_ids) != 1:
            raise NotPayable("Acme Billing pays one invoice at a time.")
        invoice = await self.get_invoice(invoice_ids[0])
        card = PaymentMethod(id="card", name="Card on Acme's page")
        return PaymentOptions(
            provider=self.name, invoices=[invoice], total=invoice.amount_due, methods=[card]
        )

    async def start_payment(self, request: PaymentRequest) -> StartedPayment:
        options = request.options or await self.payment_options(list(request.invoice_ids))
        if request.method_id != "card" or request.amount != options.total:
            raise PaymentRejected("The amount or method changed; open the invoice again.")
        answer = await self._call(
            "POST",
            f"/invoices/{request.invoice_ids[0]}/checkout",
            {"reference": request.reference, "return_url": request.return_url,
             "state": request.token},
        )  # fmt: skip
        return StartedPayment(start=Redirect(url=answer["url"]), provider_reference=answer["id"])

    async def check_payment(self, check: PaymentCheck) -> PaymentOutcome:
        if not check.provider_reference:
            return PaymentOutcome(status=OutcomeStatus.UNKNOWN, message="no checkout to ask")
        said = await self._call("GET", f"/checkouts/{check.provider_reference}")
        status = said.get("status")
        if status == "paid":
            # The checkout is this attempt's own record: the money is tied to it.
            return PaymentOutcome(status=OutcomeStatus.PAID, attributed=True)
        if status == "cancelled":
            return PaymentOutcome(status=OutcomeStatus.CANCELLED, message="Cancelled at Acme.")
        return PaymentOutcome(status=OutcomeStatus.PENDING)
