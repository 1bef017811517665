"""The contract between the core and provider plugins.

Providers return these models; the core owns storage, rendering and Slack. Every
amount is `Money` and every status is normalised, so the core never needs to know
which provider an invoice came from.

Each model builds its validator when first used (`defer_build`), not at import: few are
used before `invoicebot run` serves, and the first use of one costs a millisecond.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    field_validator,
    model_validator,
)

from bot.money import Money

__all__ = [
    "Captured",
    "Emailed",
    "FormPost",
    "Invoice",
    "InvoiceAmount",
    "InvoiceDraft",
    "InvoiceLine",
    "InvoicePage",
    "InvoiceQuery",
    "InvoiceStatus",
    "Issuer",
    "Money",
    "OutcomeStatus",
    "Payment",
    "PaymentCheck",
    "PaymentMethod",
    "PaymentOptions",
    "PaymentOutcome",
    "PaymentRequest",
    "PaymentStart",
    "PaymentState",
    "Redirect",
    "StartedPayment",
]


class InvoiceStatus(StrEnum):
    """Normalised invoice status; anything a provider says that we do not know is UNKNOWN."""

    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    DRAFT = "draft"
    UNKNOWN = "unknown"


# The slots pydantic keeps beside a model's fields, set through their descriptors (bound
# once: looking them up per invoice was a tenth of reading a big account).
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_new = object.__new__
_set = object.__setattr__

_EVERY_FIELD: dict[type[BaseModel], set[str]] = {}
"""One set of field names per model, shared by every instance built with all its fields:
a set per invoice was a third of a big account's memory. Sharing is safe because every
name is already in it (pydantic only ever adds a name, and copies the set before updating
it in `model_copy`)."""


def today_utc() -> date:
    return datetime.now(UTC).date()


class Invoice(BaseModel):
    """One invoice as a person sees it, whichever provider it came from."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    provider: str = Field(description="Name the provider registered under, e.g. 'i3d'.")
    id: str = Field(description="The provider's own id, used in its API calls.")
    number: str = Field(description="The number printed on the invoice, for people.")
    description: str = ""
    amount_due: Money = Field(description="What is still to pay; zero once paid.")
    total_incl_vat: Money
    total_excl_vat: Money | None = None
    created: date | None = None
    due: date | None = None
    paid_at: datetime | None = None
    status: InvoiceStatus
    is_credit: bool = Field(default=False, description="A credit note: money owed to us.")
    url: str | None = Field(default=None, description="The provider's own page for it.")
    payer: str | None = Field(
        default=None, description="Who pays, for receivables: the customer's name or e-mail."
    )
    payer_email: str | None = Field(
        default=None,
        description="For receivables: the customer's e-mail address on file, if known.",
    )

    @model_validator(mode="after")
    def _one_currency(self) -> Invoice:
        for money in (self.total_incl_vat, self.total_excl_vat):
            if money is not None and money.currency != self.amount_due.currency:
                raise ValueError("an invoice's amounts must share one currency")
        return self

    @classmethod
    def built(
        cls,
        *,
        provider: str,
        id: str,
        number: str,
        amount_due: Money,
        total_incl_vat: Money,
        status: InvoiceStatus,
        total_excl_vat: Money | None = None,
        description: str = "",
        created: date | None = None,
        due: date | None = None,
        paid_at: datetime | None = None,
        is_credit: bool = False,
        url: str | None = None,
        payer: str | None = None,
        payer_email: str | None = None,
    ) -> Invoice:
        """An invoice from values already of their exact types (`Money` built by `Money`'s
        own constructors, real dates): the fast path for big lists, which skips validating
        each value again but still checks the one rule across fields (one currency)."""
        currency = amount_due.currency
        if total_incl_vat.currency != currency or (
            total_excl_vat is not None and total_excl_vat.currency != currency
        ):
            raise ValueError("an invoice's amounts must share one currency")
        # What `model_construct` does, without its per-field default handling; set past
        # the frozen model's `__setattr__`.
        made = _new(cls)
        _set(
            made,
            "__dict__",
            {
                "provider": provider,
                "id": id,
                "number": number,
                "description": description,
                "amount_due": amount_due,
                "total_incl_vat": total_incl_vat,
                "total_excl_vat": total_excl_vat,
                "created": created,
                "due": due,
                "paid_at": paid_at,
                "status": status,
                "is_credit": is_credit,
                "url": url,
                "payer": payer,
                "payer_email": payer_email,
            },
        )
        every = _EVERY_FIELD.get(cls) or _EVERY_FIELD.setdefault(cls, set(cls.model_fields))
        _set_fields_set(made, every)
        _set_extra(made, None)
        _set_private(made, None)
        return made

    @property
    def currency(self) -> str:
        return self.amount_due.currency

    @property
    def issuable(self) -> bool:
        """A draft that sending would issue: a bill, not a credit, for something."""
        return (
            self.status is InvoiceStatus.DRAFT and not self.is_credit and self.amount_due.amount > 0
        )

    def is_overdue(self, today: date | None = None) -> bool:
        """Open and past its due date (derived, never stored). A credit note is never
        overdue: it is money owed to the team, taken off a payment, not a bill."""
        if self.status is not InvoiceStatus.OPEN or self.due is None or self.is_credit:
            return False
        return self.due < (today or today_utc())

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overdue(self) -> bool:
        return self.is_overdue()

    @property
    def credit_value(self) -> Money:
        """A credit note's value as a positive amount, however the provider signs it."""
        amount = self.amount_due if not self.amount_due.is_zero() else self.total_incl_vat
        return -amount if amount.amount < 0 else amount

    @property
    def payable(self) -> bool:
        """Only an open, non-credit invoice with something left to pay can be paid."""
        return (
            self.status is InvoiceStatus.OPEN and not self.is_credit and self.amount_due.amount > 0
        )


class InvoiceQuery(BaseModel):
    """What to list: statuses (empty means all), free text, and where to continue."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    statuses: frozenset[InvoiceStatus] = frozenset()
    text: str | None = None
    cursor: str | None = Field(
        default=None, description="Opaque: the `next_cursor` of the page before."
    )
    limit: int = Field(default=100, ge=1, le=1000)

    @property
    def unfiltered(self) -> bool:
        """Every invoice matches: whole-account reads skip the per-invoice test."""
        return not self.statuses and not self.text


class InvoicePage(BaseModel):
    model_config = ConfigDict(defer_build=True)
    invoices: list[Invoice]
    next_cursor: str | None = None
    unreadable: list[str] = Field(
        default_factory=list,
        description="Invoices on this page the provider sent in a shape that could not be "
        "read: each one's number (or id, or '' if neither could be read). The core shows "
        "one line saying so; the provider's other invoices still show.",
    )


class Issuer(BaseModel):
    """A bank or other issuer within a method, e.g. an iDEAL bank."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str
    name: str


class PaymentMethod(BaseModel):
    """A way to pay, as the provider offers it right now for these invoices."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str
    name: str
    selectable: bool = True
    reason: str | None = Field(default=None, description="Why it cannot be used now.")
    issuers: tuple[Issuer, ...] = ()
    saved_card: bool = Field(
        default=False, description="A stored card: choosing it charges at once, no redirect."
    )

    @model_validator(mode="after")
    def _reason_when_unselectable(self) -> PaymentMethod:
        if not self.selectable and not self.reason:
            object.__setattr__(self, "reason", "Not available for this payment")
        return self


class PaymentOptions(BaseModel):
    """The provider's offer for paying a set of invoices together."""

    model_config = ConfigDict(defer_build=True)

    provider: str
    invoices: list[Invoice]
    total: Money
    methods: list[PaymentMethod]
    account_credit: Money | None = None
    credits_settled: list[Invoice] = Field(
        default_factory=list, description="Credit notes the provider will net off."
    )

    @property
    def selectable_methods(self) -> list[PaymentMethod]:
        return [m for m in self.methods if m.selectable]

    def method(self, method_id: str) -> PaymentMethod | None:
        return next((m for m in self.methods if m.id == method_id), None)


class PaymentRequest(BaseModel):
    """What the core asks a provider to start: checked against its latest options."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    invoice_ids: tuple[str, ...]
    method_id: str
    issuer_id: str | None = None
    amount: Money = Field(
        description="The total the user confirmed; a provider refuses a mismatch."
    )
    reference: str = Field(description="Our payment id; providers echo it where they can.")
    return_url: str = Field(description="Where the payer's browser should come back to.")
    token: str | None = Field(
        default=None,
        description="The pay link's secret; a provider that can carry state to the landing "
        "(e.g. a `state` parameter) sends it, so the landing knows which payment came back.",
    )
    options: PaymentOptions | None = Field(
        default=None,
        description="The offer the payer chose from, as this provider gave it to the core "
        "moments ago (at most two minutes). A provider may start from it instead of asking "
        "again where nothing is charged before the payer confirms on its page, and must "
        "still refuse if what it gets back differs (e.g. another total).",
    )


class Redirect(BaseModel):
    model_config = ConfigDict(defer_build=True)
    kind: Literal["redirect"] = "redirect"
    url: str


class FormPost(BaseModel):
    """A form the payer's browser must POST (i3D's `requestUrl` + `postFormInputs`)."""

    model_config = ConfigDict(defer_build=True)

    kind: Literal["form_post"] = "form_post"
    url: str
    fields: list[tuple[str, str]]


class Captured(BaseModel):
    """Charged at once (a saved card); the outcome still comes from `check_payment`."""

    model_config = ConfigDict(defer_build=True)

    kind: Literal["captured"] = "captured"


class Emailed(BaseModel):
    """The provider e-mailed the payer, who pays on their own."""

    model_config = ConfigDict(defer_build=True)

    kind: Literal["emailed"] = "emailed"
    to: str


PaymentStart = Annotated[Redirect | FormPost | Captured | Emailed, Field(discriminator="kind")]


class StartedPayment(BaseModel):
    """What `start_payment` returns: how the payer goes on, and the provider's reference."""

    model_config = ConfigDict(defer_build=True)

    start: PaymentStart
    provider_reference: str | None = Field(
        default=None, description="Whatever the provider needs later to check this payment."
    )


class PaymentCheck(BaseModel):
    """What a provider gets to check a payment's outcome; never the landing's query string alone."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    invoice_ids: tuple[str, ...]
    amount: Money
    reference: str
    provider_reference: str | None = None
    landing_params: dict[str, str] = Field(
        default_factory=dict,
        description="What the browser brought back; a hint to verify, never proof.",
    )
    token_hash: str | None = Field(
        default=None,
        description="SHA-256 (hex) of the `PaymentRequest.token` the attempt was started "
        "with: a provider that carries the token back to the landing (a `state`) checks "
        "it against this, after a restart too.",
    )
    started_at: datetime | None = Field(
        default=None,
        description="When the attempt was recorded: the provider's record of money or a "
        "decline stamped well before it is an earlier attempt's.",
    )


class OutcomeStatus(StrEnum):
    """What a provider says about a payment.

    PENDING: the provider answered and the payment is not finished. UNKNOWN: the provider
    could not be asked or its answer could not be read, so nothing can be concluded; the
    core keeps asking and never treats it as failed.
    """

    PENDING = "pending"
    UNKNOWN = "unknown"
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"


class PaymentOutcome(BaseModel):
    model_config = ConfigDict(defer_build=True)
    status: OutcomeStatus
    message: str = ""
    paid_at: datetime | None = None
    reference: str | None = Field(
        default=None,
        description="The provider's reference for the money that moved (a transaction id): "
        "the receipt reference the payer and the billing channel are shown.",
    )
    attributed: bool = Field(
        default=False,
        description="The provider's own record ties this outcome to this attempt (a "
        "transaction carrying our reference), not just the invoice's state. A PAID one "
        "credits this attempt; otherwise the core chooses among the invoice's attempts. A "
        "FAILED one ends a charge whose answer was lost; otherwise it is kept under watch.",
    )
    note: str | None = Field(
        default=None,
        description="With PAID: what the billing channel must act on beside the payment "
        "(the provider still lists the invoice unpaid, or for more than was charged). It is "
        "shown with the confirmation and kept in the records' note. Without `attributed` it "
        "is about the invoice, and goes with whichever attempt is credited (as said of the "
        "attempt asked about, when that one was for another amount).",
    )
    invoice_unpaid: bool = Field(
        default=False,
        description="With PENDING: the provider's own record shows every invoice asked "
        "about unpaid, with nothing under way (not a payment it says went through and has "
        "not booked, nor some of them paid). Where the invoice shows a page's money "
        "(`Capabilities.invoice_shows_page_payments`), a page whose watch ends on this word "
        "took none and just expires; any other end is told as never confirmed.",
    )
    paid_invoices: tuple[str, ...] = Field(
        default=(),
        description="With PENDING: the ids of the invoices asked about that the provider's "
        "own record shows paid, when only some of them are. A watch that ends on this word "
        "records those paid (on the invoice's word, at `paid_at` when the provider gives "
        "when the last of them was paid) and tells only the rest as never confirmed.",
    )
    provider_reference: str | None = Field(
        default=None,
        description="What to ask about this attempt by from now on: a transaction the "
        "payer's return named, whose lookup failed or is not finished. The core keeps it "
        "(replacing what the attempt had) and hands it back in "
        "`PaymentCheck.provider_reference`, so later checks need no browser to return. "
        "Only for providers whose attempts have no reference of their own from the start.",
    )


class PaymentState(StrEnum):
    """Where a payment attempt is; `bot.payments` holds which moves are legal.

    An attempt is evidence, not the settlement: an invoice is settled once (see
    `bot.settlement`), and its other attempts end SUPERSEDED. UNKNOWN is an attempt whose
    outcome the provider has not told us (a lost answer, a crash mid-start).
    """

    CREATED = "created"
    LINK_ISSUED = "link_issued"
    OPENED = "opened"
    UNKNOWN = "unknown"
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"

    @property
    def words(self) -> str:
        """Where the attempt stands, as a person reads it in a history or App Home."""
        return _STATE_WORDS.get(self, self.value)


_STATE_WORDS = {
    PaymentState.CREATED: "being started",
    PaymentState.LINK_ISSUED: "link out, page not opened",
    PaymentState.OPENED: "payment page opened",
    PaymentState.UNKNOWN: "outcome not known yet",
    PaymentState.SUPERSEDED: "no longer needed",
}


class InvoiceAmount(BaseModel):
    """One invoice (or credit note) of a payment and its amount, as the payer confirmed it."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    number: str
    amount: Money


class Payment(BaseModel):
    """A payment the core recorded: who started what, and where it stands."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str = ""
    team_id: str
    provider: str
    direction: str = "payable"
    invoice_ids: tuple[str, ...]
    invoice_numbers: tuple[str, ...]
    amount: Money
    method_id: str
    method_name: str
    issuer_id: str | None = None
    user_id: str
    channel_id: str | None = None
    message_ts: str | None = None
    response_url: str | None = Field(
        default=None, description="Slack's URL for updating the message the payment came from."
    )
    state: PaymentState = PaymentState.CREATED
    provider_reference: str | None = None
    start: PaymentStart | None = Field(
        default=None, description="How the payer's browser goes on: kept for the pay page."
    )
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    paid_at: datetime | None = None
    charges_at_once: bool = Field(
        default=False, description="A saved card: starting it may take the money by itself."
    )
    opened_at: datetime | None = Field(
        default=None, description="When the payer's browser first used the pay link."
    )
    last_error: str | None = None
    settlement_id: str | None = Field(
        default=None, description="The settlement this attempt was credited with, once paid."
    )
    unconfirmed_end: bool = Field(
        default=False,
        description="Failed or cancelled on evidence that is not the provider's record of "
        "this attempt (the invoice's last error, the payer's browser): whether it was "
        "charged is not known, even once it is no longer watched.",
    )
    next_check_at: float | None = Field(
        default=None, description="When the poller asks about it next; None: not watched."
    )
    issuer_name: str | None = Field(default=None, description="The bank chosen, e.g. 'ING'.")
    receipt: str | None = Field(
        default=None, description="The provider's reference for the money, once paid."
    )
    payer_name: str | None = Field(
        default=None, description="For receivables: the customer, as the invoice names them."
    )
    token_hash: str | None = Field(
        default=None, description="SHA-256 (hex) of the pay link's token; never the token."
    )
    lines: tuple[InvoiceAmount, ...] = Field(
        default=(), description="Each invoice paid and what was due on it."
    )
    credits: tuple[InvoiceAmount, ...] = Field(
        default=(), description="Credit notes the provider nets off (positive amounts)."
    )

    def only(self, invoice_ids: Collection[str]) -> Payment | None:
        """This attempt as if made for those of its invoices in `invoice_ids` alone, with
        their lines and what they add up to (credit notes left off): what a settlement of
        only some of them credits. None when none is its, or its lines do not say what
        each was (its amount cannot be split). Lines follow the invoices' order: matched
        by place, as two invoices may print one number."""
        kept = [
            (key, number, line)
            for key, number, line in zip(
                self.invoice_ids, self.invoice_numbers, self.lines, strict=False
            )
            if key in invoice_ids
        ]
        if all(key in invoice_ids for key in self.invoice_ids):
            return self
        in_order = len(self.lines) == len(self.invoice_ids) and all(
            line.number == number
            for line, number in zip(self.lines, self.invoice_numbers, strict=True)
        )
        if not kept or not in_order:
            return None
        chosen = tuple(line for _, _, line in kept)
        return self.model_copy(
            update={
                "invoice_ids": tuple(key for key, _, _ in kept),
                "invoice_numbers": tuple(number for _, number, _ in kept),
                "lines": chosen,
                "credits": (),
                "amount": Money.total((line.amount for line in chosen), self.amount.currency),
            }
        )

    @property
    def could_have_taken_money(self) -> bool:
        """Whether money can have moved through this attempt at all.

        A link the payer never opened cannot have been paid (the provider's page is only
        reached through our pay page); an attempt that never got a link can only have
        charged if it was a saved card.
        """
        if isinstance(self.start, Redirect | FormPost):
            return self.opened_at is not None
        if isinstance(self.start, Captured | Emailed):
            return True
        return self.charges_at_once

    @property
    def standing(self) -> str:
        """`state.words` for this attempt: an e-mailed invoice has no link out and no page
        to open, it waits for the customer to pay it. One no longer needed that took money
        all the same is a second payment, to refund, not nothing."""
        if isinstance(self.start, Emailed) and self.state is PaymentState.LINK_ISSUED:
            return "waiting for the customer to pay"
        if self.state is PaymentState.SUPERSEDED and self.paid_at:
            return "paid after the invoice was settled"
        return self.state.words


class InvoiceLine(BaseModel):
    """One line of an invoice the team issues: quantity times unit price, plus tax."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    description: str = Field(min_length=1)
    quantity: Decimal = Field(gt=0)
    unit_price: Money
    tax_percent: Decimal = Field(default=Decimal(0), ge=0, le=100)

    @field_validator("quantity", "tax_percent", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError("use a str, int or Decimal, not a float")
        return value

    @property
    def amount(self) -> Money:
        """Before tax, rounded half up to the cent (as the invoice prints it)."""
        return Money.rounded(self.quantity * self.unit_price.amount, self.unit_price.currency)

    @property
    def tax(self) -> Money:
        return Money.rounded(self.amount.amount * self.tax_percent / 100, self.unit_price.currency)


EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
"""An address an invoice can be e-mailed to: something@somewhere.tld, no spaces."""
EMAIL_CHARS = 254
"""The longest address mail can carry (RFC 5321)."""
_EMAIL = re.compile(EMAIL_PATTERN)


def is_email(address: str) -> bool:
    """Whether `address` is one an invoice can be e-mailed to (see `EMAIL_PATTERN`)."""
    return len(address) <= EMAIL_CHARS and _EMAIL.match(address) is not None


REFERENCE_CHARS = 40
"""The longest reference the core sets on a draft (`InvoiceDraft.reference`)."""


class InvoiceDraft(BaseModel):
    """An invoice to create at a provider that issues invoices (receivables)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    customer_name: str = Field(min_length=1)
    customer_email: str = Field(pattern=EMAIL_PATTERN, max_length=EMAIL_CHARS)
    currency: str
    lines: tuple[InvoiceLine, ...] = Field(min_length=1)
    due: date | None = None
    title: str = ""
    description: str = ""
    reference: str = Field(default="", max_length=REFERENCE_CHARS)
    """Set by the core before the create: the provider keeps it with the invoice where it
    can, so that an invoice whose create answer was lost can be found
    (`Provider.find_created`) rather than created again."""

    @model_validator(mode="after")
    def _one_currency(self) -> InvoiceDraft:
        if any(line.unit_price.currency != self.currency.upper() for line in self.lines):
            raise ValueError(f"every line must be priced in {self.currency.upper()}")
        return self

    @property
    def subtotal(self) -> Money:
        return Money.total((line.amount for line in self.lines), self.currency)

    @property
    def tax(self) -> Money:
        return Money.total((line.tax for line in self.lines), self.currency)

    @property
    def total(self) -> Money:
        return self.subtotal + self.tax
