"""What a provider plugin implements, and the errors it raises.

A provider class is registered once (see `bot.hookspecs.register_providers`); the core
makes one instance per connected workspace, from credentials it decrypted, with the
shared `aiohttp.ClientSession`. Methods are async and may be called concurrently.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

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
from bot.money import currency_code


class ProviderError(Exception):
    """Base of every provider failure; `str(error)` is a sentence a person can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadCredentials(ProviderError):
    """The provider refused our credentials (revoked key, wrong secret, IP not allowed)."""


class WrongCode(BadCredentials):
    """A one-time code the provider refused while its challenge is still open: the
    person may type the code again; an expired challenge is plain `BadCredentials`."""


class InvoiceNotFound(ProviderError):
    """No such invoice at this provider, or not visible with these credentials."""


class SeveralInvoices(ProviderError):
    """More than one invoice goes by the id or number asked for (a provider that does not
    keep its numbers unique): none is picked, since paying the wrong one costs money.
    `ids` are the provider's ids of those invoices, each of which finds one."""

    def __init__(self, message: str, ids: Sequence[str]) -> None:
        super().__init__(message)
        self.ids = tuple(ids)


class NotPayable(ProviderError):
    """The invoice exists but cannot be paid now (already paid, void, credit note)."""


class PaymentRejected(ProviderError):
    """The provider refused the payment itself (declined card, method not allowed)."""


class AmountChanged(PaymentRejected):
    """The provider asks another total than the one confirmed (a credit note used since,
    a price changed): nothing was started, and the pay menu again shows the new total."""


class CreatedDifferently(PaymentRejected):
    """The provider created invoice `number`, but not as drafted (other totals): it exists,
    and the person must correct or void it there."""

    def __init__(self, message: str, number: str) -> None:
        super().__init__(message)
        self.number = number


class ProviderUnavailable(ProviderError):
    """The provider did not answer usefully: timeout, 5xx, malformed body, network error."""


class Unconfirmed(ProviderUnavailable):
    """A write whose answer was lost, so it may have been carried out all the same; the
    message already says where to check (the core adds its own words to a plain
    `ProviderUnavailable` from a create)."""


class RateLimited(ProviderUnavailable):
    """The provider asked us to slow down."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TwoFactorRequired(ProviderError):
    """The provider sent a one-time code to `target`; answer with `answer_two_factor`.

    `challenge` is the provider's handle for this attempt (public, not the code).
    """

    def __init__(self, message: str, challenge: str, target: str | None = None) -> None:
        super().__init__(message)
        self.challenge = challenge
        self.target = target


class Direction(StrEnum):
    """Who pays: the team pays its suppliers, or the team's customers pay the team."""

    PAYABLE = "payable"
    RECEIVABLE = "receivable"


class Capabilities(BaseModel):
    """What a provider can do; the Slack side offers only what is declared here."""

    model_config = ConfigDict(frozen=True)

    direction: Direction = Direction.PAYABLE
    pay_several: bool = False
    create_invoices: bool = False
    send_by_email: bool = False
    keeps_drafts: bool = True
    """The provider has draft invoices; False (i3D.net) keeps it out of `/invoices drafts`,
    which would only name it among the providers with none."""
    names_transactions: bool = False
    """The payer's return names the transaction itself (Payfirma's lookup id), so money can
    be tied to that very attempt even after its invoice was settled on the provider's word
    alone: such a return is still asked about (see `Settlement.check`)."""
    invoice_shows_page_payments: bool = True
    """Money taken on a payment page shows on the invoice itself (i3D.net, PingProxies):
    a page whose invoice the provider still listed unpaid when its watch ended
    (`PaymentOutcome.invoice_unpaid`) took nothing, and just expires. Where only the
    page's return can name its money (Payfirma), such a page's end is told to #billing as
    never confirmed."""
    invoice_currencies: tuple[str, ...] = Field(default=("CAD", "USD", "EUR", "GBP"), min_length=1)
    """The ISO codes `create_invoice` takes, the usual one first: the new-invoice form
    offers only these, so no one reviews an invoice that can only be refused."""

    @field_validator("invoice_currencies")
    @classmethod
    def _iso_codes(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(currency_code(code) for code in codes))


class NoCredentials(BaseModel):
    """For providers that need none."""


class Provider(ABC):
    """Base class for provider plugins.

    Subclasses set `name` (stable, lower case: stored with every payment), `title`
    (for people), `Credentials` (a pydantic model: what the connect dialog asks for; use
    `SecretStr` for secrets so they never print) and `capabilities`.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    Credentials: ClassVar[type[BaseModel]] = NoCredentials
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, credentials: BaseModel, http: aiohttp.ClientSession) -> None:
        self.credentials = credentials
        self.http = http

    @abstractmethod
    async def verify(self) -> None:
        """Prove the credentials work with one cheap call; raise `BadCredentials` if not."""

    @abstractmethod
    async def list_invoices(self, query: InvoiceQuery) -> InvoicePage:
        """One page of invoices matching `query`, with a cursor for the next page."""

    @abstractmethod
    async def get_invoice(self, invoice_id: str) -> Invoice:
        """One invoice by the provider's id or printed number; `InvoiceNotFound` if neither,
        `SeveralInvoices` if more than one goes by it."""

    @abstractmethod
    async def payment_options(self, invoice_ids: list[str]) -> PaymentOptions:
        """The methods the provider allows now for paying these invoices together."""

    @abstractmethod
    async def start_payment(self, request: PaymentRequest) -> StartedPayment:
        """Start paying; may charge at once (`Captured`). Never retried by the core."""

    @abstractmethod
    async def check_payment(self, check: PaymentCheck) -> PaymentOutcome:
        """Ask the provider how the payment went; paid only when the provider says so."""

    async def answer_two_factor(self, challenge: str, code: str) -> None:
        """Finish the sign-in that raised `TwoFactorRequired`, with the code a person typed.

        Keep whatever session it yields (a token) in memory; never store the code. Raise
        `WrongCode` for a mistyped code the person may retype, `BadCredentials` when the
        challenge has expired (the person starts the sign-in over).
        """
        raise ProviderError(f"{self.title} does not use two-factor codes.")

    async def create_invoice(self, draft: InvoiceDraft, *, send: bool) -> Invoice:
        """Issue an invoice (`send=True` also e-mails it) or save it as a draft.

        Only for providers whose capabilities say `create_invoices`; the totals the
        provider computes must equal `draft.total`, or raise `CreatedDifferently`. A
        request whose answer was lost raises `ProviderUnavailable` (it may exist: the core
        says to look for it before creating it again; raise `Unconfirmed` to say where
        yourself); any other error means nothing was created.
        """
        raise ProviderError(f"{self.title} cannot create invoices.")

    async def find_created(self, draft: InvoiceDraft) -> Invoice | None:
        """The invoice `create_invoice(draft)` made, found by `draft.reference`, for a create
        whose answer was lost: the core watches it instead of creating it again.

        None when the provider does not show it (yet): the core asks again for a while,
        then tells the billing channel to look for it. Raise `SeveralInvoices` with their
        ids when more than one carries the reference: none is watched, and the billing
        channel is told to check them. Raise `ProviderUnavailable` when the provider
        cannot be asked now. Never create anything here.
        """
        return None

    async def send_invoice(self, invoice_id: str, to: str | None = None) -> str:
        """E-mail the invoice to `to`, or to the recipient on file; return the address used.

        Also how an overdue customer is reminded (`to` None): a receivable provider whose
        capabilities say `send_by_email` gets **Send reminder** and automatic reminders.
        Raise `ProviderUnavailable` when the answer is lost (the reminder is then counted,
        never sent twice the same day), another `ProviderError` when it was refused.
        """
        raise ProviderError(f"{self.title} cannot send invoices by e-mail.")


@dataclass(frozen=True)
class Sandbox:
    """A local stand-in of a provider's API, for `invoicebot demo` and end-to-end tests.

    `make_app(landing_url)` builds the aiohttp app, sending payers' browsers back to
    `landing_url` after its payment page; `credentials(base_url)` are what connect the
    provider to that app once it listens at `base_url`.
    """

    provider: str
    make_app: Callable[[str], web.Application]
    credentials: Callable[[str], BaseModel]
