"""i3D.net as an invoicebot provider: list and pay the team's i3D.net invoices.

The payer finishes in a browser: `start_payment` returns the form i3D's payment
service provider expects, and the outcome comes from re-reading the invoice list,
because i3D takes no return URL and sends no webhook.
"""

from __future__ import annotations

import logging
from typing import ClassVar

import aiohttp
from pydantic import BaseModel, Field, SecretStr, field_validator

from bot.kit.checks import web_address
from bot.models import (
    Invoice,
    InvoicePage,
    InvoiceQuery,
    InvoiceStatus,
    OutcomeStatus,
    PaymentCheck,
    PaymentOptions,
    PaymentOutcome,
    PaymentRequest,
    StartedPayment,
)
from bot.provider import (
    AmountChanged,
    BadCredentials,
    Capabilities,
    Direction,
    InvoiceNotFound,
    NotPayable,
    Provider,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    SeveralInvoices,
)
from plugins.i3d import checkout, convert, errors, listing
from plugins.i3d.api import I3DApi
from plugins.i3d.paging import CURSOR

log = logging.getLogger(__name__)


class I3DCredentials(BaseModel):
    """An API key from the i3D.net control panel (Account > API keys)."""

    api_key: SecretStr = Field(
        title="API key",
        description="In the i3D.net control panel under Account > API keys: create a key "
        "and paste it here. Stored encrypted; never shown again.",
    )
    base_url: str = Field(
        default="https://api.i3d.net",
        title="API address",
        description="Leave empty unless i3D.net told you to use another address.",
        json_schema_extra={"advanced": True},
    )

    @field_validator("base_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        return web_address(value, "https://api.i3d.net")


class I3DProvider(Provider):
    name: ClassVar[str] = "i3d"
    title: ClassVar[str] = "i3D.net"
    Credentials: ClassVar[type[BaseModel]] = I3DCredentials
    capabilities: ClassVar[Capabilities] = Capabilities(
        direction=Direction.PAYABLE, pay_several=True, keeps_drafts=False
    )

    #: Pages read per lookup; 200 pages of 100 is far beyond any real account.
    max_pages: ClassVar[int] = 200
    #: Pages read to fill one filtered page for Slack before handing back a cursor.
    list_pages: ClassVar[int] = 10

    def __init__(
        self,
        credentials: BaseModel,
        http: aiohttp.ClientSession,
        *,
        timeout: float = 10.0,
        retry_delay: float = 0.25,
        page_size: int = 100,
    ) -> None:
        super().__init__(credentials, http)
        settings = I3DCredentials.model_validate(credentials, from_attributes=True)
        self.page_size = page_size
        self.seen = listing.Whereabouts()
        self.api = I3DApi(
            http, settings.base_url, settings.api_key, timeout=timeout, retry_delay=retry_delay
        )

    async def verify(self) -> None:
        try:
            await self.api.invoices(0, 1)
        except InvoiceNotFound:
            log.warning("i3D.net has no invoice list at %s", self.api.base_url)
            raise BadCredentials(
                "i3D.net has no invoice list at the API address used; check it "
                "(normally https://api.i3d.net)."
            ) from None

    async def list_invoices(self, query: InvoiceQuery) -> InvoicePage:
        found, resume, unreadable = await listing.collect(
            self.api,
            CURSOR.decode(query.cursor),
            query.limit,
            query.limit,
            _every if query.unfiltered else lambda invoice: _matches(query, invoice),
            max_pages=self.list_pages,
            seen=self.seen,
            read_pages=listing.READ_PAGES,
        )
        # Built here from exact values, so not validated again (a big account's hot path).
        return InvoicePage.model_construct(
            invoices=found,
            next_cursor=None if resume is None else CURSOR.encode(resume),
            unreadable=unreadable,
        )

    async def get_invoice(self, invoice_id: str) -> Invoice:
        key = invoice_id.strip()
        found = await listing.going_by(self.api, key, self.page_size, self.max_pages, self.seen)
        if not found:
            raise InvoiceNotFound(
                f"i3D.net has no invoice with id or number {key!r} for this API key."
            )
        if len(found) > 1:
            raise SeveralInvoices(
                f"i3D.net has {len(found)} invoices that go by {key!r}.",
                [item.id for item in found],
            )
        return listing.converted(found[0])

    async def payment_options(self, invoice_ids: list[str]) -> PaymentOptions:
        ids = _unique(invoice_ids)
        if not ids:
            raise NotPayable("Choose at least one i3D.net invoice to pay.")
        prepared = await self.api.prepare(ids)
        with errors.reading("pay/prepare"):
            return convert.to_options(prepared)

    async def start_payment(self, request: PaymentRequest) -> StartedPayment:
        ids = _unique(list(request.invoice_ids))
        # Registering charges nothing (the payer confirms on i3D's page), and its answer
        # carries the total, so the offer the core just showed is enough to start from.
        options = request.options or await self.payment_options(ids)
        body = checkout.choose(options, request, ids)
        try:
            registered = await self.api.register(body)
            start = checkout.form_post(registered)
        except RateLimited as error:
            raise RateLimited(f"{error} {checkout.NOTHING_CHARGED}", error.retry_after) from None
        except ProviderUnavailable as error:
            raise ProviderUnavailable(f"{error} {checkout.NOTHING_CHARGED}") from None
        if registered.totalAmount.strip() != str(options.total.to_minor()):
            log.warning(
                "i3D.net registered %s cents but the payer confirmed %s",
                registered.totalAmount,
                options.total,
            )
            raise AmountChanged(
                f"The amount changed: you confirmed {options.total} but i3D.net registered "
                f"a different total. Review the invoices and confirm again. "
                f"{checkout.NOTHING_CHARGED}"
            )
        return StartedPayment(start=start, provider_reference=checkout.transaction_id(start))

    async def check_payment(self, check: PaymentCheck) -> PaymentOutcome:
        ids = _unique(list(check.invoice_ids))
        found = await listing.find(self.api, ids, self.page_size, self.max_pages, seen=self.seen)
        missing = [key for key in ids if key not in found]
        if missing:
            raise InvoiceNotFound(f"i3D.net no longer lists invoice(s) {', '.join(missing)}.")
        invoices = [found[key] for key in ids]
        with errors.reading("invoice list"):
            paid = [item for item in invoices if convert.status_of(item) is InvoiceStatus.PAID]
            untouched = all(convert.status_of(item) is InvoiceStatus.OPEN for item in invoices)
        if len(paid) == len(invoices):
            numbers = ", ".join(item.invoiceNumber for item in invoices)
            return PaymentOutcome(
                status=OutcomeStatus.PAID,
                message=f"i3D.net shows {numbers} as paid.",
                paid_at=convert.paid_at(invoices),
            )
        try:
            landing = await self.api.landing()
        except ProviderError as error:
            # It takes no parameters and finds its payment in a way i3D does not document:
            # a refusal says nothing about this payment, which the list still decides.
            log.info("i3D.net paymentLanding unavailable: %s", error)
            landing = None
        outcome = checkout.landing_outcome(landing, ids, untouched=untouched) if landing else None
        # Those i3D lists paid are paid whatever becomes of the rest: a watch ending on
        # this word records them (see `PaymentOutcome.paid_invoices`).
        some = tuple(key for key, item in zip(ids, invoices, strict=True) if item in paid)
        # Recorded with i3D's own time for them, not when the watch happens to end.
        when = convert.paid_at(paid) if some else None
        waiting = f" ({len(paid)} of {len(invoices)} paid so far)" if paid else ""
        if outcome is not None and outcome.status is not OutcomeStatus.PENDING and some:
            # A cancel or failure beside an invoice i3D lists paid is no end for the
            # payment: money moved, and ending it here would leave that invoice unrecorded.
            said = outcome.message.rstrip(".")
            return PaymentOutcome(
                status=OutcomeStatus.PENDING,
                message=f"i3D.net lists some of the invoices paid{waiting}, though it also "
                f"said: {said}.",
                paid_invoices=some,
                paid_at=when,
            )
        if outcome is not None:
            pending = outcome.status is OutcomeStatus.PENDING
            part = {"paid_invoices": some, "paid_at": when}
            return outcome.model_copy(update=part) if pending else outcome
        return PaymentOutcome(
            status=OutcomeStatus.PENDING,
            message=f"Waiting for i3D.net to confirm the payment{waiting}.",
            invoice_unpaid=untouched,
            paid_invoices=some,
            paid_at=when,
        )


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(key.strip() for key in ids if key.strip()))


def _every(invoice: Invoice) -> bool:
    return True


def _matches(query: InvoiceQuery, invoice: Invoice) -> bool:
    """The API documents no filters, so status and text are applied here."""
    if query.statuses and invoice.status not in query.statuses:
        return False
    if not query.text:
        return True
    needle = query.text.casefold()
    return any(
        needle in field.casefold() for field in (invoice.number, invoice.description, invoice.id)
    )
