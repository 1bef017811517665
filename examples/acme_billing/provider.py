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
from bot.provider import (
    BadCredentials,
    InvoiceNotFound,
    NotPayable,
    PaymentRejected,
    Provider,
    ProviderUnavailable,
)
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


STATUSES = {"open": InvoiceStatus.OPEN, "paid": InvoiceStatus.PAID, "void": InvoiceStatus.VOID}


class AcmeProvider(Provider):
    name: ClassVar[str] = "acme"
    title: ClassVar[str] = "Acme Billing"
    Credentials: ClassVar[type[BaseModel]] = AcmeCredentials

    def __init__(self, credentials: BaseModel, http: aiohttp.ClientSession) -> None:
        super().__init__(credentials, http)
        assert isinstance(credentials, AcmeCredentials)
        self.base_url = credentials.base_url.rstrip("/")
        self.key = credentials.api_key

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        """One request; statuses become the core's error types, sentences for people."""
        try:
            async with self.http.request(
                method,
                self.base_url + path,
                json=body,
                headers={"X-Api-Key": self.key.get_secret_value()},
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response:
                status, text = response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError):
            raise ProviderUnavailable("Acme Billing did not answer.") from None
        if status in (401, 403):
            raise BadCredentials("Acme Billing refused the API key; check it in Acme's settings.")
        if status == 404:
            raise InvoiceNotFound("Acme Billing has no such invoice.")
        if status in (409, 422):
            raise PaymentRejected("Acme Billing would not take this payment.")
        if status != 200:
            raise ProviderUnavailable("Acme Billing had a problem; try again in a minute.")
        try:
            return parse_json(text)
        except ValueError:
            raise ProviderUnavailable("Acme Billing's answer could not be read.") from None

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
