"""PingProxies as an invoicebot provider: list the account's invoices and pay them one at a time.

PingProxies' Private User API signs in an account (e-mail, password, maybe a one-time
code) on behalf of an approved application. Paying goes through Invoice Pay Option and
Invoice Pay: a redirect method sends the payer to a payment platform, a saved card is
charged at once. The outcome always comes from re-reading the invoice.
"""

from __future__ import annotations

import logging
from typing import ClassVar

import aiohttp
from pydantic import BaseModel

from bot.models import (
    Invoice,
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
    PaymentRejected,
    Provider,
    ProviderUnavailable,
    RateLimited,
    SeveralInvoices,
    TwoFactorRequired,
)
from plugins.pingproxies import checkout, convert, errors, listing, wire
from plugins.pingproxies.api import NotSent, PingProxiesApi
from plugins.pingproxies.credentials import PingProxiesCredentials
from plugins.pingproxies.paging import CURSOR
from plugins.pingproxies.routes import MAX_PER_PAGE
from plugins.pingproxies.session import Session
from plugins.pingproxies.transport import Transport

log = logging.getLogger(__name__)


class PingProxiesProvider(Provider):
    name: ClassVar[str] = "pingproxies"
    title: ClassVar[str] = "PingProxies"
    Credentials: ClassVar[type[BaseModel]] = PingProxiesCredentials
    capabilities: ClassVar[Capabilities] = Capabilities(
        direction=Direction.PAYABLE, pay_several=False
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
        page_size: int = MAX_PER_PAGE,
    ) -> None:
        super().__init__(credentials, http)
        settings = PingProxiesCredentials.model_validate(credentials, from_attributes=True)
        transport = Transport(
            http,
            settings.base_url,
            public_key=settings.application_public_key,
            private_key=settings.application_private_key,
            client_ip=settings.client_ip,
            user_agent=settings.client_user_agent,
            timeout=timeout,
            retry_delay=retry_delay,
        )
        self.session = Session(transport, settings.email, settings.password)
        self.api = PingProxiesApi(transport, self.session)
        self.page_size = max(1, min(page_size, MAX_PER_PAGE))
        # Our payment id -> the invoice's last payment error when that attempt started
        # (this process only; bounded): PingProxies keeps an invoice's last error, so
        # the one standing at the start is an earlier attempt's, not this one's outcome.
        self._standing: dict[str, str] = {}

    async def verify(self) -> None:
        try:
            await self.api.search({"page": "1", "per_page": "1"})
        except InvoiceNotFound:
            log.warning("PingProxies has no invoice search at %s", self.api.transport.base_url)
            raise BadCredentials(
                "PingProxies has no invoice search at the API address used; check it "
                "(normally https://api.pingproxies.com)."
            ) from None

    async def answer_two_factor(self, challenge: str, code: str) -> None:
        if not code.strip():
            raise BadCredentials("Type the one-time code PingProxies sent.")
        await self.session.answer(challenge, code)

    async def list_invoices(self, query: InvoiceQuery) -> InvoicePage:
        found, resume, unreadable = await listing.collect(
            self.api,
            listing.status_filter(query.statuses),
            offset=CURSOR.decode(query.cursor),
            per_page=self.page_size,
            limit=query.limit,
            wanted=lambda invoice: _matches(query, invoice),
            max_pages=self.list_pages,
        )
        return InvoicePage(
            invoices=found,
            next_cursor=None if resume is None else CURSOR.encode(resume),
            unreadable=unreadable,
        )

    async def get_invoice(self, invoice_id: str) -> Invoice:
        key = invoice_id.strip()
        if key.startswith("inv_"):
            try:
                return _converted(await self.api.retrieve(key), "invoice retrieve")
            except InvoiceNotFound:
                pass
        found = await listing.find_number(self.api, key, self.page_size, self.max_pages)
        if not found:
            raise InvoiceNotFound(
                f"PingProxies has no invoice with id or number {key!r} for this account."
            )
        if len(found) > 1:
            raise SeveralInvoices(
                f"PingProxies has {len(found)} invoices numbered {key!r}.",
                [item.invoice_id for item in found],
            )
        return listing.converted(found[0])

    async def payment_options(self, invoice_ids: list[str]) -> PaymentOptions:
        return (await self._options(_one(invoice_ids)))[0]

    async def _options(self, invoice_id: str) -> tuple[PaymentOptions, str | None]:
        """The offer, and the invoice's last payment error as it stands now."""
        item = await self.api.retrieve(invoice_id)
        invoice = _converted(item, "invoice retrieve")
        offer = await self.api.pay_option(invoice_id)
        if offer.invoice_id != invoice_id:
            raise errors.unreadable("invoice pay option", f"it is about {offer.invoice_id!r}")
        with errors.reading("invoice pay option"):
            return convert.to_options(invoice, offer), item.invoice_last_payment_error

    async def start_payment(self, request: PaymentRequest) -> StartedPayment:
        invoice_id = _one(list(request.invoice_ids))
        try:
            options, standing = await self._options(invoice_id)
        except ProviderUnavailable as error:
            raise checkout.not_sent(error) from None
        method = checkout.choose(options, request)
        self._standing[request.reference] = standing or ""  # "": none stood
        if len(self._standing) > STANDING_KEPT:
            del self._standing[next(iter(self._standing))]  # the oldest
        try:
            result = await self.api.pay(invoice_id, wire.PayRequest(payment_method_id=method.id))
            return checkout.started(result, method)
        except NotSent as error:  # the sign-in before it failed: pay was never sent
            raise checkout.not_sent(error.error) from None
        except TwoFactorRequired as error:
            message = f"{error} {checkout.NOTHING_CHARGED}"
            raise TwoFactorRequired(message, error.challenge, error.target) from None
        except RateLimited as error:
            message = f"{error} {checkout.NOTHING_CHARGED}"
            raise RateLimited(message, error.retry_after) from None
        except ProviderUnavailable as error:
            if method.saved_card:
                raise  # the card may have been charged: the core records the outcome unknown
            raise ProviderUnavailable(f"{error} {checkout.NOTHING_CHARGED}") from None
        except (PaymentRejected, NotPayable) as error:
            raise type(error)(f"{error} {checkout.NOTHING_CHARGED}") from None

    async def check_payment(self, check: PaymentCheck) -> PaymentOutcome:
        item = await self.api.retrieve(_one(list(check.invoice_ids)))
        with errors.reading("invoice retrieve"):
            return checkout.outcome(item, check, self._standing.get(check.reference))


STANDING_KEPT = 10_000


def _one(ids: list[str]) -> str:
    """PingProxies pays one invoice per call, so the plugin declares `pay_several=False`."""
    unique = list(dict.fromkeys(key.strip() for key in ids if key.strip()))
    if not unique:
        raise NotPayable("Choose a PingProxies invoice to pay.")
    if len(unique) > 1:
        raise NotPayable(
            f"PingProxies pays one invoice at a time; choose one of {', '.join(unique)}."
        )
    return unique[0]


def _converted(item: wire.Invoice, what: str) -> Invoice:
    with errors.reading(what):
        return convert.to_invoice(item)


def _matches(query: InvoiceQuery, invoice: Invoice) -> bool:
    """Status again (the API may not narrow a mix of them) and free text, here."""
    if query.statuses and invoice.status not in query.statuses:
        return False
    if not query.text:
        return True
    needle = query.text.casefold()
    return any(
        needle in field.casefold() for field in (invoice.number, invoice.description, invoice.id)
    )
