"""Payfirma as an invoicebot provider: invoices the team issues, paid by its customers.

Customers pay on Payfirma's hosted payment page; the browser comes back to the core's
landing with a transaction `lookup_id`, which we look up before saying "paid". The
poller, which has no landing parameters, can only read the invoice's own status.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import ClassVar

import aiohttp
from pydantic import BaseModel

from bot.models import (
    Invoice,
    InvoiceDraft,
    InvoicePage,
    InvoiceQuery,
    PaymentCheck,
    PaymentOptions,
    PaymentOutcome,
    PaymentRequest,
    StartedPayment,
)
from bot.provider import (
    BadCredentials,
    Capabilities,
    Direction,
    InvoiceNotFound,
    NotPayable,
    Provider,
    ProviderUnavailable,
    RateLimited,
)
from plugins.payfirma import checkout, issuing, landing, listing
from plugins.payfirma.api import PAGE_NOT_SET_UP, PayfirmaApi
from plugins.payfirma.credentials import PayfirmaCredentials
from plugins.payfirma.oauth import TokenSource

log = logging.getLogger(__name__)


class PayfirmaProvider(Provider):
    name: ClassVar[str] = "payfirma"
    title: ClassVar[str] = "Payfirma"
    Credentials: ClassVar[type[BaseModel]] = PayfirmaCredentials
    capabilities: ClassVar[Capabilities] = Capabilities(
        direction=Direction.RECEIVABLE,
        create_invoices=True,
        send_by_email=True,
        names_transactions=True,
        invoice_shows_page_payments=False,
        invoice_currencies=checkout.CURRENCIES,
    )

    def __init__(
        self,
        credentials: BaseModel,
        http: aiohttp.ClientSession,
        *,
        timeout: float = 10.0,
        retry_delay: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(credentials, http)
        settings = PayfirmaCredentials.model_validate(credentials, from_attributes=True)
        self.tokens = TokenSource(
            http,
            settings.auth_base,
            settings.client_id,
            settings.client_secret,
            timeout=timeout,
            retry_delay=retry_delay,
            clock=clock,
        )
        self.api = PayfirmaApi(
            http,
            self.tokens,
            settings.gateway_base,
            settings.invoice_path,
            hpp_token=settings.hpp_token,
            timeout=timeout,
            retry_delay=retry_delay,
        )
        # Our payment id → a digest of the pay-link token sent as HPP `state`, for a check
        # whose core passes none (`PaymentCheck.token_hash`): this process only.
        self._states: dict[str, str] = {}

    async def verify(self) -> None:
        await self.tokens.fetch()
        try:
            await self.api.invoices(1)
        except InvoiceNotFound:
            log.warning(
                "Payfirma has no invoice list at %s%s", self.api.gateway_url, self.api.invoice_path
            )
            raise BadCredentials(
                "Payfirma has no invoice list at the API address and invoice address used; "
                "try the other invoice address, or check the API address."
            ) from None

    async def list_invoices(self, query: InvoiceQuery) -> InvoicePage:
        return await listing.page(self.api, query)

    async def customer_invoices(self, customer_id: int, limit: int = 100) -> list[Invoice]:
        """One customer's invoices (Payfirma's per-customer list); not in the core contract."""
        return await listing.of_customer(self.api, customer_id, limit)

    async def get_invoice(self, invoice_id: str) -> Invoice:
        return await listing.get(self.api, invoice_id)

    async def payment_options(self, invoice_ids: list[str]) -> PaymentOptions:
        if self.api.hpp_token is None:  # before a menu whose one method could only refuse
            raise NotPayable(PAGE_NOT_SET_UP)
        return checkout.options(await self.get_invoice(_one(invoice_ids)))

    async def start_payment(self, request: PaymentRequest) -> StartedPayment:
        item = await listing.fetch(self.api, _one(request.invoice_ids))
        offer = checkout.options(listing.converted(item, "invoice"))
        body = checkout.hpp_request(request, offer, item)
        try:
            start = checkout.redirect(await self.api.hpp_init(body))
        except RateLimited as error:
            raise RateLimited(f"{error} {checkout.NOTHING_CHARGED}", error.retry_after) from None
        except ProviderUnavailable as error:
            raise ProviderUnavailable(f"{error} {checkout.NOTHING_CHARGED}") from None
        if request.token:
            self._states[request.reference] = landing.digest(request.token)
        return StartedPayment(start=start)

    async def check_payment(self, check: PaymentCheck) -> PaymentOutcome:
        expected = check.token_hash or self._states.get(check.reference)
        return await landing.judge(self.api, check, _one(check.invoice_ids), expected)

    async def create_invoice(self, draft: InvoiceDraft, *, send: bool) -> Invoice:
        return await issuing.create(self.api, draft, send=send)

    async def find_created(self, draft: InvoiceDraft) -> Invoice | None:
        return await issuing.find_created(self.api, draft)

    async def send_invoice(self, invoice_id: str, to: str | None = None) -> str:
        return await issuing.send(self.api, invoice_id, to)


def _one(invoice_ids: Iterable[str]) -> str:
    ids = list(dict.fromkeys(key.strip() for key in invoice_ids if key.strip()))
    if len(ids) != 1:
        raise NotPayable("Payfirma's payment page takes one invoice at a time; choose one.")
    return ids[0]
