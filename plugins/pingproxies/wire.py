"""PingProxies' wire format: the documented envelopes, and invoice objects as we infer them.

Confirmed by the documents: `{data, message}` around one object, the search envelope
with `item_count/page/per_page/total_count`, `{error, message, api_request_id}` errors,
the 499 two-factor body and the login answer. Everything named `invoice_*` or
`payment_*` is inferred from PingProxies' `<resource>_<field>` naming (see README.md).

Types are strict (cents are JSON integers, never floats or strings) but unknown keys
are ignored: PingProxies' objects mirror Stripe's and surely carry more than we read.
The client parses with these models and the sandbox produces with them.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

T = TypeVar("T")


class WireModel(BaseModel):
    """Validators are built when first used (`defer_build`), not while the bot starts."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True, defer_build=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Envelope(WireModel, Generic[T]):
    """A single-object answer: `{"data": {...}, "message": "..."}`."""

    data: T
    message: str = ""


class Invoice(WireModel):
    """Amounts in integer cents; datetimes as "YYYY-MM-DD HH:MM:SS" in UTC.

    An invoice sent without its number is known by its id; one sent without its currency
    still says whether it is paid, though it cannot be shown with an amount.
    """

    invoice_id: str
    invoice_number: str = ""
    invoice_status: str
    invoice_currency: str = ""
    invoice_total: int
    invoice_amount_remaining: int
    invoice_creation_datetime: str
    invoice_subtotal: int | None = None
    invoice_amount_paid: int = 0
    invoice_description: str | None = None
    invoice_due_datetime: str | None = None
    invoice_paid_datetime: str | None = None
    invoice_url: str | None = None
    invoice_last_payment_error: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _number_or_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and not str(data.get("invoice_number") or "").strip():
            return {**data, "invoice_number": data.get("invoice_id")}
        return data


class SearchPage(WireModel):
    """`total_count` is -1 when PingProxies finds counting too expensive."""

    data: list[Invoice]
    item_count: int
    message: str = ""
    page: int
    per_page: int
    total_count: int


class AccessToken(WireModel):
    access_token: str = Field(repr=False)


class LoginRequest(WireModel):
    """The login body; the two-factor keys only when answering a 499 challenge."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    customer_email_address: str
    customer_password: str = Field(repr=False)
    two_factor_authentication_public_key: str | None = None
    two_factor_authentication_private_key: str | None = Field(default=None, repr=False)


class PaymentOption(WireModel):
    """`redirect` methods send the payer to a platform; `saved_card` ones charge at once."""

    payment_method_id: str
    payment_method_type: str
    payment_method_name: str
    payment_platform: str
    payment_method_card_brand: str | None = None
    payment_method_card_last4: str | None = None


class DisallowedPaymentOption(PaymentOption):
    reason: str


class PayOption(WireModel):
    invoice_id: str
    invoice_currency: str
    invoice_amount_remaining: int
    allowed_payment_methods: list[PaymentOption]
    disallowed_payment_methods: list[DisallowedPaymentOption] = Field(default_factory=list)


class PayRequest(WireModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    payment_method_id: str


class PayResult(WireModel):
    """`redirect` carries the platform URL; `capture` means the saved card was charged."""

    invoice_id: str
    invoice_status: str
    payment_type: Literal["redirect", "capture"]
    payment_redirect_url: str | None = None
    payment_transaction_id: str | None = None


class Error(WireModel):
    error: str
    message: str = ""
    api_request_id: str | None = None


class TwoFactorChallenge(WireModel):
    """The HTTP 499 body: a code went to `target` by `service`."""

    error: str
    message: str = ""
    two_factor_authentication_public_key: str
    two_factor_authentication_service: str | None = None
    two_factor_authentication_target: str | None = None
    api_request_id: str | None = None
