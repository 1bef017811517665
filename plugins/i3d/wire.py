"""i3D.net's wire format, field for field as its OpenAPI 3.0.1 schemas state it.

The schemas say `additionalProperties: false` and fix each type, so these models
forbid extra keys and validate strictly: a response that drifts from the documents
fails loudly at the edge instead of turning into a wrong invoice. The client parses
with them and the sandbox produces with them, so both speak the same dialect.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter


class WireModel(BaseModel):
    """Strict, closed objects; dump with `exclude_none` (optional means absent, never null).
    Validators are built when first used (`defer_build`), not while the bot starts."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class Invoice(WireModel):
    """Amounts are cents as strings; dates are unix seconds (0 when not set)."""

    id: str
    creationDate: int
    dueDate: int
    invoiceNumber: str
    invoiceHash: str
    description: str
    currency: str
    currencySign: str
    amountIncVAT: str
    amountExclVAT: str
    paymentStatus: int
    paymentDate: int
    isCredit: int
    remainingAmount: str
    totalPaidAmount: str


class PaymentMethodIssuers(WireModel):
    id: str
    name: str


class PaymentMethod(WireModel):
    id: int
    name: str
    isSelectable: int
    paymentProviderId: int
    issuers: list[PaymentMethodIssuers] | None = None


class PayPrepare(WireModel):
    totalAmount: str
    currency: str
    currencySign: str
    totalSelectedInvoiceForPay: int
    totalSelectedCreditForSettle: int
    accountCredit: str
    invoicesForPay: list[Invoice] | None = None
    creditInvoices: list[Invoice] | None = None
    paymentMethod: list[PaymentMethod] | None = None


class PayRegister(WireModel):
    """`invoiceIds` is one comma-separated string; `issuerId` is "" for methods without one."""

    invoiceIds: str
    paymentMethodId: int
    issuerId: str


class PayRegisterResponse(WireModel):
    """`postFormInputs` items are free-form objects: the documents leave their shape open."""

    requestUrl: str
    postFormInputs: list[dict[str, Any]]
    accountCredit: str
    totalAmount: str
    paymentMethod: PaymentMethod
    invoicesForPay: list[Invoice]


class PaymentLandingResponse(WireModel):
    message: str
    status: str
    paymentMethod: str
    invoices: list[Invoice]


class ErrorDetails(WireModel):
    property: str
    message: str


class Error(WireModel):
    errorCode: int
    errorMessage: str
    errors: list[ErrorDetails]


INVOICE_LIST: TypeAdapter[list[Invoice]] = TypeAdapter(
    list[Invoice], config=ConfigDict(defer_build=True)
)
PREPARE_LIST: TypeAdapter[list[PayPrepare]] = TypeAdapter(
    list[PayPrepare], config=ConfigDict(defer_build=True)
)
