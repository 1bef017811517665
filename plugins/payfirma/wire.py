"""Payfirma's wire format: the documented objects, and JSON that never meets a float.

Amounts are decimal dollars (`"total": 102.5`): bodies are parsed with
`parse_float=Decimal` and written by `encode`, which prints a `Decimal` digit for digit.
The documents give samples, not schemas, so objects allow extra keys; the fields we
rely on are typed, and a float arriving by any other road is refused.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, StrictInt, StrictStr

from bot.reading import whole

_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _read_number(value: Any) -> Any:
    """Reading an answer, a decimal string ("57.75"), the usual drift, is that number."""
    if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        return Decimal(value.strip())
    return _number(value)


def _number(value: Any) -> Any:
    """Dollars are JSON numbers: ints or Decimals here, never floats and never strings."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError(f"expected a decimal number, got {type(value).__name__}")
    return value


def _no_float(value: Any) -> Any:
    """No float (parse with parse_float=Decimal), and no boolean: JSON's `true` is a
    Python int, and read as one it is a quantity of 1, or a date 1 ms past 1970."""
    if isinstance(value, float):
        raise ValueError("floats are not accepted; parse with parse_float=Decimal")
    if isinstance(value, bool):
        raise ValueError("expected a number or a date, got a boolean")
    return value


def _no_bool(value: Any) -> Any:
    """JSON's `true` is a Python int, and a plain `int` reads it as 1: invoice 1, customer
    1, a quantity of 1. Digit strings, the usual drift, are still read."""
    if isinstance(value, bool):
        raise ValueError("expected a whole number, got a boolean")
    return value


Whole = Annotated[int, BeforeValidator(_no_bool)]
Dollars = Annotated[Decimal, BeforeValidator(_number)]
#: In what Payfirma answers (read tolerantly); requests and the sandbox use `Dollars`.
ReadDollars = Annotated[Decimal, BeforeValidator(_read_number)]
Quantity = Annotated[Decimal, BeforeValidator(_no_float)]
#: Epoch milliseconds as documented; list samples show ISO strings, so both are kept.
Moment = Annotated[int | Decimal | str, BeforeValidator(_no_float)]


class Model(BaseModel):
    """Validators are built when first used (`defer_build`), not while the bot starts."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False, defer_build=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="python", exclude_none=True)


class Tax(Model):
    """`percentile: true` means `amount` is a percentage of the line, else dollars."""

    percentile: bool = False
    amount: ReadDollars | None = None


class Item(Model):
    item: str = ""
    quantity: Whole | Quantity | None = None
    """Unused, but read like every number here: a plain `int` took JSON's `true` as 1."""
    price: ReadDollars | None = None
    amount: ReadDollars | None = None
    tax1: Tax | None = None
    tax2: Tax | None = None
    discount: bool = False


class Invoice(Model):
    invoice_id: Whole
    status: str | None = None
    title: str | None = None
    description: str | None = None
    created_date: Moment | None = None
    due_date: Moment | None = None
    currency: str = ""
    """Empty when an answer drifts without it: the invoice then cannot be listed with an
    amount, but its status still reads."""
    items: list[Item] = []
    sub_total: ReadDollars | None = None
    tax1: ReadDollars | None = None
    tax2: ReadDollars | None = None
    total: ReadDollars
    customer_id: Whole | None = None
    company: str | None = None
    order_id: str | None = None
    recipient_email: str | None = None
    recipient_first_name: str | None = None
    recipient_last_name: str | None = None


class InvoiceList(Model):
    invoices: list[Invoice]


class NewItem(Model):
    """A line as the create call documents it: `quantity` is a string there."""

    item: str
    quantity: StrictStr
    price: Dollars
    tax1: Tax | None = None
    tax2: Tax | None = None
    amount: Dollars
    discount: bool = False


class NewInvoice(Model):
    """The create and create-draft body; `invoice_id` is "" and `status` "Unpaid" as shown.

    `customer_id` (an int, as documented) files the invoice under a customer, which is
    what puts it in `GET /invoice/customer/{customer_id}`; left out when not known.
    `order_id` carries the core's reference, by which a create whose answer was lost is
    looked for in the list.
    """

    due_date: int | None = None
    title: str = ""
    language: str = "ENGLISH"
    description: str = ""
    customer_id: StrictInt | None = None
    recipient_email: str
    recipient_first_name: str = ""
    recipient_last_name: str = ""
    order_id: str | None = None
    items: list[NewItem]
    sub_total: Dollars
    currency: str
    tax1: Dollars
    tax1_label: str = "Tax"
    tax2: Dollars | None = None
    tax2_label: str | None = None
    total: Dollars
    status: str = "Unpaid"
    invoice_id: str = ""
    resend_invoice: bool = False


class Sent(Model):
    email_address: str


class HppRequest(Model):
    """Hosted payment page init, as documented: the return URL is not sent, Payfirma takes
    it from the Hosted Pay Page settings in PayHQ."""

    amount: Dollars
    currency: str
    domain: str
    tax: Dollars | None = None
    shipping_charge: Dollars | None = None
    state: str | None = None
    custom_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


class HppLink(Model):
    url: str | None = None


class HppAnswer(Model):
    """The bare `{"url"}` that Payfirma's axios demo reads (providers.md §3.4), or the
    same inside `{"data": {...}}`, the envelope other Payfirma answers use."""

    data: HppLink | None = None
    url: str | None = None

    def link(self) -> str | None:
        return self.url or (self.data.url if self.data else None)


class Transaction(Model):
    """A transaction lookup; field names as Payfirma's sale response uses them. `id` is
    only the receipt's reference, so text is taken as well as a number."""

    id: Whole | str | None = None
    lookup_id: str
    amount: Dollars
    currency: str
    transaction_result: str
    transaction_type: str | None = None
    transaction_time: Moment | None = None
    """Epoch milliseconds after the sale response; ISO text is kept too, as for invoices
    (`landing.taken_at` reads it)."""
    custom_id: str | Whole | None = None
    """The invoice the sale was for: JSON's `true` must not read as invoice 1."""
    message: str | None = None


class Token(Model):
    access_token: str
    token_type: str | None = None
    expires_in: Whole | None = None
    """Seconds: JSON's `true` must not read as a one-second token, asked for again and again."""
    merchant_id: str | Whole | None = None
    """The account signed in to: JSON's `true` must not read as merchant 1."""
    scope: str | None = None


def decode(body: bytes | str, *, entries: bool = False) -> Any:
    """JSON with every non-integer number as an exact `Decimal`; NaN and Infinity refused;
    a NUL or half a character sent as an escape read as U+FFFD (`bot.reading.whole`).

    `entries`: a list read entry by entry keeps NaN and Infinity as floats, which no
    field takes, so only the invoice holding one is set aside, not the whole list."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not a number")

    constant = float if entries else refuse
    return whole(json.loads(body, parse_float=Decimal, parse_constant=constant), body)


def encode(value: Any) -> bytes:
    """JSON text in which a `Decimal` is printed digit for digit (102.50, never 102.5000001)."""
    return _text(value).encode()


def _text(value: Any) -> str:
    if value is None or isinstance(value, bool | str):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be sent as JSON")
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_text(item) for item in value) + "]"
    raise TypeError(f"{type(value).__name__} is not sent to Payfirma (floats never are)")
