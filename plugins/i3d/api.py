"""The HTTP edge: i3D.net's four pay-related calls, parsed into `wire` models.

Transport, read retries and error wording are the provider kit's (`bot.kit`); reads
are retried, `register` is sent exactly once because a repeat could start a second
charge. The API key travels only in the PRIVATE-TOKEN header and is never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import orjson
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from bot.kit.errors import READ_WITHOUT_REASON, problem
from bot.kit.http import Answer, ProviderHttp
from bot.provider import NotPayable, PaymentRejected, ProviderError
from bot.reading import documented_list, each, parse_json, tolerant
from plugins.i3d import errors, wire
from plugins.i3d.paging import RangedData

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class InvoiceBatch:
    """One raw page of the invoice list, with the total if i3D said it."""

    invoices: list[wire.Invoice]
    total: int | None
    unreadable: list[str] = field(default_factory=list)
    """Invoices on the page that could not be read, by number (or id)."""
    received: int = 0
    """How many entries the page had, readable or not: what paging advances by."""
    places: list[int] | None = None
    """Where on the page each of `invoices` was, when some entries were set aside."""


@dataclass(frozen=True)
class PageBody:
    """One page of the invoice list as i3D sent it, before it is read."""

    body: bytes
    total: int | None


class I3DApi:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        api_key: SecretStr,
        *,
        timeout: float,
        read_retries: int = 2,
        retry_delay: float = 0.25,
    ) -> None:
        self.http = ProviderHttp(
            http,
            base_url,
            name="i3D.net",
            timeout=timeout,
            read_retries=read_retries,
            retry_delay=retry_delay,
        )
        self.api_key = api_key

    @property
    def base_url(self) -> str:
        return self.http.base_url

    async def invoices(self, start: int, results: int) -> InvoiceBatch:
        return read_invoices(await self.invoice_page(start, results))

    async def invoice_page(self, start: int, results: int) -> PageBody:
        """One page of the list, unread (see `read_invoices`)."""
        ranged = RangedData(start=start, results=results)
        answer = await self._read("/v3/account/invoice", {"RANGED-DATA": ranged.header()})
        answered = RangedData.parse(answer.headers.get("RANGED-DATA"))
        return PageBody(answer.body, answered.total if answered else None)

    async def prepare(self, invoice_ids: Sequence[str]) -> wire.PayPrepare:
        query = "invoiceIds=" + quote(",".join(invoice_ids), safe="")
        answer = await self._read(f"/v3/account/invoice/pay/prepare?{query}")
        prepared = _parse(wire.PREPARE_LIST, answer.body, "pay/prepare")
        if not prepared:
            raise errors.unreadable("pay/prepare", "no offer for these invoices")
        if len(prepared) > 1:
            # The v3 habit is one object in an array; several would mean several offers
            # for one set of invoices, and guessing which applies could pay the wrong sum.
            raise PaymentRejected(
                f"i3D.net answered with {len(prepared)} different offers for paying these "
                "invoices, so invoicebot cannot tell which amount applies and started "
                "nothing. Pay them one at a time, or at i3D.net."
            )
        return prepared[0]

    async def register(self, request: wire.PayRegister) -> wire.PayRegisterResponse:
        """Sent once, never retried: i3D may already have opened a transaction."""
        answer = await self.http.send(
            "POST",
            "/v3/account/invoice/pay/register",
            headers=self._headers(),
            json=request.to_json(),
        )
        if answer.status != 200:
            raise _failure(answer, unprocessable=PaymentRejected)
        return _parse_one(wire.PayRegisterResponse, answer.body, "pay/register")

    async def landing(self) -> wire.PaymentLandingResponse:
        answer = await self._read("/v3/account/invoice/pay/paymentLanding")
        return _parse_one(wire.PaymentLandingResponse, answer.body, "pay/paymentLanding")

    async def _read(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        """A GET: the invoice list or the payment landing, never a payment."""
        return await self.http.get(path, _read_failure, headers=self._headers() | (headers or {}))

    def _headers(self) -> dict[str, str]:
        """The key travels only here, in the PRIVATE-TOKEN header."""
        return {"PRIVATE-TOKEN": self.api_key.get_secret_value(), "Accept": "application/json"}


def read_invoices(page: PageBody) -> InvoiceBatch:
    """A page, read invoice by invoice: one that drifted too far is set aside (by its
    number, if it has one) and the others are still read."""
    read = documented_list(wire.Invoice, page.body)
    if read is not None:
        named = [_named(item) for item in read]
        return InvoiceBatch(named, page.total, [], len(named))
    try:
        raw = parse_json(page.body)
    except ValueError:
        raise errors.unreadable("invoice list", "not valid JSON") from None
    if not isinstance(raw, list):
        raise errors.unreadable("invoice list", "not a list of invoices")
    entries, unreadable = each(
        wire.Invoice,
        [_numbered(entry) for entry in raw],
        "i3D.net invoice",
        label_keys=("invoiceNumber", "id"),
        defaults=INVOICE_DEFAULTS,
    )
    items = [item for item in entries if item is not None]
    places = [place for place, item in enumerate(entries) if item is not None]
    return InvoiceBatch(items, page.total, unreadable, len(raw), places)


def _failure(
    answer: Answer,
    *,
    unprocessable: type[ProviderError] = NotPayable,
    without_reason: str | None = None,
) -> ProviderError:
    return errors.for_status(
        answer.status,
        answer.body,
        retry_after_header=answer.headers.get("Retry-After"),
        unprocessable=unprocessable,
        without_reason=without_reason,
    )


def _read_failure(answer: Answer) -> ProviderError:
    return _failure(answer, without_reason=READ_WITHOUT_REASON)


INVOICE_DEFAULTS = {
    "invoiceHash": "",
    "description": "",
    "currency": "",
    "currencySign": "",
    "creationDate": 0,
    "dueDate": 0,
    "paymentDate": 0,
    "isCredit": 0,
    "totalPaidAmount": "0",
}
"""Fields the documents require that an answer may leave out or null, with their 'not
set' value. None is needed to tell the invoice apart or to read whether it is paid; an
invoice without its currency is still set aside from the list (no amount can be shown)."""


def _numbered(entry: Any) -> Any:
    """An invoice without a number is shown by its id, the only other name it has."""
    if isinstance(entry, dict) and not entry.get("invoiceNumber") and entry.get("id"):
        return {**entry, "invoiceNumber": str(entry["id"])}
    return entry


def _named(invoice: wire.Invoice) -> wire.Invoice:
    """`_numbered` for an invoice already read: one with an empty number goes by its id."""
    if invoice.invoiceNumber or not invoice.id:
        return invoice
    return invoice.model_copy(update={"invoiceNumber": invoice.id})


def _parse(adapter: TypeAdapter[Any], body: bytes, what: str) -> Any:
    """A pay answer, strictly as documented, except the invoices in it: those are read as
    the list reads them (defaults for what real answers leave out or null), or an
    invoice the list shows as payable would fail at Pay, after i3D opened a transaction."""
    try:
        raw = parse_json(body)
    except ValueError:
        raise errors.unreadable(what, "not valid JSON") from None
    try:
        return adapter.validate_json(orjson.dumps(_forgiving(raw)))
    except ValidationError as error:
        raise errors.unreadable(what, problem(error)) from None


EMBEDDED = ("invoicesForPay", "creditInvoices", "invoices")
"""Where the pay answers carry invoices."""


def _forgiving(raw: Any) -> Any:
    if isinstance(raw, list):
        return [_forgiving(item) for item in raw]
    if not isinstance(raw, dict):
        return raw
    return {
        key: [_invoice(entry) for entry in value]
        if key in EMBEDDED and isinstance(value, list)
        else value
        for key, value in raw.items()
    }


def _invoice(entry: Any) -> Any:
    """One invoice as the list reads it; as it came when even that fails, so that the
    strict reading says what is wrong with it."""
    try:
        read = tolerant(wire.Invoice, _numbered(entry), "i3D.net invoice", INVOICE_DEFAULTS)
    except ValidationError:
        return entry
    return read.model_dump()


def _parse_one(model: type[M], body: bytes, what: str) -> M:
    """One object as documented; also accepts it wrapped in a one-item array (v3's habit)."""
    value = _parse(TypeAdapter(model | list[model]), body, what)  # type: ignore[valid-type]
    if isinstance(value, list):
        if len(value) != 1:
            raise errors.unreadable(what, f"expected one object, got {len(value)}")
        return value[0]
    return value
